"""Chinese voice through eSpeak NG 1.52 (library and data shipped in ``espeakng-loader``).

eSpeak keeps global state, so every call goes through one lock.  We feed it numbered pinyin
(``yin2 hang2``) rather than characters, so what it says is exactly what the front end resolved.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Optional

import numpy as np

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02

_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class EspeakVoice:
    """A thread-safe wrapper over libespeak-ng producing float32 PCM."""

    _lock = threading.Lock()
    _lib: Optional[ctypes.CDLL] = None
    _sample_rate = 22050
    _current_voice: Optional[str] = None

    def __init__(self, voice: str = "cmn", rate_wpm: int = 165, pitch: int = 50, pitch_range: int = 50,
                 volume: int = 100) -> None:
        self.voice = voice
        self.rate_wpm = rate_wpm
        self.pitch = pitch
        self.pitch_range = pitch_range  # 0 monotone … 100 (eSpeak's own scale; 50 is its default)
        self.volume = volume
        self._chunks: list[np.ndarray] = []
        self._callback = _SYNTH_CALLBACK(self._collect)
        self._ensure_library()

    @classmethod
    def _ensure_library(cls) -> None:
        with cls._lock:
            if cls._lib is not None:
                return
            import espeakng_loader

            lib = ctypes.CDLL(espeakng_loader.get_library_path())
            lib.espeak_Initialize.restype = ctypes.c_int
            lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
            lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
            lib.espeak_SetSynthCallback.argtypes = [_SYNTH_CALLBACK]
            lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
            lib.espeak_Synth.argtypes = [
                ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
            ]
            lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
            lib.espeak_TextToPhonemes.argtypes = [
                ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int
            ]
            data = espeakng_loader.get_data_path().encode()
            rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 200, data, 0)
            if rate <= 0:
                raise RuntimeError("eSpeak NG failed to initialise")
            cls._sample_rate = rate
            cls._lib = lib

    @property
    def sample_rate(self) -> int:
        return self._sample_rate

    def _collect(self, wav, num_samples, _events) -> int:
        if num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(num_samples,)).astype(np.float32) / 32768.0)
        return 0

    def _select(self) -> ctypes.CDLL:
        """Set this voice's parameters (eSpeak holds one voice at a time); the library."""
        lib = self._lib
        assert lib is not None
        if EspeakVoice._current_voice != self.voice:
            if lib.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise RuntimeError(f"eSpeak NG has no voice {self.voice!r}")
            EspeakVoice._current_voice = self.voice
        lib.espeak_SetParameter(1, self.rate_wpm, 0)  # espeakRATE
        lib.espeak_SetParameter(3, self.pitch, 0)  # espeakPITCH
        lib.espeak_SetParameter(4, self.pitch_range, 0)  # espeakRANGE
        lib.espeak_SetParameter(2, self.volume, 0)  # espeakVOLUME
        return lib

    def synthesize(self, text: str) -> np.ndarray:
        """Speak ``text`` and return mono float32 PCM at :attr:`sample_rate`."""
        data = text.encode("utf-8") + b"\0"
        with self._lock:
            lib = self._select()
            self._chunks = []
            lib.espeak_SetSynthCallback(self._callback)
            buf = ctypes.create_string_buffer(data)
            lib.espeak_Synth(buf, len(data), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
            chunks, self._chunks = self._chunks, []
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)

    def synthesize_run(self, run) -> np.ndarray:
        """A Chinese :class:`~indextts_core.frontend.Run`, read as its numbered pinyin."""
        return self.synthesize(run.speakable())

    def phonemes(self, text: str) -> str:
        """IPA phonemes eSpeak would speak for ``text``."""
        with self._lock:
            lib = self._select()
            buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
            ptr = ctypes.c_char_p(ctypes.addressof(buf))
            out = []
            while ptr.value:
                res = lib.espeak_TextToPhonemes(ctypes.byref(ptr), _CHARS_UTF8, _PHONEMES_IPA)
                if res:
                    out.append(res.decode("utf-8"))
        return " ".join(out)
