"""The engine interface every backend implements, and the value types it exchanges.

Computing a voice (``create_voice``) is separate from speaking with it (``synthesize``): the
profile is serialised once, stored by the caller and handed back on every request.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Optional, Protocol, Sequence, Union, runtime_checkable

import numpy as np

from .errors import DurationError, EmotionError, ProfileError, ProfileVersionError

#: The eight emotions in IndexTTS-2 vector order.
EMOTIONS: tuple[str, ...] = (
    "happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm",
)

#: Duration ratios the engines honour, relative to the natural length.
MIN_RATIO = 0.75
MAX_RATIO = 1.25


@dataclass(frozen=True)
class Audio:
    """Mono float32 PCM in [-1, 1] with its sample rate."""

    samples: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


#: Anything a reference clip may arrive as: a path, raw file bytes, or decoded audio.
AudioSource = Union[str, "os.PathLike[str]", bytes, Audio]

_PROFILE_MAGIC = b"ITTSVP1\n"
#: The message for a profile that cannot be parsed (any engine).
DAMAGED_PROFILE = ("This voice profile is damaged. Please record your voice again.", "这个声音档案已损坏，请重新录制你的声音。")


@dataclass(frozen=True)
class VoiceProfile:
    """A computed voice: engine-specific payload plus the engine name and version that made it.

    ``meta`` holds small facts worth showing to a user (duration of the reference, F0 median);
    ``payload`` is opaque to everybody but the engine that made it.
    """

    engine: str
    version: str
    payload: bytes
    meta: dict[str, Any] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        """Serialise: magic, a JSON header, then the payload."""
        header = json.dumps(
            {"engine": self.engine, "version": self.version, "meta": self.meta},
            sort_keys=True, ensure_ascii=True,
        ).encode()
        return _PROFILE_MAGIC + struct.pack("<I", len(header)) + header + self.payload

    @classmethod
    def from_bytes(cls, data: bytes) -> "VoiceProfile":
        """Parse bytes made by :meth:`to_bytes`; raise :class:`ProfileError` on anything else."""
        if not data.startswith(_PROFILE_MAGIC) or len(data) < len(_PROFILE_MAGIC) + 4:
            raise ProfileError("This file is not a voice profile. Make one with the clone command.",
                               "这个文件不是声音档案。请用 clone 命令制作一个。")
        offset = len(_PROFILE_MAGIC)
        (size,) = struct.unpack_from("<I", data, offset)
        offset += 4
        try:
            header = json.loads(data[offset:offset + size].decode())
            return cls(header["engine"], header["version"], data[offset + size:], header.get("meta", {}))
        except (ValueError, KeyError, UnicodeDecodeError) as exc:
            raise ProfileError(*DAMAGED_PROFILE) from exc

    def readable_by(self, engine: str, reads_versions: Collection[str]) -> bool:
        """Whether engine ``engine``, which reads profiles of ``reads_versions``, can use this one."""
        return self.engine == engine and self.version in reads_versions

    def require(self, engine: str, version: str, reads_versions: Collection[str] = ()) -> None:
        """Raise :class:`ProfileVersionError` unless ``engine`` (now at ``version``, also reading
        ``reads_versions``) can use this profile."""
        if not self.readable_by(engine, {version, *reads_versions}):
            raise ProfileVersionError(
                f"This voice was made by {self.engine} {self.version}, but the bot now runs "
                f"{engine} {version}. Please record your voice again to update it.",
                f"这个声音是用 {self.engine} {self.version} 制作的，但机器人现在运行的是 {engine} {version}。"
                "请重新录制你的声音来更新它。",
            )


@dataclass(frozen=True)
class EmotionSpec:
    """How the speech should feel: exactly one of preset, vector, reference clip or description.

    ``alpha`` scales the whole emotion (IndexTTS-2's ``emo_alpha``); for presets ``intensity``
    does the same job and ``alpha`` stays 1.
    """

    preset: Optional[str] = None
    intensity: float = 1.0
    vector: Optional[tuple[float, ...]] = None
    reference: Optional[AudioSource] = None
    description: Optional[str] = None
    alpha: float = 1.0
    #: The voice profile of whoever speaks in ``reference``, when known: the clip is then read
    #: against that speaker's own neutral speech instead of population norms.
    reference_speaker: Optional["VoiceProfile"] = None

    def __post_init__(self) -> None:
        given = [x is not None for x in (self.preset, self.vector, self.reference, self.description)]
        if self.reference_speaker is not None and self.reference is None:
            raise EmotionError("A reference speaker goes with a reference clip.", "参考说话人必须与参考录音一起给出。")
        if sum(given) > 1:
            raise EmotionError("Choose one way to give the emotion: a name, a vector, a clip or a description.",
                               "请只用一种方式指定情感：名称、向量、参考录音或文字描述。")
        for label, label_zh, value in (("Intensity", "强度", self.intensity), ("Emotion strength", "情感强度", self.alpha)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and 0.0 <= value <= 1.0):
                raise EmotionError(f"{label} must be a number from 0 to 1 (got {value!r}).",
                                   f"{label_zh}必须是 0 到 1 之间的数（收到 {value!r}）。")
        if self.vector is not None:
            if len(self.vector) != len(EMOTIONS):
                raise EmotionError(
                    f"An emotion vector needs {len(EMOTIONS)} numbers in the order "
                    f"{', '.join(EMOTIONS)} (got {len(self.vector)}).",
                    f"情感向量需要 {len(EMOTIONS)} 个数，顺序为 {', '.join(EMOTIONS)}（收到 {len(self.vector)} 个）。",
                )
            if any(not math.isfinite(v) or v < 0 or v > 1 for v in self.vector):
                raise EmotionError("Every number in an emotion vector must be between 0 and 1.",
                                   "情感向量里的每个数都必须在 0 到 1 之间。")

    @property
    def is_neutral(self) -> bool:
        if self.preset is not None:
            return self.intensity == 0
        if self.vector is not None:
            return not any(self.vector)
        return self.reference is None and self.description is None

    def describe(self) -> str:
        """A short human label, e.g. ``angry 0.7`` or ``vector``."""
        if self.preset is not None:
            return f"{self.preset} {self.intensity:g}"
        if self.vector is not None:
            return "vector " + ",".join(f"{v:g}" for v in self.vector)
        if self.reference is not None:
            return "from reference clip"
        if self.description is not None:
            return f'"{self.description}"'
        return "neutral"


@dataclass(frozen=True)
class DurationSpec:
    """Requested output length: a ratio of the natural length, or a target in seconds."""

    ratio: Optional[float] = None
    seconds: Optional[float] = None

    def __post_init__(self) -> None:
        if (self.ratio is None) == (self.seconds is None):
            raise DurationError("Give the duration either as a ratio (like x1.1) or in seconds (like 3.2s), not both.",
                                "时长请用倍数（如 x1.1）或秒数（如 3.2s）二选一，不要同时给出。")
        if self.ratio is not None and not (
            math.isfinite(self.ratio) and MIN_RATIO <= self.ratio <= MAX_RATIO
        ):
            raise DurationError(
                f"The speed ratio must be between {MIN_RATIO} and {MAX_RATIO} (got {self.ratio:g}).",
                f"速度倍数必须在 {MIN_RATIO} 到 {MAX_RATIO} 之间（收到 {self.ratio:g}）。",
            )
        if self.seconds is not None and not (math.isfinite(self.seconds) and 0.2 <= self.seconds <= 600):
            raise DurationError(f"The target duration must be a positive number of seconds (got {self.seconds:g}).",
                                f"目标时长必须是正的秒数（收到 {self.seconds:g}）。")

    def target_seconds(self, natural_seconds: float) -> float:
        """The requested length for speech whose natural length is ``natural_seconds``."""
        if self.ratio is not None:
            return natural_seconds * self.ratio
        assert self.seconds is not None
        low, high = natural_seconds * MIN_RATIO, natural_seconds * MAX_RATIO
        if not (low - 1e-9 <= self.seconds <= high + 1e-9):
            raise DurationError(
                f"This text takes about {natural_seconds:.1f} s to say; the duration can be set "
                f"between {low:.1f} s and {high:.1f} s (asked for {self.seconds:g} s).",
                f"这段文字大约要说 {natural_seconds:.1f} 秒；时长可以设在 {low:.1f} 到 {high:.1f} 秒之间"
                f"（你要求的是 {self.seconds:g} 秒）。",
            )
        return self.seconds


@dataclass
class SynthesisResult:
    """Generated speech plus what is worth knowing about how it was made."""

    samples: np.ndarray
    sample_rate: int
    natural_seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    segments: list[str] = field(default_factory=list)
    engine: str = ""
    version: str = ""

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)

    @property
    def audio(self) -> Audio:
        return Audio(self.samples, self.sample_rate)


#: Called after each synthesised segment with (segments done, segments in all).
ProgressCallback = Callable[[int, int], None]


@runtime_checkable
class Engine(Protocol):
    """What every backend offers.  Methods are blocking; callers run them off their event loop."""

    name: str
    version: str
    #: Profile versions this engine reads: its own, and older ones whose format it still
    #: understands (a code change that keeps the format must not cost anyone their voice).
    reads_versions: frozenset[str]
    #: Jobs the engine can run at once usefully (None: as many as the caller's workers); the GPU
    #: engine says 1 per device, where a second job would only queue behind the first.
    max_workers: Optional[int]

    def warm_up(self, speaker_encoder: bool = True) -> None:
        """Load models now instead of on the first request; ``speaker_encoder`` too (cloning only)."""
        ...

    def create_voice(self, reference: AudioSource) -> VoiceProfile:
        """Validate a reference clip and compute a reusable voice profile from it."""
        ...

    def synthesize(
        self,
        text: str,
        voice: Optional[VoiceProfile] = None,
        emotion: Optional[EmotionSpec] = None,
        duration: Optional[DurationSpec] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> SynthesisResult:
        """Speak ``text`` in ``voice`` (the engine's default voice when None)."""
        ...

    def close(self) -> None:
        """Release models and threads."""
        ...


def emotion_vector_from_floats(values: Sequence[float]) -> EmotionSpec:
    """Build a vector emotion from any sequence of numbers (validated by EmotionSpec)."""
    return EmotionSpec(vector=tuple(float(v) for v in values))
