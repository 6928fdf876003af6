import pytest

from indextts_core.errors import TextError
from indextts_core.frontend import analyze

# (sentence, character, expected numbered pinyin): resolved from context, no annotation.
POLYPHONES = [
    ("我们去银行取钱", "行", "hang2"), ("他走在行人中间", "行", "xing2"), ("这个人很长", "长", "chang2"),
    ("他长大了", "长", "zhang3"), ("重新开始吧", "重", "chong2"), ("这件事很重要", "重", "zhong4"),
    ("音乐很好听", "乐", "yue4"), ("我很快乐", "乐", "le4"), ("大家都来了", "都", "dou1"),
    ("北京是首都", "都", "du1"), ("我还有钱", "还", "hai2"), ("请你还钱", "还", "huan2"),
    ("我要睡觉了", "觉", "jiao4"), ("我觉得很好", "觉", "jue2"), ("他是会计", "会", "kuai4"),
    ("等一会儿", "会", "hui4"), ("这个问题很难", "难", "nan2"), ("他们遇到了灾难", "难", "nan4"),
    ("我喜欢这首曲子", "曲", "qu3"), ("这条路很弯曲", "曲", "qu1"), ("他的好朋友", "好", "hao3"),
    ("他很好学", "好", "hao4"), ("数学很难", "数", "shu4"), ("请你数一数", "数", "shu3"),
    ("中国人", "中", "zhong1"), ("他中奖了", "中", "zhong4"), ("这是一个角色", "角", "jue2"),
    ("三角形", "角", "jiao3"), ("他得了第一名", "得", "de2"), ("你得快点", "得", "dei3"),
    ("一行字", "行", "hang2"), ("处理问题", "处", "chu3"), ("这个地方是办事处", "处", "chu4"),
    ("背着书包", "背", "bei1"), ("他的后背", "背", "bei4"), ("空气很好", "空", "kong1"),
    ("有空来玩", "空", "kong4"), ("调查一下", "调", "diao4"), ("调整音量", "调", "tiao2"),
    ("着急", "着", "zhao2"), ("看着我", "着", "zhe5"), ("大夫来了", "大", "dai4"),
    ("传记", "传", "zhuan4"), ("传说", "传", "chuan2"),
]


@pytest.mark.parametrize("sentence,char,expected", POLYPHONES)
def test_polyphones_resolved_from_context(sentence, char, expected):
    assert analyze(sentence).pinyin_of(char) == expected


def test_same_character_read_two_ways_in_one_sentence():
    a = analyze("银行的行长在行走")
    assert [a.pinyin_of("行", i) for i in range(3)] == ["hang2", "hang2", "xing2"]


def test_upstream_inline_syllable_replaces_a_character():
    a = analyze("打DI1去银行")
    assert a.pinyin == ["da3", "di1", "qu4", "yin2", "hang2"]
    syl = [s for s in a.sentences[0].runs[0].syllables if s.pinyin == "di1"][0]
    assert syl.source == "user" and syl.char == ""


@pytest.mark.parametrize("text", ["他‹行|XING2>业", "他<行|xing2>业", "他〈行|XING2〉业"])
def test_indextts25_tag_overrides_context(text):
    a = analyze(text)
    assert a.pinyin_of("行") == "xing2"  # context alone says hang2 (行业)
    assert analyze("他行业").pinyin_of("行") == "hang2"


def test_tone_marked_brackets_apply_to_preceding_characters():
    a = analyze("我们出发[chū fā]去银行[yín xíng]")
    assert a.pinyin == ["wo3", "men5", "chu1", "fa1", "qu4", "yin2", "xing2"]
    assert analyze("长[cháng]大").pinyin_of("长") == "chang2"
    assert analyze("行[hang2]").pinyin_of("行") == "hang2"


def test_brackets_that_are_not_pinyin_are_left_alone():
    a = analyze("我们[注意]出发")
    assert "注意" in a.normalized


def test_annotation_with_more_syllables_than_characters_is_an_error():
    with pytest.raises(TextError, match="only 1 characters"):
        analyze("行[xing2 zou3]")


def test_mixed_text_splits_into_language_runs_and_sentences():
    a = analyze("我用iPhone拍了3张照片。Then I said hello! 你好")
    langs = [(r.lang, r.text) for s in a.sentences for r in s.runs]
    assert langs == [("zh", "我用"), ("en", "iPhone"), ("zh", "拍了三张照片。"), ("en", "Then I said hello!"), ("zh", "你好")]
    assert a.sentences[0].runs[2].speakable() == "pai1 le5 san1 zhang1 zhao4 pian1."


def test_long_text_is_split_into_bounded_segments():
    text = " ".join(["This is a fairly long clause, with commas, that keeps going"] * 20) + "."
    a = analyze(text, max_sentence_chars=120)
    assert len(a.sentences) > 5
    assert all(len(s.text) <= 120 for s in a.sentences)


def test_nothing_to_say():
    with pytest.raises(TextError, match="nothing to say"):
        analyze("... !!! ,,,")
