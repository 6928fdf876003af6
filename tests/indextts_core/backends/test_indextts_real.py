"""Smoke test on the real IndexTTS-2.5 weights, when ``INDEXTTS_MODEL_DIR`` points at them.

They are ~7 GB and not on CI machines, so this is skipped there (the reason is printed with -rs);
the tiny-model tests in ``test_indextts.py`` cover the wiring everywhere.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from indextts_core.engine import EmotionSpec
from tests.conftest import wav_bytes

MODEL_DIR = os.environ.get("INDEXTTS_MODEL_DIR")
pytestmark = pytest.mark.skipif(not MODEL_DIR, reason="INDEXTTS_MODEL_DIR is not set: no real IndexTTS-2.5 weights here")


@pytest.fixture(scope="module")
def real():
    pytest.importorskip("index_tts_2_5_onnx", reason="the indextts extra is not installed")
    from indextts_core.backends.indextts import IndexTTSEngine

    eng = IndexTTSEngine({"model_dir": MODEL_DIR, "seed": 1})
    eng.warm_up(speaker_encoder=False)
    yield eng
    eng.close()


def _words(text: str) -> list[str]:
    return "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split()


def test_the_clone_speaks_english_and_chinese_that_whisper_understands(real, reference_clip):
    from bot.core.asr import WhisperTranscriber

    if not WhisperTranscriber.available():
        pytest.skip("Whisper (the asr extra) is not installed")
    asr = WhisperTranscriber()
    profile = real.create_voice(wav_bytes(reference_clip, 22050))
    text = "Please remember to bring your umbrella this afternoon."
    result = real.synthesize(text, voice=profile, emotion=EmotionSpec(preset="happy", intensity=0.6))
    heard = _words(asr.transcribe(result.samples, result.sample_rate, "en"))
    missed = len(set(_words(text)) - set(heard))
    assert missed <= 2, heard
    zh = real.synthesize("今天天气很好，我们一起去公园散步吧。", voice=profile)
    assert zh.duration > 1.5 and np.abs(zh.samples).max() > 0.05
    heard_zh = asr.transcribe(zh.samples, zh.sample_rate, "zh")
    assert sum(c in heard_zh for c in "今天天气很好公园散步") >= 7, heard_zh
