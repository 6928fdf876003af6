"""Speaker embeddings (Resemblyzer, weights shipped in its wheel) and similarity."""

from __future__ import annotations

import threading

import numpy as np

from .audio import resample


class SpeakerEncoder:
    """256-d d-vector of a voice; thread-safe, loaded on first use."""

    RATE = 16000
    #: Names the model whose numbers are stored (bank embeddings, profiles): change it with the model.
    identity = "resemblyzer VoiceEncoder 256-d, 16 kHz"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._encoder = None

    def _load(self):
        if self._encoder is None:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resemblyzer imports the deprecated pkg_resources
                from resemblyzer import VoiceEncoder

            self._encoder = VoiceEncoder("cpu", verbose=False)
        return self._encoder

    def embed(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """L2-normalised embedding of a speech clip."""
        from resemblyzer import preprocess_wav

        wav = resample(samples, rate, self.RATE)
        with self._lock:
            encoder = self._load()
            clean = preprocess_wav(wav, source_sr=self.RATE)
            if len(clean) < self.RATE // 4:
                clean = wav
            emb = encoder.embed_utterance(clean)
        return emb.astype(np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two embeddings."""
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))
