import pytest

from bot.core.errors import BadRequest
from bot.core.say_args import SayOptions, describe_speed, parse_say, request_from_options


def test_preset_with_intensity():
    r = parse_say("angry 0.7 I can't believe it!")
    assert (r.emotion.preset, r.emotion.intensity, r.text) == ("angry", 0.7, "I can't believe it!")


def test_chinese_name_and_seconds():
    r = parse_say("愤怒：3.2s 我不相信")
    assert r.emotion.preset == "angry" and r.duration.seconds == 3.2 and r.text == "我不相信"


@pytest.mark.parametrize("args", ["calm down please", "happy birthday to you", "sad but true", "Angry birds is a game",
                                  "愤怒的小鸟", "calm down: now"])
def test_an_unmarked_emotion_word_is_spoken(args):
    r = parse_say(args)
    assert r.emotion is None and r.text == args


@pytest.mark.parametrize("args,preset,intensity,text", [
    ("angry: I can't believe it", "angry", 1.0, "I can't believe it"),
    ("(calm) down please", "calm", 1.0, "down please"),
    ("#happy birthday to you", "happy", 1.0, "birthday to you"),
    ("#sad 0.4 it rained", "sad", 0.4, "it rained"),
    ("（悲伤）我想你了", "sad", 1.0, "我想你了"),
    ("悲伤：0.6 我想你了", "sad", 0.6, "我想你了"),
    ("emotion=angry 0.5 hi", "angry", 0.5, "hi"),
    ("e=calm -- calm down", "calm", 1.0, "calm down"),
])
def test_marked_emotions(args, preset, intensity, text):
    r = parse_say(args)
    assert (r.emotion.preset, r.emotion.intensity, r.text) == (preset, intensity, text)


def test_a_marked_word_that_is_no_emotion_stays_text_but_an_explicit_one_is_refused():
    assert parse_say("#blessed day").text == "#blessed day"
    assert parse_say("note: buy milk").text == "note: buy milk"
    with pytest.raises(BadRequest, match="Unknown emotion 'bogus'"):
        parse_say("emotion=bogus -- hello")


def test_vector_description_speed():
    assert parse_say("v=0,1,0,0,0,0,0,0 hi").emotion.vector == (0, 1, 0, 0, 0, 0, 0, 0)
    r = parse_say('"trembling with fear" x1.25 run')
    assert r.emotion.description == "trembling with fear" and r.text == "run"
    assert r.speed == 1.25 and r.duration.ratio == pytest.approx(0.8)  # faster = shorter
    assert parse_say("x0.8 slow").duration.ratio == pytest.approx(1.25)
    assert parse_say("“冷笑着说” 好吧").emotion.description == "冷笑着说"


def test_speed_is_described_plainly():
    assert describe_speed(1.2, "en") == "speed x1.2 (20 % faster)"
    assert describe_speed(0.8, "zh") == "语速 x0.8（慢 20%）"


def test_as_member():
    r = parse_say("as @bob sad 0.5 hello")
    assert r.as_mention == "@bob" and r.emotion.preset == "sad" and r.text == "hello"


def test_plain_text_and_a_lone_emotion_word_is_text():
    assert parse_say("hello world").emotion is None
    assert parse_say("happy").text == "happy"
    # "happy 0.5" is an emotion with nothing to say (it used to read "zero point five" aloud):
    # test_an_emotion_and_intensity_with_nothing_to_say_asks_for_the_words


@pytest.mark.parametrize("args,match", [("x2 hi", "x0.8 \\(slower\\) to x1.33"), ("v=1,2 hi", "8 numbers"), ("v=1,,x hi", "v=0,1")])
def test_bad_options_say_what_to_do(args, match):
    with pytest.raises(BadRequest, match=match):
        parse_say(args)


def test_double_dash_ends_options():
    r = parse_say("sad 0.4 -- calm down please")
    assert r.emotion.preset == "sad" and r.text == "calm down please"
    assert parse_say("-- happy birthday").emotion is None


def test_typed_options_are_checked_like_typed_text_and_the_text_stays_text():
    r = request_from_options(SayOptions("as @x angry 0.7 x1.2 -- hello", emotion="生气", intensity=0.4, speed=1.25))
    assert r.text == "as @x angry 0.7 x1.2 -- hello"  # nothing in the text is read as an option
    assert r.emotion.preset == "angry" and r.emotion.intensity == 0.4
    assert r.duration.ratio == pytest.approx(0.8) and r.speed == 1.25 and r.as_mention is None
    described = request_from_options(SayOptions("run", description="trembling with fear", seconds=2.5, as_mention="@7"))
    assert described.emotion.description == "trembling with fear" and described.duration.seconds == 2.5
    assert described.as_mention == "@7"
    with pytest.raises(BadRequest, match="Unknown emotion"):
        request_from_options(SayOptions("hi", emotion="bogus"))
    with pytest.raises(BadRequest, match="out of range"):
        request_from_options(SayOptions("hi", speed=2.0))


@pytest.mark.parametrize("args,number", [
    ("angry 5 hello", "5"), ("angry 1.5 I can't believe it", "1.5"), ("sad -0.5 oh no", "-0.5"), ("happy 10 yay", "10"),
    ("angry: 2 hi", "2"), ("#sad 1.2 it rained", "1.2"), ("生气 2 你好", "2"), ("emotion=calm 3 breathe", "3"),
])
def test_an_intensity_out_of_range_gets_one_line_saying_so_not_read_aloud(args, number):
    with pytest.raises(BadRequest) as refused:
        parse_say(args)
    english, chinese = refused.value.message("en"), refused.value.message("zh")
    assert "from 0 to 1" in english and number in english and "/say --" in english
    assert "0 到 1" in chinese and number in chinese


@pytest.mark.parametrize("args", ["angry 0.5", "angry: 0.5", "(sad) 0.3", "悲伤：0.6"])
def test_an_emotion_and_intensity_with_nothing_to_say_asks_for_the_words(args):
    with pytest.raises(BadRequest, match="nothing to say after"):
        parse_say(args)


def test_the_numbers_can_still_be_said_after_two_dashes():
    assert parse_say("-- angry 5 hello").text == "angry 5 hello" and parse_say("-- angry 5 hello").emotion is None
