"""Engines side by side through the real bot: the default engine and the IndexTTS engine (the
package's real code on tiny random weights) in one app, one /clone for both, rollout rules,
fallback, and a version bump that keeps the profile format."""

from __future__ import annotations

import pytest

from bot.app import BotApp
from bot.config import BotConfig, Config
from bot.core.rollout import Rollout
from tests.bot.conftest import RETAKES, clone
from tests.bot.core.commands.helpers import run, say


async def _engines_used(app: BotApp, user: str, outcome: str = "sent") -> list[str]:
    """The engines of this user's metering rows: notes sent, or jobs that made none."""
    row = await app.store.find_user("test", user)
    rows = await app.db.fetchall("SELECT engine FROM usage_records WHERE user_id=? AND outcome=? ORDER BY id",
                                 row.id, outcome)
    return [r[0] for r in rows]


@pytest.fixture
async def pair(tmp_path, engine, itts):
    config = Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken", preload_clone_models=False, **RETAKES))
    app = await BotApp(config, engine=[engine, itts]).start()
    yield app
    await app.stop()


async def test_one_clone_serves_every_engine_and_the_rollout_picks_per_server_and_user(pair, engine):
    app = pair
    await clone(app, engine, user="ann")
    stored = await app.store.voice((await app.store.find_user("test", "ann")).id)
    assert set(stored.profiles) == {"default", "indextts"}  # both from the one recording, which is not kept
    assert (await say(app, "Hello there.", user="ann")).last.kind == "voice"
    app.apply_rollout(Rollout(canary="indextts", servers=frozenset({"test:canary-server"})))
    out = await say(app, "Hello there.", user="ann", server="canary-server")
    assert out.last.kind == "voice" and out.last.text == ""  # her own voice, no fallback caption
    assert await _engines_used(app, "ann") == ["default", "indextts"]
    # a user's own choice wins over the rules, and "auto" hands it back
    assert "indextts" in (await run(app, "engine", "indextts", user="ann")).last.text
    await say(app, "Hello there.", user="ann")
    await run(app, "engine", "auto", user="ann")
    await say(app, "Hello there.", user="ann")
    assert (await _engines_used(app, "ann"))[2:] == ["indextts", "default"]
    refused = await run(app, "engine", "bogus", user="ann")
    assert "no engine 'bogus'" in refused.last.text and await app.store.engine_choice(stored.user_id) is None
    metrics = app.metrics.render().decode()
    assert 'voicebot_notes_total{cohort="server",engine="indextts"} 1.0' in metrics
    assert 'voicebot_notes_total{cohort="chosen",engine="indextts"} 1.0' in metrics


async def test_a_voice_without_the_canarys_profile_and_a_failing_canary_fall_back_and_say_so(pair, engine, itts,
                                                                                             monkeypatch):
    app = pair
    await clone(app, engine, user="bo")
    bo = await app.store.find_user("test", "bo")
    app.apply_rollout(Rollout(canary="indextts", percent=100))
    await app.db.execute("DELETE FROM voice_profiles WHERE user_id=? AND engine='indextts'", bo.id)  # cloned before it ran
    out = await say(app, "Good morning.", user="bo")
    assert out.last.kind == "voice" and "made with default" in out.last.text

    def broken(*args, **kwargs):
        raise RuntimeError("CUDA error: device lost")

    monkeypatch.setattr(itts, "synthesize", broken)
    out = await say(app, "Good morning.", user="carl")  # no voice: the default voice, on the canary first
    assert out.last.kind == "voice" and "indextts engine failed" in out.last.text
    assert await _engines_used(app, "carl") == ["default"]
    assert await _engines_used(app, "carl", "failed") == ["indextts"]  # the failed canary's compute is metered too


async def test_an_overloaded_canary_hands_requests_to_the_primary_and_says_so(pair, monkeypatch):
    app = pair
    app.apply_rollout(Rollout(canary="indextts", percent=100))
    monkeypatch.setattr(app.jobs, "estimate_wait", lambda engine=None: 900.0 if engine == "indextts" else 1.0)
    out = await say(app, "Good evening.", user="eve")
    assert out.last.kind == "voice" and "the indextts engine is busy, so default made this" in out.last.text
    assert await _engines_used(app, "eve") == ["default"]
    assert 'voicebot_notes_total{cohort="fallback",engine="default"} 1.0' in app.metrics.render().decode()


async def test_a_version_bump_that_keeps_the_profile_format_keeps_every_voice(tmp_path, engine, monkeypatch):
    config = Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken", preload_clone_models=False, **RETAKES))
    app = await BotApp(config, engine=engine).start()
    try:
        await clone(app, engine, user="dee")
    finally:
        await app.stop()
    # The next release: version 2.1, which still reads 2.0 profiles as they are.
    monkeypatch.setattr(type(engine), "version", "2.1")
    monkeypatch.setattr(type(engine), "reads_versions", frozenset({"2.0", "2.1"}))
    app = await BotApp(config, engine=engine).start()
    try:
        out = await say(app, "Still me.", user="dee")
        assert out.last.kind == "voice" and out.last.text == ""  # her voice, no "record again"
        # A release that cannot read them: the user hears why, kindly, once; then briefly.
        monkeypatch.setattr(type(engine), "reads_versions", frozenset({"2.1"}))
        first, second = await say(app, "Still me?", user="dee"), await say(app, "Still me?", user="dee")
        assert "brings your voice back" in first.last.text and "brings your voice back" not in second.last.text
        assert "/clone again" in second.last.text
    finally:
        await app.stop()


async def test_with_no_engine_running_a_request_is_busy_and_no_voice_is_called_stale(app, monkeypatch):
    """Redis with no worker registered yet: "busy", and the one-time "your voice is stale" notice
    is not spent on a voice that is fine."""
    from bot.core.tasks import Runtime
    from bot.storage import Consent, StoredProfile

    me = await app.store.user("test", "u9")
    await app.store.save_voice(me.id, [StoredProfile("default", "2.0", b"profile")], {},
                               Consent(me.id, "spoken", "I agree", "i agree", 1.0, "00", 0.0))
    monkeypatch.setattr(Runtime, "available", property(lambda self: {}))
    out = await say(app, "Hello there.", user="u9")
    assert out.last.kind == "text" and "No voice workers" in out.last.text
    assert await app.store.first_notice(me.id, "stale_voice")  # not spent
