"""The error rates every intelligibility figure rests on."""

from tests.evaluation import cer, wer


def test_cer_counts_character_edits_over_the_reference_and_ignores_punctuation() -> None:
    assert cer("今天天气很好。", "今天天汽很好!") == (1, 6)
    assert cer("我们走吧", "我们") == (2, 4)


def test_cer_reads_arabic_numbers_as_chinese_ones() -> None:
    # Whisper writes what it heard as 八十 and 四十 in digits; that is not an error
    assert cer("我奶奶今年八十岁了", "我奶奶今年80岁了") == (0, 9)
    assert cer("大概要四十分钟", "大概要40分钟") == (0, 7)
    assert cer("大概要四十分钟", "大概要14分钟") == (2, 7)  # a wrong number still counts


def test_wer_normalises_case_and_punctuation() -> None:
    assert wer("Hello there, friend.", "hello there friend") == (0, 3)
    assert wer("Hello there, friend.", "hello their friend") == (1, 3)
