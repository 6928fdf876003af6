"""User-facing refusals say what to do, in both languages."""

from bot.core.errors import CloneClosed, CloneRefused


def test_a_refused_clone_recording_names_no_reason_accuses_no_one_and_asks_for_a_retake():
    # One text for every laundering signal (mark, voice match, wrong sentence): a refusal must not
    # teach someone tuning a fake which check failed, nor tell a real person they sent the bot's note.
    english, chinese = CloneRefused().message("en"), CloneRefused().message("zh")
    for word in ("watermark", "sounds like", "made", "voice I can"):
        assert word not in english
    assert "水印" not in chinese and "生成的" not in chinese
    assert "live" in english and "reading the whole sentence" in english and "整句话" in chinese


def test_a_closed_clone_says_when_to_come_back_and_not_why():
    english, chinese = CloneClosed().message("en"), CloneClosed().message("zh")
    assert "tomorrow" in english and "明天" in chinese
    assert "attempt" not in english and "lock" not in english
