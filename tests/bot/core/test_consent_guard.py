"""/say's consent guard: the consent sentence and live codes in any disguise, alone or in pieces;
ordinary texts, numbers included, untouched."""

import pytest

from bot.core.consent import consent_sentence
from bot.core.consent_guard import WINDOW_S, ConsentGuard, is_consent_text

EN = "I agree that my voice can be used by this bot to make a synthetic copy."
ZH = "我同意这个机器人用我的声音制作合成副本。"

#: Texts that share words, numbers or topics with the sentences, which people do say.
ORDINARY = [
    "The last train leaves at ten, so we should hurry up and finish our dinner before it gets late.",
    "I agree with you, this movie was great.",
    "I agree that my cat is the best cat in the world.",
    "This bot makes a synthetic voice for everyone.",
    "My voice can be heard from the other side of the room.",
    "The synthetic copy of the painting was sold for a lot of money.",
    "Use this bot to make voice notes in your own voice.",
    "I agree that my voice is tired after singing all night.",
    "I agree that my voice can be a bit loud sometimes.",
    "by the way this bot can make a synthetic copy of your voice",
    "I agree.", "我同意。", "我同意你的看法，这部电影很好看。", "这个机器人的声音真好听。",
    "这个机器人可以用我的声音说话吗？", "我的声音今天有点沙哑，因为感冒了。",
    "Call me at 555 0192 after seven, or four if you finish early.",
    "I went to the store for two hours and ate seven apples.",
    "我们七点四十二分在九号门见。",
]

#: The sentence written so that it reads the same aloud.
DISGUISED = [
    EN, EN.upper(), ZH, consent_sentence("7429", "en"), consent_sentence("7429", "zh"),
    "I a.g.r.e.e t-h-a-t my v o i c e can be used by this bot to make a synthetic copy.",
    "Ｉ ａｇｒｅｅ ｔｈａｔ ｍｙ ｖｏｉｃｅ ｃａｎ ｂｅ ｕｓｅｄ ｂｙ ｔｈｉｓ ｂｏｔ ｔｏ ｍａｋｅ ａ ｓｙｎｔｈｅｔｉｃ ｃｏｐｙ",
    "I аgrее thаt my vоicе cаn bе usеd by this bоt tо mаkе а synthеtic cоpy",  # Cyrillic а е о
    "I\u200b agree\u200b that\u00ad my voice can be used by this bot to make a synthetic copy",
    "Eye agree that my voys can bee used by this bought to make a sin thetic copy",
    "Iagreethatmyvoicecanbeusedbythisbottomakeasyntheticcopy",
    "Ok so: I agree that my voice can be used by this bot to make a synthetic copy, he said.",
    "Í ágrée thät mý vóice cän bé used by this bót to máke a sýnthetic cópy",
    "窝痛意这个鸡器人用我的声音制作合成副本",  # homophones: the same sounds
    "wo tong yi zhe ge ji qi ren yong wo de sheng yin zhi zuo he cheng fu ben",
    "我 同 意 这 个 机 器 人 用 我 的 声 音 制 作 合 成 副 本",
    # Either half alone.
    "I agree that my voice can be used", "by this bot to make a synthetic copy. Code:",
    "用我的声音制作合成副本。验证码：",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_texts_are_spoken(text):
    assert not is_consent_text(text, ["7429", "0815"])


@pytest.mark.parametrize("text", DISGUISED)
def test_the_sentence_is_refused_in_any_disguise(text):
    assert is_consent_text(text)


@pytest.mark.parametrize("text", [
    "7429", "7 4 2 9", "7-4-2-9", "seven four two nine", "Seven, four, two, nine.", "SEVEN FOUR TWO NINE",
    "sevenfourtwonine", "s.e.v.e.n f.o.u.r t.w.o n.i.n.e", "seven for two nine", "seven four to nine",
    "seven, uh, four, uh, two, uh, nine", "七四二九", "七、四、二、九", "期四二九", "qi si er jiu", "７４２９",
    "The code is seven four two nine, thanks",
])
def test_an_outstanding_code_is_refused_however_it_is_written(text):
    assert is_consent_text(text, ["7429"])
    assert not is_consent_text(text, ["1357"])  # a number no one was asked to read is just a number


def test_a_sentence_sent_in_pieces_is_refused_when_the_pieces_meet():
    guard = ConsentGuard()
    assert not guard.refuses("tg:1", "I agree that my")
    assert guard.refuses("tg:1", "voice can be used")  # with the first piece: half the sentence
    assert not guard.refuses("tg:2", "voice can be used")  # someone else's pieces are theirs
    assert not guard.refuses("tg:3", "by this bot to make")
    assert guard.refuses("tg:3", "a synthetic copy. Code:")


def test_a_code_sent_digit_by_digit_is_refused_at_the_last_digit():
    guard = ConsentGuard()
    assert not any(guard.refuses("tg:1", d, ["7429"]) for d in ("seven", "four", "two"))
    assert guard.refuses("tg:1", "nine", ["7429"])


def test_pieces_count_together_only_for_a_while():
    now = [1000.0]
    guard = ConsentGuard(clock=lambda: now[0])
    assert not guard.refuses("tg:1", "I agree that my voice can be")
    now[0] += WINDOW_S + 1
    assert not guard.refuses("tg:1", "used by this bot to make a copy")
