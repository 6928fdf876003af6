import pytest

from bot.core.errors import BadRequest
from bot.core.say_args import parse_say


def test_preset_with_intensity():
    r = parse_say("angry 0.7 I can't believe it!")
    assert (r.emotion.preset, r.emotion.intensity, r.text) == ("angry", 0.7, "I can't believe it!")


def test_chinese_name_and_seconds():
    r = parse_say("愤怒 3.2s 我不相信")
    assert r.emotion.preset == "angry" and r.duration.seconds == 3.2 and r.text == "我不相信"


def test_vector_description_ratio():
    assert parse_say("v=0,1,0,0,0,0,0,0 hi").emotion.vector == (0, 1, 0, 0, 0, 0, 0, 0)
    r = parse_say('"trembling with fear" x1.1 run')
    assert r.emotion.description == "trembling with fear" and r.duration.ratio == 1.1 and r.text == "run"
    assert parse_say("“冷笑着说” 好吧").emotion.description == "冷笑着说"


def test_as_member():
    r = parse_say("as @bob sad hello")
    assert r.as_mention == "@bob" and r.emotion.preset == "sad" and r.text == "hello"


def test_plain_text_and_a_lone_emotion_word_is_text():
    assert parse_say("hello world").emotion is None
    assert parse_say("happy").text == "happy"


@pytest.mark.parametrize("args,match", [("x2 hi", "between 0.75 and 1.25"), ("v=1,2 hi", "8 numbers"), ("v=1,,x hi", "v=0,1")])
def test_bad_options_say_what_to_do(args, match):
    with pytest.raises(BadRequest, match=match):
        parse_say(args)


def test_double_dash_ends_options():
    r = parse_say("sad 0.4 -- calm down please")
    assert r.emotion.preset == "sad" and r.text == "calm down please"
    assert parse_say("-- happy birthday").emotion is None
