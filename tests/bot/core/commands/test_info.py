"""/start, /help, /emotions, unknown commands and plain text."""

from tests.bot.core.commands.helpers import run


async def test_help_in_chinese(app):
    assert "朗读" in (await run(app, "help", language="zh")).last.text


async def test_help_shows_each_platforms_own_syntax(app):
    discord = (await run(app, "help", platform="discord")).last.text
    telegram = (await run(app, "help", platform="telegram")).last.text
    assert "/say text:" in discord and "speed 1.2 = 20 % faster" in discord and "/voiceadmin" in discord
    assert "/say [emotion]" in telegram and "x1.2 = 20 % faster" in telegram and "/voiceadmin" not in telegram


async def test_unknown_command_and_plain_text_get_an_answer(app):
    assert "Unknown command /frobnicate" in (await run(app, "frobnicate")).last.text
    assert "send /say followed by the text" in (await run(app, "text", "hello bot", private=True)).last.text


async def test_emotions_lists_eight_in_both_languages(app):
    text = (await run(app, "emotions")).last.text
    assert text.count(" / ") == 8 and "angry / 愤怒" in text


async def test_a_message_without_a_language_keeps_the_stored_one(app):
    await run(app, "help", language="zh")
    out = await run(app, "text", "hi", private=True, language=None)
    assert "发送 /say" in out.last.text
    assert (await app.store.find_user("test", "u1")).language == "zh"
