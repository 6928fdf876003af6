"""User-facing refusals say what to do, in both languages."""

from bot.core.errors import SyntheticRecording


def test_a_marked_recording_is_refused_without_accusing_and_with_a_retake_asked_for():
    # A live reading can line up with the mark's key by chance (README: Watermark), so the
    # refusal must not tell a real person they sent the bot's note, and must ask for a retake.
    refusal = SyntheticRecording.made_by_us()
    english, chinese = refusal.message("en"), refusal.message("zh")
    assert "watermark" in english and "was made by me" not in english
    assert "If you recorded it yourself" in english and "once more" in english
    assert "水印" in chinese and "这段录音是我生成的" not in chinese
    assert "再读一遍" in chinese
