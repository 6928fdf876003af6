"""The composition root: what start-up prepares."""

from bot.app import BotApp
from bot.config import BotConfig, Config


async def test_cloning_models_load_in_the_background_after_start(tmp_path, engine):
    app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="spoken")), engine=engine)
    await app.start()
    try:
        transcriber = app.commands.services.transcriber
        assert not transcriber._models or app._preload.done()  # start() did not wait for it
        await app._preload
        assert set(transcriber._models) == {"en", "zh"} and engine._encoder._encoder is not None
    finally:
        await app.stop()
