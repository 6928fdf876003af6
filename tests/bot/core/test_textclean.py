import pytest

from bot.core.textclean import clean_text, has_words


@pytest.mark.parametrize("raw,clean", [
    ("**Hello** __there__", "Hello there"),
    ("see https://example.com/x?y=1 now", "see now"),
    ("hi <@123456> and <@!42> in <#99> with <@&7>", "hi and in with"),
    ("@everyone @here listen", "listen"),
    ("nice <:pepe:123456789> <a:dance:987>", "nice"),
    ("I love it 😀😀🎉👍🏽", "I love it"),
    ("code: ```print('x')``` done", "code: done"),
    ("use `pip` here", "use pip here"),
    ("soooooo goooood!!!!!!", "soo good!"),
    ("bell\x07 and\x1b[31m escape\u200b", "bell and [31m escape"),
    ("[link text](https://x.y)", "link text"),
    ("你好😀，世界", "你好 ，世界"),
])
def test_clean(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("raw", ["😀😀😀", "<@1> <@2> <@3> @everyone", "https://a.b", "```x```", "!!!! ???"])
def test_nothing_left(raw):
    assert not has_words(clean_text(raw))
