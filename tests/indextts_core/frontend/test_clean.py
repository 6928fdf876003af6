import pytest

from indextts_core.frontend.clean import clean_text, has_words


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
    ("bell\x07 and\x1b[31m escape\u200b", "bell and escape"),
    ("[link text](https://x.y)", "link text"),
    ("你好😀，世界", "你好 ，世界"),
])
def test_clean(raw, clean):
    assert clean_text(raw) == clean


@pytest.mark.parametrize("raw", ["😀😀😀", "<@1> <@2> <@3> @everyone", "https://a.b", "```x```", "!!!! ???"])
def test_nothing_left(raw):
    assert not has_words(clean_text(raw))


@pytest.mark.parametrize("text,script", [("こんにちは", "Japanese kana"), ("カタカナ hello", "Japanese kana"),
                                         ("Привет", "Cyrillic"), ("안녕하세요", "Korean"), ("مرحبا", "Arabic")])
def test_scripts_no_voice_can_speak_are_refused_by_the_core(text, script):
    from indextts_core.errors import TextError
    from indextts_core.frontend import analyze

    with pytest.raises(TextError, match=script) as info:
        analyze(text)
    assert info.value.message("zh") != str(info.value)  # said in Chinese too


def test_the_core_strips_control_characters_and_escapes_instead_of_failing():
    from indextts_core.frontend import analyze

    a = analyze("hello\x00 \x1b[31mred\x1b[0m world\x07 Café 5µm 银行")
    spoken = " ".join(r.text for s in a.sentences for r in s.runs)
    assert "\x00" not in spoken and "thirty-one" not in spoken and "red" in spoken and "Café" in spoken
