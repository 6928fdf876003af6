"""The offline default engine: Piper (English) + eSpeak NG or Kokoro (Mandarin), shaped by Praat.

Cloning is approximate and honest: the reference's pitch level and range are copied, and a
formant scale and spectral tilt are fitted so that Resemblyzer hears the default voice as close
to the reference as this signal chain allows.  ``bench/`` measures the similarity gain.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from .. import prosody
from ..audio import check_reference, read_audio, remove_dc, resample
from ..emotion import ProsodyTarget, target_for
from ..engine import (
    AudioSource, DurationSpec, EmotionSpec, ProgressCallback,
    SynthesisResult, VoiceProfile,
)
from ..errors import EngineConfigError, ProfileError, TextError
from ..frontend import Analysis, Run, analyze
from ..options import option_choice, option_int
from ..speaker import SpeakerEncoder, similarity

SAMPLE_RATE = 22050
#: Sentence of the calibration speech the timbre fit listens to (never shown to users).
CALIBRATION_TEXT = (
    "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore, "
    "and we all went home early."
)
FORMANT_GRID = (0.86, 0.93, 1.0, 1.07, 1.14, 1.21, 1.28)
RUN_GAP_S = 0.06
SENTENCE_PAUSE_S = 0.28
EDGE_S = 0.05
MAX_TEXT_CHARS = 5000


@dataclass(frozen=True)
class Timbre:
    """What a cloned voice changes in the default voice."""

    f0_median_hz: float = 0.0  # 0 keeps the voice's own level
    f0_range: float = 1.0
    formant_ratio: float = 1.0
    tilt_db: float = 0.0


def _trim(samples: np.ndarray, rate: int, threshold_db: float = -45.0) -> np.ndarray:
    """Cut leading and trailing silence (10 ms frames under ``threshold_db`` from the peak)."""
    if len(samples) == 0:
        return samples
    frame = int(rate * 0.01)
    n = len(samples) // frame
    if n == 0:
        return samples
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    loud = np.nonzero(20 * np.log10(np.maximum(rms, 1e-7)) > 20 * np.log10(max(rms.max(), 1e-7)) + threshold_db)[0]
    if len(loud) == 0:
        return samples[:0]
    return samples[max(0, loud[0] - 1) * frame: min(n, loud[-1] + 2) * frame]


class DefaultEngine:
    """CPU engine that needs nothing but wheels from PyPI."""

    name = "default"
    version = "1.0"
    sample_rate = SAMPLE_RATE

    def __init__(self, config: Optional[dict[str, Any]] = None) -> None:
        cfg = dict(config or {})
        self.max_chars = option_int(cfg, "max_chars", MAX_TEXT_CHARS, 10, 100_000)
        self.chinese_rate_wpm = option_int(cfg, "chinese_rate_wpm", 150, 60, 450)
        self.chinese_voice = option_choice(cfg, "chinese_voice", "espeak", ("espeak", "kokoro"))
        if cfg:
            raise EngineConfigError(f"Unknown option(s) for the default engine: {', '.join(sorted(cfg))}")
        self._lock = threading.Lock()
        self._english = None
        self._chinese = None
        self._encoder = SpeakerEncoder()
        self._calibration: Optional[np.ndarray] = None
        self._neutral: Optional[prosody.ProsodyStats] = None

    # ------------------------------------------------------------------ voices
    @property
    def english(self):
        with self._lock:
            if self._english is None:
                from .piper_voice import PiperEnglish

                self._english = PiperEnglish()
        return self._english

    @property
    def chinese(self):
        with self._lock:
            if self._chinese is None:
                if self.chinese_voice == "kokoro":
                    from .kokoro_voice import KokoroMandarin

                    self._chinese = KokoroMandarin()
                else:
                    from .espeak import EspeakVoice

                    self._chinese = EspeakVoice("cmn", rate_wpm=self.chinese_rate_wpm)
        return self._chinese

    def _speak(self, run: Run) -> np.ndarray:
        """One language run through its voice, at the engine rate, edges trimmed."""
        if run.lang == "en":
            return self.speak_english(run.text)
        voice = self.chinese
        return self._finish_voice(voice.synthesize_run(run), voice.sample_rate)

    def speak_english(self, text: str) -> np.ndarray:
        """Plain default-voice English (no front end, no shaping): calibration and test material."""
        return self._finish_voice(self.english.synthesize(text), self.english.sample_rate)

    def _finish_voice(self, pcm: np.ndarray, rate: int) -> np.ndarray:
        if rate != SAMPLE_RATE:
            pcm = resample(pcm, rate, SAMPLE_RATE)
        return _trim(pcm, SAMPLE_RATE)

    def calibration_speech(self) -> np.ndarray:
        """Neutral default-voice speech used to fit timbre and as the neutral prosody baseline."""
        if self._calibration is None:
            self._calibration = self.speak_english(CALIBRATION_TEXT)
            self._neutral = prosody.measure(self._calibration, SAMPLE_RATE)
        return self._calibration

    @property
    def neutral_stats(self) -> prosody.ProsodyStats:
        self.calibration_speech()
        assert self._neutral is not None
        return self._neutral

    def warm_up(self, speaker_encoder: bool = True) -> None:
        """Load models now instead of on the first request.

        The speaker encoder (Resemblyzer on torch, ~400 MB) is only needed by ``create_voice``;
        a server that mostly speaks can leave it to load on the first clone.
        """
        self.calibration_speech()
        warm = analyze("预热中文。")
        self._speak(warm.sentences[0].runs[0])
        if speaker_encoder:
            self._encoder.embed(self._calibration[: SAMPLE_RATE], SAMPLE_RATE)  # type: ignore[index]

    # ------------------------------------------------------------------ cloning
    def create_voice(self, reference: AudioSource) -> VoiceProfile:
        """Check the clip, embed it, and fit the timbre that brings the default voice closest."""
        started = time.perf_counter()
        audio = read_audio(reference)
        report = check_reference(audio)
        samples = remove_dc(audio.samples, audio.sample_rate)
        if audio.sample_rate != SAMPLE_RATE:
            samples = resample(samples, audio.sample_rate, SAMPLE_RATE)
        target_emb = self._encoder.embed(samples, SAMPLE_RATE)
        ref = prosody.measure(samples, SAMPLE_RATE)
        calib = self.calibration_speech()
        base = self.neutral_stats
        f0_range = min(1.6, max(0.6, ref.f0_range_st / base.f0_range_st)) if base.f0_range_st > 0 else 1.0
        tilt = min(6.0, max(-6.0, ref.tilt_db - base.tilt_db))
        baseline_score = similarity(self._encoder.embed(calib, SAMPLE_RATE), target_emb)
        best: tuple[float, float] = (-2.0, 1.0)
        for ratio in FORMANT_GRID:
            trial = Timbre(ref.f0_median_hz, f0_range, ratio, tilt)
            shaped = self._shape(calib, trial, ProsodyTarget(), 1.0)
            score = similarity(self._encoder.embed(shaped, SAMPLE_RATE), target_emb)
            if score > best[0]:
                best = (score, ratio)
        timbre = Timbre(round(ref.f0_median_hz, 2), round(f0_range, 3), best[1], round(tilt, 2))
        payload = json.dumps({
            "timbre": asdict(timbre),
            "embedding": [round(float(v), 6) for v in target_emb],
        }).encode()
        meta = {
            "reference_seconds": round(report.duration, 2),
            "speech_seconds": round(report.speech_seconds, 2),
            "snr_db": round(report.snr_db, 1),
            "f0_median_hz": round(ref.f0_median_hz, 1),
            "fit_similarity": round(best[0], 4),
            "default_similarity": round(baseline_score, 4),
            "seconds_to_build": round(time.perf_counter() - started, 3),
        }
        return VoiceProfile(self.name, self.version, payload, meta)

    def _timbre(self, voice: Optional[VoiceProfile]) -> Timbre:
        """The timbre a profile asks for (the stored embedding is for scoring, not speaking)."""
        if voice is None:
            return Timbre()
        voice.require(self.name, self.version)
        try:
            data = json.loads(voice.payload.decode())
            return Timbre(**data["timbre"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError("This voice profile is damaged. Please record your voice again.") from exc

    def speaker_embedding(self, samples: np.ndarray, rate: int) -> np.ndarray:
        return self._encoder.embed(samples, rate)

    # ------------------------------------------------------------------ speaking
    def _shape(self, pcm: np.ndarray, timbre: Timbre, target: ProsodyTarget, stretch: float) -> np.ndarray:
        median = 0.0  # 0 keeps the run's own level
        if timbre.f0_median_hz or abs(target.f0_shift_st) > 1e-3:
            # A clone sets one level for every run; otherwise shift this run's own median.
            base = timbre.f0_median_hz or prosody.median_f0(pcm, SAMPLE_RATE) or self.neutral_stats.f0_median_hz
            median = base * 2 ** (target.f0_shift_st / 12)
        return prosody.change_voice(
            pcm, SAMPLE_RATE,
            pitch_median_hz=median,
            pitch_range=timbre.f0_range * target.f0_range,
            formant_ratio=timbre.formant_ratio,
            duration_factor=stretch / target.rate,
        )

    def analyze(self, text: str) -> Analysis:
        """The front end's reading of ``text`` (what ``inspect`` shows)."""
        if len(text) > self.max_chars:
            raise TextError(f"This text has {len(text)} characters; the limit is {self.max_chars}. Please shorten it.")
        return analyze(text)


    def _emotion_target(self, emotion: Optional[EmotionSpec], timbre: Timbre) -> ProsodyTarget:
        if emotion is not None and emotion.reference is not None:
            clip = read_audio(emotion.reference)
            check_reference(clip, min_speech=1.0)
            pcm = resample(remove_dc(clip.samples, clip.sample_rate), clip.sample_rate, SAMPLE_RATE)
            ref = prosody.measure(pcm, SAMPLE_RATE)
            return target_for(emotion, prosody.target_from_reference(ref, self.neutral_stats, timbre.f0_median_hz or None))
        return target_for(emotion)

    def synthesize(
        self,
        text: str,
        voice: Optional[VoiceProfile] = None,
        emotion: Optional[EmotionSpec] = None,
        duration: Optional[DurationSpec] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> SynthesisResult:
        """Speak ``text``; blocking.  Exact ``duration`` within one sample."""
        t0 = time.perf_counter()
        timbre = self._timbre(voice)
        analysis = self.analyze(text)
        target = self._emotion_target(emotion, timbre)
        t_front = time.perf_counter()

        # 1. raw speech per language run, sentence by sentence
        sentences: list[list[np.ndarray]] = []
        total = len(analysis.sentences)
        for i, sentence in enumerate(analysis.sentences):
            runs = [self._speak(run) for run in sentence.runs]
            runs = [r for r in runs if len(r)]
            if runs:
                sentences.append(runs)
            if progress is not None:
                progress(i + 1, total)
        if not sentences:
            raise TextError("There is nothing to say in this text: write some words in English or Chinese.",
                            "这段文字里没有可以朗读的内容：请用英文或中文写几个字。")
        t_voice = time.perf_counter()

        # 2. lengths: speech is stretched by 1/rate (and the duration request); pauses by pause × request
        speech = sum(len(r) for runs in sentences for r in runs) / SAMPLE_RATE
        gaps = sum(len(runs) - 1 for runs in sentences) * RUN_GAP_S
        pauses = (len(sentences) - 1) * SENTENCE_PAUSE_S * target.pause
        natural = speech / target.rate + gaps + pauses + 2 * EDGE_S
        stretch = 1.0
        if duration is not None:
            stretch = duration.target_seconds(natural) / natural
        target_len = round(natural * stretch * SAMPLE_RATE)

        # 3. timbre + emotion per run, joined with scaled gaps
        pieces: list[np.ndarray] = [np.zeros(round(EDGE_S * stretch * SAMPLE_RATE), np.float32)]
        for si, runs in enumerate(sentences):
            if si:
                pieces.append(np.zeros(round(SENTENCE_PAUSE_S * target.pause * stretch * SAMPLE_RATE), np.float32))
            for ri, run in enumerate(runs):
                if ri:
                    pieces.append(np.zeros(round(RUN_GAP_S * stretch * SAMPLE_RATE), np.float32))
                pieces.append(self._shape(run, timbre, target, stretch))
        pieces.append(np.zeros(round(EDGE_S * stretch * SAMPLE_RATE), np.float32))
        out = prosody.finish(np.concatenate(pieces), SAMPLE_RATE, energy_db=target.energy_db, tilt_db=timbre.tilt_db + target.tilt_db)
        out = prosody.fit_length(out, target_len)
        t_shape = time.perf_counter()
        return SynthesisResult(
            samples=out,
            sample_rate=SAMPLE_RATE,
            natural_seconds=natural,
            timings={"frontend": t_front - t0, "voices": t_voice - t_front, "shaping": t_shape - t_voice, "total": t_shape - t0},
            segments=[s.text for s in analysis.sentences],
            engine=self.name,
            version=self.version,
        )

    def close(self) -> None:
        self._english = None
        self._chinese = None
