"""Emotion: eight presets as documented prosody targets, vector mixing, text and audio input.

Each preset is a *target* relative to neutral speech at intensity 1:

==========  ========  ========  =====  ======  ======  =====
emotion     F0 (st)   F0 range  rate   energy  pauses  tilt
==========  ========  ========  =====  ======  ======  =====
happy       +3.0      ×1.45     ×1.08  +2 dB   ×0.85   +2 dB
angry       +2.0      ×1.35     ×1.10  +4 dB   ×0.75   +4 dB
sad         -2.5      ×0.60     ×0.85  -4 dB   ×1.40   -3 dB
afraid      +4.0      ×1.20     ×1.15  -2 dB   ×1.20   -1 dB
disgusted   -1.5      ×0.85     ×0.90  +1 dB   ×1.15   +1 dB
melancholic -3.0      ×0.50     ×0.80  -5 dB   ×1.60   -4 dB
surprised   +5.0      ×1.70     ×1.02  +3 dB   ×0.90   +2 dB
calm        -1.0      ×0.75     ×0.92  -2 dB   ×1.20   -2 dB
==========  ========  ========  =====  ======  ======  =====

F0 is the median pitch shift in semitones, range multiplies the spread of pitch around the
median, rate multiplies speaking rate (>1 is faster), energy is gain, pauses multiply the
silences between sentences, tilt brightens (+, tenser voice) or darkens (-, laxer voice) the
spectrum above 1 kHz.  Intensity scales every deviation from neutral linearly (in semitones,
dB and log-factors), so intensity 0 is neutral and 0.5 is half-way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from .engine import EMOTIONS, EmotionSpec
from .emotion_text import vector_from_text
from .errors import EmotionError


@dataclass(frozen=True)
class ProsodyTarget:
    """Deviation from neutral speech; all-neutral values mean "leave the voice alone"."""

    f0_shift_st: float = 0.0
    f0_range: float = 1.0
    rate: float = 1.0
    energy_db: float = 0.0
    pause: float = 1.0
    tilt_db: float = 0.0

    @property
    def is_neutral(self) -> bool:
        return self == ProsodyTarget()

    def _log_form(self) -> np.ndarray:
        return np.array([
            self.f0_shift_st, math.log(self.f0_range), math.log(self.rate),
            self.energy_db, math.log(self.pause), self.tilt_db,
        ])

    @classmethod
    def _from_log(cls, v: np.ndarray) -> "ProsodyTarget":
        return cls(float(v[0]), math.exp(v[1]), math.exp(v[2]), float(v[3]), math.exp(v[4]), float(v[5]))

    def scaled(self, amount: float) -> "ProsodyTarget":
        """Scale every deviation from neutral by ``amount`` (0 = neutral)."""
        return self._from_log(self._log_form() * amount)


PRESETS: dict[str, ProsodyTarget] = {
    "happy": ProsodyTarget(3.0, 1.45, 1.08, 2.0, 0.85, 2.0),
    "angry": ProsodyTarget(2.0, 1.35, 1.10, 4.0, 0.75, 4.0),
    "sad": ProsodyTarget(-2.5, 0.60, 0.85, -4.0, 1.40, -3.0),
    "afraid": ProsodyTarget(4.0, 1.20, 1.15, -2.0, 1.20, -1.0),
    "disgusted": ProsodyTarget(-1.5, 0.85, 0.90, 1.0, 1.15, 1.0),
    "melancholic": ProsodyTarget(-3.0, 0.50, 0.80, -5.0, 1.60, -4.0),
    "surprised": ProsodyTarget(5.0, 1.70, 1.02, 3.0, 0.90, 2.0),
    "calm": ProsodyTarget(-1.0, 0.75, 0.92, -2.0, 1.20, -2.0),
}
assert tuple(PRESETS) == EMOTIONS

#: Names users may type, English and Chinese, mapped to the preset.
ALIASES: dict[str, str] = {
    **{e: e for e in EMOTIONS},
    "joy": "happy", "joyful": "happy", "glad": "happy", "excited": "happy",
    "anger": "angry", "mad": "angry", "furious": "angry",
    "sadness": "sad", "unhappy": "sad",
    "fear": "afraid", "scared": "afraid", "fearful": "afraid", "frightened": "afraid",
    "disgust": "disgusted", "disgusting": "disgusted",
    "melancholy": "melancholic", "gloomy": "melancholic", "low": "melancholic",
    "surprise": "surprised", "amazed": "surprised", "shocked": "surprised",
    "relaxed": "calm", "peaceful": "calm",
    "高兴": "happy", "开心": "happy", "快乐": "happy", "喜": "happy", "喜悦": "happy",
    "愤怒": "angry", "生气": "angry", "怒": "angry",
    "悲伤": "sad", "伤心": "sad", "难过": "sad", "哀": "sad",
    "害怕": "afraid", "恐惧": "afraid", "惧": "afraid",
    "厌恶": "disgusted", "反感": "disgusted", "恶心": "disgusted",
    "忧郁": "melancholic", "低落": "melancholic", "惆怅": "melancholic", "忧伤": "melancholic",
    "惊讶": "surprised", "吃惊": "surprised", "惊喜": "surprised", "惊": "surprised",
    "平静": "calm", "冷静": "calm", "淡定": "calm",
}

#: Chinese display names, in vector order.
CHINESE_NAMES: dict[str, str] = {
    "happy": "高兴", "angry": "愤怒", "sad": "悲伤", "afraid": "害怕",
    "disgusted": "厌恶", "melancholic": "忧郁", "surprised": "惊讶", "calm": "平静",
}


def canonical_name(name: str) -> Optional[str]:
    """The preset for a user-typed name in English or Chinese, or None."""
    return ALIASES.get(name.strip().lower())


def preset_spec(name: str, intensity: float = 1.0) -> EmotionSpec:
    """An :class:`EmotionSpec` for a typed name; a clear error lists the valid names."""
    canon = canonical_name(name)
    if canon is None:
        raise EmotionError(
            f"Unknown emotion {name!r}. Use one of: "
            + ", ".join(f"{e} ({CHINESE_NAMES[e]})" for e in EMOTIONS) + ".",
            f"没有叫 {name!r} 的情感。请使用："
            + "、".join(f"{CHINESE_NAMES[e]}（{e}）" for e in EMOTIONS) + "。",
        )
    return EmotionSpec(preset=canon, intensity=intensity)


def mix(vector: Sequence[float]) -> ProsodyTarget:
    """Mix presets by weight.  Weights add up; a total above 1 is scaled down to 1."""
    w = np.asarray(vector, dtype=float)
    total = float(w.sum())
    if total > 1.0:
        w = w / total
    acc = np.zeros(6)
    for weight, name in zip(w, EMOTIONS):
        acc += weight * PRESETS[name]._log_form()
    return ProsodyTarget._from_log(acc)


def vector_for(spec: EmotionSpec) -> tuple[float, ...]:
    """The 8-float IndexTTS-2 vector equivalent of a preset or vector spec."""
    if spec.vector is not None:
        return tuple(spec.vector)
    if spec.preset is not None:
        return tuple(spec.intensity if e == spec.preset else 0.0 for e in EMOTIONS)
    return (0.0,) * len(EMOTIONS)


def target_for(spec: Optional[EmotionSpec], reference_target: Optional[ProsodyTarget] = None) -> ProsodyTarget:
    """Resolve any emotion spec to a prosody target.

    ``reference_target`` must be given for reference-clip specs: the caller measures the clip
    (see :func:`indextts_core.prosody.target_from_reference`) so this module stays pure.
    """
    if spec is None or spec.is_neutral:
        return ProsodyTarget()
    if spec.preset is not None:
        return PRESETS[spec.preset].scaled(spec.intensity)
    if spec.vector is not None:
        return mix(spec.vector).scaled(spec.alpha)
    if spec.description is not None:
        return mix(vector_from_text(spec.description)).scaled(spec.alpha)
    if reference_target is None:
        raise EmotionError("This emotion needs a reference clip that could be measured.",
                           "这种情感需要一段可以测量的参考录音。")
    return reference_target.scaled(spec.alpha)
