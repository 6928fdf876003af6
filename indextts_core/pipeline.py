"""What every engine shares around its own speech: clip intake, layout, post-process, result.

An engine makes raw speech its own way (a bank voice shaped by Praat, or the IndexTTS model);
everything before and after is here, once: reading and checking a reference or emotion clip
(:func:`take_clip`), the facts a profile keeps about its recording (:func:`profile_meta`),
loudness, voice-quality tilt and the exact length (:func:`finish`), and the result
(:func:`result`).  Engines that share it sound alike where they should: the same level, the
same pauses, the same duration guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from . import prosody
from .audio import ReferenceReport, check_reference, read_audio, remove_dc, resample, trim_silence
from .engine import AudioSource, SynthesisResult
from .errors import TextError
from .frontend import Analysis

#: Pause between sentences and silence at either end of a note, before any duration request.
SENTENCE_PAUSE_S = 0.28
EDGE_S = 0.05
#: Longest text one request may speak (an engine's ``max_chars`` option, by default).
MAX_TEXT_CHARS = 5000
#: A reference clip for an emotion needs less speech than one for a voice.
EMOTION_CLIP_MIN_SPEECH_S = 1.0
#: Sentence of the calibration speech the engines read in their default voice (never shown to users).
CALIBRATION_TEXT = (
    "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore, "
    "and we all went home early."
)


def nothing_to_say() -> TextError:
    return TextError("There is nothing to say in this text: write some words in English or Chinese.",
                     "这段文字里没有可以朗读的内容：请用英文或中文写几个字。")


@dataclass(frozen=True)
class Clip:
    """A checked clip: speech with the DC offset removed, its rate, and what the check measured."""

    samples: np.ndarray
    sample_rate: int
    report: ReferenceReport


def take_clip(source: AudioSource, *, rate: Optional[int] = None, for_emotion: bool = False,
              trim: bool = False) -> Clip:
    """Read and check a clip the way every engine does: a voice reference, or (``for_emotion``)
    a clip whose emotion is copied, which may be shorter.  ``rate``: resampled to it; ``trim``:
    leading and trailing silence removed.  Raises the clip's own :class:`ReferenceAudioError`."""
    audio = read_audio(source)
    report = check_reference(audio, min_speech=EMOTION_CLIP_MIN_SPEECH_S) if for_emotion else check_reference(audio)
    samples = remove_dc(audio.samples, audio.sample_rate)
    out_rate = audio.sample_rate
    if rate is not None and rate != audio.sample_rate:
        samples, out_rate = resample(samples, audio.sample_rate, rate), rate
    if trim:
        samples = trim_silence(samples, out_rate)
    return Clip(samples, out_rate, report)


def profile_meta(clip: Clip, stats: prosody.ProsodyStats, **extra: Any) -> dict[str, Any]:
    """What every profile tells about its recording (shown by /voice; the prosody baseline reads
    emotion clips of this speaker against their own neutral speech), plus the engine's own facts.
    Nothing of the moment it was made (a profile is a function of its recording alone)."""
    report = clip.report
    return {
        "reference_seconds": round(report.duration, 2),
        "speech_seconds": round(report.speech_seconds, 2),
        "snr_db": round(report.snr_db, 1),
        "f0_median_hz": round(stats.f0_median_hz, 1),
        "prosody": prosody.baseline_meta(stats),
        **extra,
    }


def finish(speech: np.ndarray, rate: int, *, energy_db: float, tilt_goal_db: float, length: int) -> np.ndarray:
    """The one post-process: loudness with the emotion's energy, the voice-quality tilt, the
    true-peak ceiling, then exactly ``length`` samples (the duration guarantee)."""
    out = prosody.finish(speech, rate, energy_db=energy_db, tilt_goal_db=tilt_goal_db)
    return prosody.fit_length(out, length)


def result(samples: np.ndarray, rate: int, natural_seconds: float, analysis: Analysis, *, engine: str, version: str,
           stages: dict[str, float]) -> SynthesisResult:
    """The result of one request; ``stages``: when each stage ended (``perf_counter``), the first
    entry being the start, so timings are the gaps between them and ``total`` their sum."""
    marks = list(stages.items())
    timings = {name: end - marks[i - 1][1] for i, (name, end) in enumerate(marks) if i}
    timings["total"] = marks[-1][1] - marks[0][1]
    return SynthesisResult(samples=samples, sample_rate=rate, natural_seconds=natural_seconds, timings=timings,
                           segments=[s.text for s in analysis.sentences], engine=engine, version=version)
