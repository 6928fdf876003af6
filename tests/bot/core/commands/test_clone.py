"""/clone end to end on a real database, the real engine and real Whisper."""

import os
from dataclasses import replace

import numpy as np
import pytest

from bot.app import BotApp
from bot.core.errors import CloneClosed, CloneRefused
from tests.bot.conftest import RecordingResponder, audio_in, clone, invocation, spoken
from tests.bot.core.commands.helpers import press, run

SENTENCE = "I agree that my voice can be used by this bot to make a synthetic copy."


async def _agreed(app, user="u1") -> RecordingResponder:
    out = await run(app, "clone", user=user, private=True)
    await press(app, out, user=user, private=True)
    return out


async def test_spoken_consent_clone_stores_profile_and_consent(app, engine):
    out = await clone(app, engine)
    assert out.replies[-1].kind == "voice", [r.text for r in out.replies]
    assert "ready" in out.replies[-2].text
    assert any(r.text.startswith("Got it") for r in out.replies)  # told at once that it is working
    user = await app.store.find_user("test", "u1")
    stored = await app.store.voice(user.id)
    assert stored.engine == "default" and stored.meta["f0_median_hz"] > 140
    (consent,) = await app.store.consents(user.id)
    assert consent.method == "spoken" and consent.score >= 0.75 and len(consent.audio_sha256) == 64
    assert "Code" in consent.text_shown and consent.transcript


async def test_a_chinese_user_reads_a_chinese_sentence_and_gets_chinese_replies(app, engine):
    out = await clone(app, engine, user="li", language="zh")
    shown = next(r.text for r in out.replies if "验证码" in r.text and "\n\n" in r.text)
    sentence = shown.split("\n\n", 1)[1]
    digits = sentence.split("验证码：")[1].rstrip("。").split("、")
    assert sentence.startswith("我同意") and len(digits) == 4 and all(d in "零一二三四五六七八九" for d in digits)
    assert "用普通话" in shown
    assert out.last.kind == "voice" and "你的声音已就绪" in out.replies[-2].text
    (consent,) = await app.store.consents((await app.store.find_user("test", "li")).id)
    assert consent.text_shown == sentence and "同意" in consent.transcript


async def test_a_chinese_user_reading_the_english_sentence_is_refused_in_chinese(app, engine):
    out = await run(app, "clone", user="li", private=True, language="zh")
    await press(app, out, user="li", private=True, language="zh")
    said = out.last.text.split("\n\n", 1)[1].split("验证码：")[1].rstrip("。").split("、")
    code = "".join(str("零一二三四五六七八九".index(ch)) for ch in said)
    english = spoken(engine, f"{SENTENCE} Code {' '.join('zero one two three four five six seven eight nine'.split()[int(d)] for d in code)}.")
    await app.commands.handle(invocation("audio", user="li", private=True, language="zh", audio=audio_in(english)), out)
    assert out.last.kind == "text" and ("验证码" in out.last.text or out.last.text == CloneRefused().message("zh"))
    assert await app.store.voice((await app.store.find_user("test", "li")).id) is None


async def test_the_recording_never_touches_the_disk(app, engine, tmp_path):
    """While the clip is being checked, no file anywhere under the data folder or the temp folder holds it."""
    out = await _agreed(app)
    sentence = out.last.text.split("\n\n", 1)[1]
    clip = spoken(engine, sentence)
    probe = clip[len(clip) // 2: len(clip) // 2 + 256]
    real = app.runtime.transcriber
    found, calls = [], []

    class Inspecting:
        def transcribe(self, samples, rate, language="en", second_opinion=False):
            calls.append(rate)
            for folder in (app.config.bot.data_dir, tmp_path, "/tmp"):
                for root, _, files in os.walk(folder):
                    for name in files:
                        try:
                            with open(os.path.join(root, name), "rb") as fh:
                                if probe in fh.read(30_000_000):
                                    found.append(os.path.join(root, name))
                        except OSError:
                            pass
            return real.transcribe(samples, rate, language, second_opinion)

    app.runtime.transcriber = Inspecting()
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(clip)), out)
    assert calls and found == []  # looked while the clone was in progress, and found nothing


async def test_a_leftover_upload_folder_is_removed_at_start(tmp_path, engine):
    from bot.config import BotConfig, Config

    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / "telegram-1-abc.bin").write_bytes(b"OggS raw recording")
    app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="button", preload_clone_models=False)), engine=engine)
    await app.start()
    await app.stop()
    assert not uploads.exists()


async def test_a_replayed_recording_of_all_digits_is_refused(app, engine):
    """One clip that reads the sentence and then every digit must not pass for whatever code was asked."""
    out = await _agreed(app)
    replay = SENTENCE + " Code zero one two three four five six seven eight nine."
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(spoken(engine, replay))), out)
    assert out.last.kind == "text" and "code" in out.last.text
    user = await app.store.find_user("test", "u1")
    assert await app.store.voice(user.id) is None and await app.store.consents(user.id) == []


async def test_wrong_code_is_refused_and_nothing_stored(app, engine):
    out = await _agreed(app)
    wrong = SENTENCE + " Code one one one one."
    if out.last.text.endswith("one one one one."):
        wrong = wrong.replace("one one one one", "two two two two")
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(spoken(engine, wrong))), out)
    assert "code" in out.last.text.lower()
    user = await app.store.find_user("test", "u1")
    assert await app.store.voice(user.id) is None and await app.store.consents(user.id) == []


@pytest.mark.parametrize("kw,message", [
    (dict(forwarded=True), "forwarded"),
    (dict(voice_note=False), "microphone button"),
    (dict(duration=600.0), "600 s long; please send 3–30 seconds"),
    # the limit users are told is the core's own (MIN_SPEECH_SECONDS), not a number copied by hand
    (dict(duration=0.3), "only 0.3 s; please speak for at least 3 seconds"),
])
async def test_clone_recording_prechecks(app, kw, message):
    out = await _agreed(app)
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"x" * 100, **kw)), out)
    assert message in out.last.text


async def test_corrupt_and_silent_recordings_get_the_core_reason(app):
    from tests.conftest import wav_bytes

    out = await _agreed(app)
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"OggS" + b"\0" * 300)), out)
    assert "could not be read" in out.last.text
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(wav_bytes(np.zeros(48000 * 5, np.float32), 48000))), out)
    assert "could not hear any speech" in out.last.text


async def test_a_pending_consent_survives_a_restart(tmp_path, engine):
    from bot.config import BotConfig, Config

    config = Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken", preload_clone_models=False))
    first = await BotApp(config, engine=engine).start()
    out = await _agreed(first)
    sentence = out.last.text.split("\n\n", 1)[1]
    await first.stop()
    second = await BotApp(config, engine=engine).start()
    try:
        for attempt in range(3):
            clip = spoken(engine, sentence, pitch_hz=170.0 + 25 * attempt)
            await second.commands.handle(invocation("audio", private=True, audio=audio_in(clip)), out)
            if out.last.kind == "voice":
                break
        assert out.last.kind == "voice", out.last.text
    finally:
        await second.stop()


async def test_someone_elses_consent_button_changes_nothing(app):
    out = await run(app, "clone", user="u1", private=True)
    await press(app, out, user="u2", private=True)
    assert "not for you" in out.last.text
    pending = await app.store.latest_pending((await app.store.find_user("test", "u1")).id, "consent")
    assert pending.status == "open"


async def test_a_cancelled_consent_is_called_cancelled_not_expired(app):
    out = await run(app, "clone", private=True)
    consent_reply = len(out.replies) - 1
    await press(app, out, 1, private=True)  # Cancel
    assert "Cancelled" in out.last.text
    await press(app, out, 0, reply_index=consent_reply, private=True)  # "I agree" on the same message, later
    assert "You cancelled this request" in out.last.text and "expired" not in out.last.text
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"x" * 100)), out)
    assert "You cancelled /clone" in out.last.text


async def test_a_recording_before_agreeing_is_not_used(app):
    out = await run(app, "clone", private=True)
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"x" * 100)), out)
    assert "I agree" in out.last.text


async def test_a_voice_message_in_a_server_points_to_the_private_chat_only_during_clone(app):
    out = RecordingResponder()
    await app.commands.handle(invocation("audio", server="g1"), out)
    assert out.replies == []  # ordinary voice messages in servers are not for us
    await _agreed(app)
    await app.commands.handle(invocation("audio", server="g1"), out)
    assert "private chat" in out.last.text


async def test_discord_consent_says_where_and_how_to_record(app):
    out = await run(app, "clone", user="d1", private=True, platform="discord")
    await press(app, out, user="d1", private=True, platform="discord")
    assert "direct messages" in out.last.text and "mobile app" in out.last.text and "Desktop" in out.last.text


async def test_clone_off_in_a_server_is_refused_there(app):
    from bot.storage import Policy

    await app.store.set_policy(Policy("test", "g1", clone_allowed=False))
    out = await run(app, "clone")
    assert "turned off" in out.last.text and not out.last.buttons


@pytest.fixture
async def strict(tmp_path, engine, app):
    """The bot with /clone's default limits (the shared fixture turns them off for its helpers)."""
    limits = replace(app.config.bot, data_dir=tmp_path / "strict", clone_attempts_per_day=3, clone_lockout_hours=24)
    strict = BotApp(replace(app.config, bot=limits), engine=engine)
    await strict.start()
    yield strict
    await strict.stop()


def _counting(monkeypatch, obj, name: str) -> list:
    """Count the calls of a real method (it still runs)."""
    calls: list = []
    real = getattr(obj, name)

    def counted(*args, **kw):
        calls.append(args)
        return real(*args, **kw)

    monkeypatch.setattr(obj, name, counted)
    return calls


async def test_the_bots_own_speech_closes_clone_for_a_day_with_one_refusal_and_a_record(strict, engine, monkeypatch):
    from tests.bot.core.commands.helpers import say

    out = await _agreed(strict, "mallory")
    note = (await say(strict, "The last train leaves at ten, so we should hurry up and finish our dinner before it gets "
                              "late tonight.", user="mallory", private=True)).last.ogg
    profiles = _counting(monkeypatch, engine, "create_voice")
    await strict.commands.handle(invocation("audio", user="mallory", private=True, audio=audio_in(note)), out)
    assert out.last.text == CloneRefused().message("en") and profiles == []  # no reason, no profile made
    assert [r[0] for r in await strict.store.clone_lockouts("test", "mallory")] == ["synthetic"]
    # A real reading now, even after /forget and a fresh /clone: closed, and nothing is computed.
    checks = _counting(monkeypatch, strict.runtime, "clone")
    await press(strict, await run(strict, "forget", user="mallory", private=True), user="mallory", private=True)
    assert await strict.store.find_user("test", "mallory") is None
    out = await _agreed(strict, "mallory")
    sentence = out.last.text.split("\n\n", 1)[1]
    await strict.commands.handle(invocation("audio", user="mallory", private=True,
                                            audio=audio_in(spoken(engine, sentence))), out)
    assert out.last.text == CloneClosed().message("en") and checks == []


async def test_clone_attempts_are_capped_per_day_before_any_compute(strict, engine, monkeypatch):
    out = await _agreed(strict)
    profiles = _counting(monkeypatch, engine, "create_voice")
    checks = _counting(monkeypatch, strict.runtime, "clone")
    other = "The weather was lovely, so we walked along the river and had lunch in the park."
    for _ in range(3):  # not the sentence: the one refusal, and no profile is ever made for it
        await strict.commands.handle(invocation("audio", private=True, audio=audio_in(spoken(engine, other))), out)
        assert out.last.text == CloneRefused().message("en")
    assert len(checks) == 3 and profiles == []
    await strict.commands.handle(invocation("audio", private=True, audio=audio_in(spoken(engine, other))), out)
    assert out.last.text == CloneClosed().message("en") and len(checks) == 3
    assert await strict.store.clone_lockouts("test", "u1") == []  # a limit, not a lockout
