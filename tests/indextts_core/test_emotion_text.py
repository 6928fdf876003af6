from pathlib import Path

import numpy as np
import pytest

from indextts_core.emotion_text import EmbeddingClassifier, read_lexicon, vector_from_text
from indextts_core.engine import EMOTIONS
from indextts_core.errors import EmotionError

EVAL_SET = Path(__file__).resolve().parents[2] / "bench" / "data" / "emotion_text_eval.tsv"


def dominant(vec) -> str:
    assert sorted(vec)[-1] > sorted(vec)[-2], f"tie at the top: {vec}"
    return EMOTIONS[int(np.argmax(vec))]


@pytest.mark.parametrize("text,emotion", [
    ("trembling with fear", "afraid"), ("冷笑着说", "disgusted"), ("she is furious", "angry"),
    ("开心地笑", "happy"), ("wistful and lonely", "melancholic"), ("非常惊讶", "surprised"),
    ("softly and calmly", "calm"), ("哭着说", "sad"), ("over the moon", "happy"), ("fed up with it", "angry"),
])
def test_lexicon_descriptions_map_to_the_right_dominant_emotion(text, emotion):
    assert dominant(vector_from_text(text)) == emotion


@pytest.mark.parametrize("text,emotion", [
    ("quietly furious", "angry"), ("whispering, terrified", "afraid"), ("颤抖着说，高兴极了", "happy"),
    ("smiling, but deeply sad", "sad"), ("轻声地、愤怒地说", "angry"),
])
def test_manner_words_never_outvote_emotion_words(text, emotion):
    assert dominant(vector_from_text(text)) == emotion


@pytest.mark.parametrize("text,emotion", [
    ("not angry at all", "calm"), ("一点也不生气", "calm"), ("not happy at all", "sad"), ("一点都不开心", "sad"),
    ("not sad, but furious", "angry"),
])
def test_negation_turns_to_the_opposite_unless_an_emotion_is_named(text, emotion):
    assert dominant(vector_from_text(text)) == emotion


def test_intensifiers_and_dampers():
    assert vector_from_text("very angry")[1] > vector_from_text("angry")[1] > vector_from_text("a bit angry")[1]
    assert vector_from_text("非常生气")[1] > vector_from_text("有点生气")[1]


@pytest.mark.parametrize("text,emotion", [
    ("my grandmother passed away last night", "sad"), ("someone is breaking into the house", "afraid"),
    ("终于拿到了冠军", "happy"), ("闻到一股腐烂的臭味", "disgusted"),
])
def test_situations_without_emotion_words_are_understood(text, emotion):
    assert read_lexicon(text).emotions == {} and read_lexicon(text).manners == {}
    assert dominant(vector_from_text(text)) == emotion


def test_two_emotion_words_of_equal_weight_never_tie():
    vec = vector_from_text("angry and sad")
    assert vec[1] > 0 and vec[2] > 0
    dominant(vec)


def test_a_description_the_model_cannot_place_gets_a_mild_emotion():
    assert max(vector_from_text("the table is brown")) <= 0.45
    assert max(vector_from_text("the table is brown")) < max(vector_from_text("heartbroken"))


def test_text_without_words_says_what_to_try():
    with pytest.raises(EmotionError, match="trembling with fear") as err:
        vector_from_text("?!  ...")
    assert "开心" in err.value.message("zh")


def test_without_the_embedding_model_the_lexicon_still_answers(monkeypatch):
    monkeypatch.setattr(EmbeddingClassifier, "available", staticmethod(lambda: False))
    assert dominant(vector_from_text("furious")) == "angry"
    assert dominant(vector_from_text("softly")) == "calm"
    with pytest.raises(EmotionError):
        vector_from_text("my grandmother passed away last night")


def test_accuracy_on_the_evaluation_set_per_language():
    rows = [line.rstrip("\n").split("\t") for line in EVAL_SET.read_text().splitlines()
            if line.strip() and not line.startswith("#")]
    for lang in ("en", "zh"):
        mine = [(label, text) for la, label, text in rows if la == lang]
        assert len(mine) >= 40
        right = sum(dominant(vector_from_text(text)) == label for label, text in mine)
        assert right / len(mine) >= 0.9, (lang, right, len(mine))
