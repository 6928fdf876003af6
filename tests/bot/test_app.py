"""The composition root: what start-up prepares."""

import asyncio

from bot.app import BotApp
from bot.config import BotConfig, Config


async def test_cloning_models_load_in_the_background_after_start(tmp_path, engine, monkeypatch):
    """start() returns while the speaker encoder and Whisper are still loading; they load after."""
    import threading

    import bot.app
    from bot.core.asr import WhisperTranscriber

    monkeypatch.setattr(WhisperTranscriber, "_models", {})  # a cold process: earlier tests loaded them
    release, real = threading.Event(), bot.app.load_clone_models

    def slow_load(runtime) -> None:  # as if torch and Whisper took minutes
        assert release.wait(60)
        real(runtime)

    monkeypatch.setattr(bot.app, "load_clone_models", slow_load)
    app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken")), engine=engine)
    await asyncio.wait_for(app.start(), 120)  # a start() that waited for the load would time out here
    try:
        transcriber = app.runtime.transcriber
        assert not app._preload.done() and transcriber._models == {}
        release.set()
        await app._preload
        assert set(transcriber._models) == {"en", "zh"} and engine._encoder._encoder is not None
    finally:
        release.set()
        await app.stop()


async def test_the_indextts_engine_serves_clone_say_and_forget_with_one_worker(tmp_path, engine, itts, reference_clip):
    """The real IndexTTS-2.5 package code (tiny random weights) behind the whole bot: the spoken
    consent recording becomes the model's conditioning, /say replies are voice notes of it."""
    from indextts_core.audio import encode_ogg_opus, ogg_opus_info
    from tests.bot.conftest import RETAKES, audio_in, clone
    from tests.bot.core.commands.helpers import run, say

    config = Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken", workers=3, preload_clone_models=False, **RETAKES))
    app = await BotApp(config, engine=itts).start()
    try:
        assert app.jobs.workers == 1  # one per device, whatever bot.workers says
        preview = (await clone(app, engine)).last  # `engine` only records the user's voice notes
        stored = await app.store.voice((await app.store.find_user("test", "u1")).id)
        assert (stored.engine, stored.version) == ("indextts", itts.version)
        assert ogg_opus_info(preview.ogg).duration > 0.5
        gaps: list[float] = []

        async def ticker() -> None:  # the event loop must keep running while the model works
            last = asyncio.get_running_loop().time()
            while True:
                await asyncio.sleep(0.01)
                now = asyncio.get_running_loop().time()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        for args, kw in (("happy 0.8 x1.1 We are going to the beach tomorrow.", {}),
                         ("今天天气很好，我们去银行吧。", {}),
                         ("We are going to the beach tomorrow.",
                          {"reply_audio": audio_in(encode_ogg_opus(reference_clip, 22050), duration=6.0)})):
            reply = (await say(app, args, **kw)).last
            assert reply.kind == "voice", reply.text
            assert "/clone" not in reply.text  # spoken in the user's own (cloned) voice
            info = ogg_opus_info(reply.ogg)
            assert info.channels == 1 and abs(info.duration - reply.duration) < 1e-6 and reply.duration > 1.0
        ticking.cancel()
        assert len(gaps) > 50 and max(gaps) < 0.5, max(gaps)
        out = await run(app, "forget", private=True)
        await run(app, "button", out.last.buttons[0].data, out=out, private=True)
        assert await app.store.find_user("test", "u1") is None  # the profile went with everything else
    finally:
        await app.stop()


async def test_the_whole_bot_runs_on_postgresql(tmp_path, engine, postgres_url, reference_clip):
    """[storage] url = postgresql://…: clone, say, the audit log and /forget on a real server."""
    from bot.config import StorageConfig
    from bot.storage import PostgresDatabase
    from tests.bot.conftest import audio_in, invocation
    from tests.bot.core.commands.helpers import press, run, say, spoken_hashes
    from tests.conftest import wav_bytes

    config = Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="button", preload_clone_models=False),
                    storage=StorageConfig(url=postgres_url))
    app = await BotApp(config, engine=engine).start()
    try:
        assert isinstance(app.db, PostgresDatabase)
        out = await run(app, "clone", private=True)
        await press(app, out, private=True)
        await app.commands.handle(invocation("audio", private=True, audio=audio_in(wav_bytes(reference_clip, 22050))), out)
        assert out.last.kind == "voice", out.last.text  # the preview in the new voice
        user = await app.store.find_user("test", "u1")
        assert (await app.store.voice(user.id)).engine == engine.name
        assert (await say(app, "happy 0.5 Hello from PostgreSQL!")).last.kind == "voice"
        assert len(await spoken_hashes(app, "u1")) == 2  # the preview and the /say: every note is audited
        out = await run(app, "forget", private=True)
        await press(app, out, private=True)
        assert await app.store.count_rows(user.id) == 0
    finally:
        await app.stop()


async def test_a_reload_refuses_a_canary_that_is_not_running_and_logs_every_change(app, caplog):
    from bot.core.rollout import Rollout

    app.apply_rollout(Rollout(percent=10.0, user_choice=False))
    assert not app.reload_rollout(Rollout(canary="indextts", percent=50.0))  # configured or not, it does not run here
    assert app.commands.services.rollout == Rollout(percent=10.0, user_choice=False)
    assert any("rollout.canary 'indextts' is not running (running: default)" in r.getMessage() for r in caplog.records)
    assert app.reload_rollout(Rollout())  # a file without [rollout]: back to the defaults, and said so
    said = [r.getMessage() for r in caplog.records if "rollout changed by reload" in r.getMessage()]
    assert said == ["rollout changed by reload: percent: 10.0 → 0.0", "rollout changed by reload: user_choice: False → True"]
