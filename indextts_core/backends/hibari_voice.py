"""English voice "heart" from ``hibari-tts`` (distilled from Kokoro af_heart, 24 kHz, in the wheel)."""

from __future__ import annotations

import threading

import numpy as np

from ..errors import EngineUnavailableError
from ..frontend import Run


class HibariEnglish:
    sample_rate = 24000
    languages = frozenset({"en"})

    def __init__(self) -> None:
        try:
            from hibari import Hibari
        except ImportError as exc:
            raise EngineUnavailableError("The 'heart' voice needs: pip install hibari-tts") from exc
        self._tts = Hibari(voice="heart", threads=2)
        self._lock = threading.Lock()

    @property
    def g2p(self):
        """hibari's English G2P (misaki phonemes), which Kokoro can read too."""
        return self._tts.g2p

    def synthesize_run(self, run: Run) -> np.ndarray:
        with self._lock:  # a fixed seed: the same text always sounds the same
            return np.asarray(self._tts(run.text, seed=0), np.float32)

    def phonemes(self, text: str) -> str:
        return " | ".join(self._tts.phonemize(text))
