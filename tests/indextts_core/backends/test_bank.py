"""The voice bank: intelligible defaults, one timbre per message, clones that start from the
nearest real voice, and voice notes that never clip."""

import io
import logging

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from indextts_core.audio import encode_ogg_opus
from indextts_core.backends.bank import BANK, CLEAREST_MANDARIN, describe
from indextts_core.backends.default import DefaultEngine
from indextts_core.emotion import PRESETS
from indextts_core.engine import EmotionSpec
from indextts_core.frontend import analyze
from indextts_core.loudness import TARGET_LUFS, true_peak_dbtp
from tests.conftest import speech_clip, wav_bytes

TEXT = "Please remember to bring your umbrella because it might rain this afternoon!"


def test_defaults_are_neural_and_of_one_gender():
    engine = DefaultEngine()
    assert engine.chinese_voice.startswith("kokoro:") and engine.english_voice in BANK
    assert describe(engine.english_voice).gender == describe(engine.chinese_voice).gender


def test_espeak_is_only_used_when_asked_for_and_then_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        engine = DefaultEngine({"chinese_voice": "espeak"})
    assert engine.chinese_voice == "espeak" and "hard to understand" in caplog.text
    assert DefaultEngine({"chinese_voice": "kokoro"}).chinese_voice.startswith("kokoro:")


def test_mixed_text_is_read_by_one_voice(engine):
    mixed = analyze("我今天用 Python 写代码，then I go home。")
    voices = {"en": engine.english_voice, "zh": engine.chinese_voice}
    voice_of = engine._voice_of_runs(mixed, voices)
    assert {r.lang for s in mixed.sentences for r in s.runs} == {"en", "zh"}
    assert {voice_of(r) for s in mixed.sentences for r in s.runs} == {engine.chinese_voice}
    english = analyze("Only English here.")
    assert {engine._voice_of_runs(english, voices)(r) for s in english.sentences for r in s.runs} == {engine.english_voice}


def _decoded(samples, rate):
    data, sr = sf.read(io.BytesIO(encode_ogg_opus(samples, rate)), dtype="float64")
    return data, sr


@pytest.mark.parametrize("preset", list(PRESETS))
def test_no_emotion_exceeds_minus_1_dbtp_after_opus_decoding(engine, preset):
    r = engine.synthesize(TEXT, emotion=EmotionSpec(preset=preset, intensity=1.0))
    decoded, sr = _decoded(r.samples, r.sample_rate)
    assert true_peak_dbtp(decoded, sr) <= -1.0


def test_neutral_speech_is_at_the_target_loudness(engine):
    for text in (TEXT, "我们明天上午去银行办事，然后一起去公园散步。"):
        r = engine.synthesize(text)
        loudness = pyloudnorm.Meter(r.sample_rate).integrated_loudness(r.samples.astype(np.float64))
        assert loudness == pytest.approx(TARGET_LUFS, abs=1.0)


@pytest.fixture(scope="module")
def low_and_high(engine):
    """A low (male-range) and a high (female-range) reference, made from different bank voices."""
    text = "I agree that my voice can be used by this bot. Today the weather is lovely and I would like a walk."
    low = speech_clip(engine, text, pitch_hz=105.0, formant=0.92)
    high = speech_clip(engine, text, pitch_hz=215.0, formant=1.12)
    return low, high


def test_a_clone_starts_from_a_bank_voice_of_the_references_gender(engine, low_and_high):
    low, high = low_and_high
    for clip, gender in ((low, "male"), (high, "female")):
        profile = engine.create_voice(wav_bytes(clip, 22050))
        meta = profile.meta
        assert describe(meta["english_voice"]).gender == gender, meta
        assert meta["chinese_voice"] == CLEAREST_MANDARIN[gender]  # Mandarin: the clearest voice of that gender
        assert describe(meta["chinese_voice"]).gender == gender and "zh" in describe(meta["chinese_voice"]).languages
        assert meta["fit_similarity"] >= meta["start_similarity"]  # a fit is kept only when it helps
        r = engine.synthesize("你好，我们明天见。Hello again.", voice=profile)
        assert r.duration > 1.0
