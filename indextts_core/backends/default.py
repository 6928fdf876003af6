"""The offline default engine: a bank of neural voices from wheels, shaped by Praat.

Voices (``bank.py``): hibari "heart" and Piper "joe" (English), Kokoro-82M styles and their blends
(Mandarin *and* English, one timbre), eSpeak NG (Mandarin, last resort, only when configured).
A message with Chinese in it is spoken entirely by a voice that speaks both languages, so the
timbre never jumps mid-sentence.

Cloning is approximate and honest: the bank voice the speaker encoder finds closest to the
reference is the starting point; the reference's pitch level and range are copied, a formant
scale fitted, and an EQ moves the voice's long-term spectrum onto the reference's
(:mod:`indextts_core.spectrum`); a fit is kept only if it scores better than the starting voice.
Messages with Chinese leave the EQ out (intelligibility first).  ``bench/`` measures the gain
with two independent encoders.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Optional

import numpy as np

from .. import emotion_text, pipeline, prosody, spectrum
from ..audio import resample, trim_silence
from ..emotion import ProsodyTarget, target_for
from ..engine import (
    DAMAGED_PROFILE, AudioSource, DurationSpec, EmotionSpec, ProgressCallback,
    SynthesisResult, VoiceProfile,
)
from ..errors import EngineConfigError, ProfileError
from ..frontend import Analysis, Run, analyze
from ..options import option_choice, option_int
from ..pipeline import CALIBRATION_TEXT, EDGE_S, MAX_TEXT_CHARS, SENTENCE_PAUSE_S
from ..speaker import SpeakerEncoder, similarity
from . import bank_search
from .bank import BANK, CLEAREST_MANDARIN, DEFAULT_ENGLISH, VoiceBank, describe

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050
#: The calibration speech the timbre fit listens to: :data:`~indextts_core.pipeline.CALIBRATION_TEXT`, or in Mandarin
CALIBRATION_TEXT_ZH = "今天天气很好，我们一起去公园散步吧。明天早上再去银行办事。"
FORMANT_GRID = (0.86, 0.93, 1.0, 1.07, 1.14, 1.21, 1.28)
#: How far the clone's EQ moves the start voice's long-term spectrum toward the reference's
#: (1 = onto it; more exaggerates the difference, which both speaker encoders hear as closer).
EQ_STRENGTHS = (1.0, 1.5)
#: Largest tilt change of a fit without EQ, and of any clone in a message with Chinese.
TILT_LIMIT_DB = 6.0
#: Defaults chosen by intelligibility (bench/core.py: English WER by Whisper tiny.en, Mandarin CER by
#: Whisper base) and kept of one gender, so the default voice does not change with the language.
DEFAULT_CHINESE = "kokoro:jf_gongitsune"
ENGLISH_VOICES = tuple(v for v, b in BANK.items() if "en" in b.languages)
CHINESE_VOICES = tuple(v for v, b in BANK.items() if "zh" in b.languages)
RUN_GAP_S = 0.06


def _limit_tilt(tilt_db: float) -> float:
    return min(TILT_LIMIT_DB, max(-TILT_LIMIT_DB, tilt_db))


@dataclass(frozen=True)
class Timbre:
    """What a cloned voice changes in the bank voice it starts from."""

    f0_median_hz: float = 0.0  # 0 keeps the voice's own level
    f0_range: float = 1.0
    formant_ratio: float = 1.0
    tilt_db: float = 0.0
    eq_db: tuple[float, ...] = ()  # per-band gains (spectrum.BANDS), empty: no EQ

    def for_mandarin(self) -> "Timbre":
        """The timbre for a message with Chinese in it: without the EQ, and the tilt within ±6 dB.

        Intelligibility comes first in Mandarin (measured on a clone, 20 sentences: CER 0.28 with
        the EQ, 0.19 with only its tilt, ~0.15 without either); pitch and formants stay.
        """
        return replace(self, eq_db=(), tilt_db=_limit_tilt(self.tilt_db))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Timbre":
        eq = tuple(float(g) for g in data.get("eq_db", ()))
        if eq and len(eq) != spectrum.BANDS:
            raise ValueError(f"a timbre EQ has {spectrum.BANDS} bands, not {len(eq)}")
        return cls(**{**data, "eq_db": eq})


class DefaultEngine:
    """CPU engine that needs nothing but wheels from PyPI."""

    name = "default"
    version = "2.0"  # 2.0: voice bank; profiles of 1.x must be recorded again
    #: Bump ``version`` with every change to what a profile holds or how it is read; list here the
    #: older versions whose profiles this code still reads as they are.
    reads_versions = frozenset({"2.0"})
    sample_rate = SAMPLE_RATE
    max_workers: Optional[int] = None  # one job per worker thread, as many as the bot runs

    def __init__(self, config: Optional[dict[str, Any]] = None) -> None:
        cfg = dict(config or {})
        self.max_chars = option_int(cfg, "max_chars", MAX_TEXT_CHARS, 10, 100_000)
        self.chinese_rate_wpm = option_int(cfg, "chinese_rate_wpm", 150, 60, 450)
        self.english_voice = option_choice(cfg, "english_voice", DEFAULT_ENGLISH, ENGLISH_VOICES)
        chinese = cfg.pop("chinese_voice", DEFAULT_CHINESE)
        cfg["chinese_voice"] = DEFAULT_CHINESE if chinese == "kokoro" else chinese  # "kokoro": the default style
        self.chinese_voice = option_choice(cfg, "chinese_voice", DEFAULT_CHINESE, CHINESE_VOICES + ("kokoro",))
        if cfg:
            raise EngineConfigError(f"Unknown option(s) for the default engine: {', '.join(sorted(cfg))}")
        if self.chinese_voice == "espeak":
            log.warning("Mandarin uses eSpeak NG (engine.chinese_voice = 'espeak'): it is hard to understand; "
                        "the Kokoro voices are far clearer")
        self.bank = VoiceBank(self.chinese_rate_wpm)
        self._lock = threading.Lock()
        self._encoder = SpeakerEncoder()
        self._calibration: dict[str, np.ndarray] = {}
        self._neutral: dict[str, prosody.ProsodyStats] = {}
        self._bank_embeddings: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------------ voices
    @property
    def english(self):
        """The default English voice (loaded on first use)."""
        return self.bank.speaker(self.english_voice)

    @property
    def chinese(self):
        """The default Mandarin voice (loaded on first use)."""
        return self.bank.speaker(self.chinese_voice)

    def _speak(self, run: Run, voice_id: str, reproducible: bool = False) -> np.ndarray:
        """One language run through a bank voice, at the engine rate, edges trimmed;
        ``reproducible``: the same samples in every process (a voice with random timbre noise
        draws it from a fixed seed)."""
        speaker = self.bank.speaker(voice_id)
        read = getattr(speaker, "synthesize_reproducibly", speaker.synthesize_run) if reproducible else speaker.synthesize_run
        return self._finish_voice(read(run), speaker.sample_rate)

    def speak_english(self, text: str, voice_id: Optional[str] = None, reproducible: bool = False) -> np.ndarray:
        """Plain English from a bank voice (no front end, no shaping): calibration and test material."""
        run = Run("en", text)
        return self._speak(run, voice_id or self.english_voice, reproducible)

    def speak_bare(self, text: str, voice_id: str, gap_s: float = 0.0, reproducible: bool = False) -> np.ndarray:
        """``text`` through the front end, every run read by one bank voice, unshaped; ``gap_s``
        of silence after each run (calibration, evaluation and bench material)."""
        gap = np.zeros(round(gap_s * SAMPLE_RATE), np.float32)
        runs = [self._speak(r, voice_id, reproducible) for s in analyze(text).sentences for r in s.runs]
        return np.concatenate([x for r in runs for x in (r, gap)])

    def _finish_voice(self, pcm: np.ndarray, rate: int) -> np.ndarray:
        if rate != SAMPLE_RATE:
            pcm = resample(pcm, rate, SAMPLE_RATE)
        return trim_silence(pcm, SAMPLE_RATE)

    def calibration_speech(self, voice_id: Optional[str] = None) -> np.ndarray:
        """Neutral speech of a bank voice: the timbre fit listens to it, emotions start from it."""
        voice_id = voice_id or self.english_voice
        with self._lock:
            cached = self._calibration.get(voice_id)
        if cached is None:
            # reproducible: clones are fitted on it, and a profile must not depend on the process
            if "en" in describe(voice_id).languages:
                cached = self.speak_english(CALIBRATION_TEXT, voice_id, reproducible=True)
            else:
                cached = self.speak_bare(CALIBRATION_TEXT_ZH, voice_id, reproducible=True)
            stats = prosody.measure(cached, SAMPLE_RATE)
            with self._lock:
                self._calibration[voice_id] = cached
                self._neutral[voice_id] = stats
        return cached

    def neutral_for(self, voice_id: str) -> prosody.ProsodyStats:
        self.calibration_speech(voice_id)
        return self._neutral[voice_id]

    @property
    def neutral_stats(self) -> prosody.ProsodyStats:
        """Neutral prosody of the default English voice."""
        return self.neutral_for(self.english_voice)

    def _bank_embedding(self, voice_id: str) -> np.ndarray:
        """The voice's embedding as shipped (:mod:`.bank_search`).  Computed (once per process)
        only when the file lacks it: an install made without its package data still clones, as
        reproducibly, only slower on the first clone."""
        stored = bank_search.shipped()[1].get(voice_id)
        if stored is not None:
            return stored
        with self._lock:
            cached = self._bank_embeddings.get(voice_id)
        if cached is None:
            cached = self._encoder.embed(self.calibration_speech(voice_id), SAMPLE_RATE)
            with self._lock:
                self._bank_embeddings[voice_id] = cached
        return cached

    def warm_up(self, speaker_encoder: bool = True) -> None:
        """Load models now instead of on the first request.

        The speaker encoder (Resemblyzer on torch, ~400 MB) is only needed by ``create_voice``, the sentence-embedding model only by emotion descriptions; a
        server that mostly speaks can leave them to the first request that needs them.
        """
        self.calibration_speech(self.english_voice)
        self.calibration_speech(self.chinese_voice)
        if speaker_encoder:
            self._encoder.embed(self.calibration_speech(self.english_voice), SAMPLE_RATE)  # loads the model
            emotion_text.warm_up()  # the description model (~1 s) goes with the other background loads

    # ------------------------------------------------------------------ cloning
    def create_voice(self, reference: AudioSource) -> VoiceProfile:
        """Check the clip; start English from the nearest bank voice and Mandarin from the clearest
        voice of the same gender impression; fit the timbre of each."""
        started = time.perf_counter()
        clip = pipeline.take_clip(reference, rate=SAMPLE_RATE)
        samples = clip.samples
        target_emb = self._encoder.embed(samples, SAMPLE_RATE)
        ref = prosody.measure(samples, SAMPLE_RATE)
        ref_bands = spectrum.band_levels_db(samples, SAMPLE_RATE)
        scores = self._rank_bank(target_emb, ref.f0_median_hz)
        en_voice = max(scores, key=lambda v: scores[v])
        zh_voice = CLEAREST_MANDARIN[describe(en_voice).gender]  # intelligibility first (see bank.py)
        fits = {v: self._fit_timbre(v, ref, ref_bands, target_emb, scores.get(v)) for v in dict.fromkeys((en_voice, zh_voice))}
        default_score = similarity(self._bank_embedding(self.english_voice), target_emb)
        payload = json.dumps({
            "voices": {"en": en_voice, "zh": zh_voice},
            "timbres": {v: asdict(t) for v, (t, _) in fits.items()},
            "embedding": [round(float(x), 6) for x in target_emb],
        }).encode()
        meta = pipeline.profile_meta(
            clip, ref, english_voice=en_voice, chinese_voice=zh_voice,
            start_similarity=round(scores[en_voice], 4), fit_similarity=round(fits[en_voice][1], 4),
            default_similarity=round(default_score, 4))
        log.info("voice made in %.1f s (start %s)", time.perf_counter() - started, en_voice)
        return VoiceProfile(self.name, self.version, payload, meta)

    def _rank_bank(self, target_emb: np.ndarray, f0_hz: float) -> dict[str, float]:
        """Similarity to the reference of every voice of the search space
        (:data:`~.bank_search.SEARCH_SPACE`: bank voices and Kokoro blends) of the reference's
        gender impression (by pitch).  A fixed space, in a fixed order, from shipped numbers: the
        same reference always finds the same voice, however busy the machine."""
        hint = "female" if f0_hz >= 165 else "male" if 0 < f0_hz <= 145 else None
        space = bank_search.SEARCH_SPACE
        candidates = [v for v in space if hint is None or describe(v).gender == hint] or list(space)
        return {v: similarity(self._bank_embedding(v), target_emb) for v in candidates}

    def _fit_timbre(self, voice_id: str, ref: prosody.ProsodyStats, ref_bands: np.ndarray, target_emb: np.ndarray,
                    start: Optional[float]) -> tuple[Timbre, float]:
        """The pitch/formant change and spectrum EQ that bring ``voice_id`` closest to the
        reference — or no change at all when nothing beats the voice as it is."""
        calib = self.calibration_speech(voice_id)
        base = self.neutral_for(voice_id)
        raw_tilt = prosody.spectral_tilt_db(calib, SAMPLE_RATE)
        f0_range = min(1.6, max(0.6, ref.f0_range_st / base.f0_range_st)) if base.f0_range_st > 0 else 1.0
        tilt = round(_limit_tilt(ref.tilt_db - base.tilt_db), 2)
        best = (Timbre(), start if start is not None else similarity(self._bank_embedding(voice_id), target_emb))

        def score(speech: np.ndarray) -> float:
            return similarity(self._encoder.embed(speech, SAMPLE_RATE), target_emb)

        def equalized(trial: Timbre, strength: float) -> tuple[float, Timbre]:
            gains = tuple(round(float(g), 2) for g in spectrum.matching_gains(ref_bands, bands[trial], strength))
            speech = spectrum.equalize(shaped[trial], SAMPLE_RATE, gains)
            # the tilt the EQ gave this voice's reading is what synthesis keeps (see ``finish``)
            eq_tilt = round(prosody.spectral_tilt_db(speech, SAMPLE_RATE) - raw_tilt, 2)
            return score(speech), replace(trial, tilt_db=eq_tilt, eq_db=gains)

        # the formant scale first (each trial with the EQ that matches it), then how far the EQ goes
        shaped: dict[Timbre, np.ndarray] = {}
        bands: dict[Timbre, np.ndarray] = {}
        for ratio in FORMANT_GRID:
            trial = Timbre(round(ref.f0_median_hz, 2), round(f0_range, 3), ratio, tilt)
            shaped[trial] = self._shape(calib, trial, ProsodyTarget(), 1.0, voice_id)
            bands[trial] = spectrum.band_levels_db(shaped[trial], SAMPLE_RATE)
        top, chosen = max((equalized(trial, EQ_STRENGTHS[0]) for trial in shaped), key=lambda pair: pair[0])
        plain = replace(chosen, eq_db=(), tilt_db=tilt)
        options = [(top, chosen), (score(shaped[plain]), plain)]
        options += [equalized(plain, strength) for strength in EQ_STRENGTHS[1:]]
        top, chosen = max(options, key=lambda pair: pair[0])
        return (chosen, top) if top > best[1] else best

    def _plan(self, voice: Optional[VoiceProfile]) -> tuple[dict[str, str], dict[str, Timbre]]:
        """(voice per language, timbre per voice) of a profile, or of the default voice."""
        if voice is None:
            return {"en": self.english_voice, "zh": self.chinese_voice}, {}
        voice.require(self.name, self.version, self.reads_versions)
        try:
            data = json.loads(voice.payload.decode())
            voices = {"en": str(data["voices"]["en"]), "zh": str(data["voices"]["zh"])}
            for v in voices.values():
                describe(v)
            return voices, {v: Timbre.from_json(t) for v, t in data["timbres"].items()}
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError(*DAMAGED_PROFILE) from exc

    @staticmethod
    def _voice_of_runs(analysis: Analysis, voices: dict[str, str]) -> Callable[[Run], str]:
        """Which voice reads each run: with Chinese in the text and a Mandarin voice that also
        speaks English, that one voice reads everything (no timbre jump mid-sentence)."""
        has_zh = any(r.lang == "zh" for s in analysis.sentences for r in s.runs)
        if has_zh and "en" in describe(voices["zh"]).languages:
            return lambda run: voices["zh"]
        return lambda run: voices[run.lang]

    def speaker_embedding(self, samples: np.ndarray, rate: int) -> np.ndarray:
        return self._encoder.embed(samples, rate)

    # ------------------------------------------------------------------ speaking
    def _shape(self, pcm: np.ndarray, timbre: Timbre, target: ProsodyTarget, stretch: float, voice_id: str,
               lang: str = "en") -> np.ndarray:
        median = 0.0  # 0 keeps the run's own level
        # In Mandarin the pitch movement carries the tones, i.e. the words: a clone may widen it
        # but never narrow it (measured: narrowing raised the clones' CER from ~0.05 to ~0.17).
        timbre_range = max(1.0, timbre.f0_range) if lang == "zh" else timbre.f0_range
        if timbre.f0_median_hz or abs(target.f0_shift_st) > 1e-3:
            # A clone sets one level for every run; otherwise shift this run's own median.
            base = timbre.f0_median_hz or prosody.median_f0(pcm, SAMPLE_RATE) or self.neutral_for(voice_id).f0_median_hz
            median = base * 2 ** (target.f0_shift_st / 12)
        shaped = prosody.change_voice(
            pcm, SAMPLE_RATE,
            pitch_median_hz=median,
            pitch_range=timbre_range * target.f0_range,
            formant_ratio=timbre.formant_ratio,
            duration_factor=stretch / target.rate,
        )
        return spectrum.equalize(shaped, SAMPLE_RATE, timbre.eq_db) if timbre.eq_db else shaped

    def analyze(self, text: str) -> Analysis:
        """The front end's reading of ``text`` (what ``inspect`` shows)."""
        return analyze(text, max_chars=self.max_chars)

    def _emotion_target(self, emotion: Optional[EmotionSpec]) -> ProsodyTarget:
        if emotion is not None and emotion.reference is not None:
            clip = pipeline.take_clip(emotion.reference, rate=SAMPLE_RATE, for_emotion=True)
            ref = prosody.measure(clip.samples, SAMPLE_RATE)
            speaker = emotion.reference_speaker
            baseline = prosody.baseline_from_meta(speaker.meta) if speaker is not None else None
            return target_for(emotion, prosody.target_from_reference(ref, baseline))
        return target_for(emotion)

    def _raw_speech(self, analysis: Analysis, voice_of: Callable[[Run], str], target: ProsodyTarget,
                    progress: Optional[ProgressCallback]) -> list[list[tuple[np.ndarray, str, str]]]:
        """(speech, voice, language) per language run, sentence by sentence, empty runs left out."""
        sentences: list[list[tuple[np.ndarray, str, str]]] = []
        total = len(analysis.sentences)
        for i, sentence in enumerate(analysis.sentences):
            # clause breaks inside a run follow the emotion's pause factor, like sentence breaks
            # (× rate: the PSOLA stretch by 1/rate that follows applies to these pauses too)
            clause = target.pause * target.rate
            runs = [(prosody.scale_pauses(self._speak(run, voice_of(run)), SAMPLE_RATE, clause), voice_of(run), run.lang)
                    for run in sentence.runs]
            runs = [r for r in runs if len(r[0])]
            if runs:
                sentences.append(runs)
            if progress is not None:
                progress(i + 1, total)
        if not sentences:
            raise pipeline.nothing_to_say()
        return sentences

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
        voices, timbres = self._plan(voice)
        analysis = self.analyze(text)
        if any(r.lang == "zh" for s in analysis.sentences for r in s.runs):
            timbres = {v: t.for_mandarin() for v, t in timbres.items()}  # the whole message: one timbre
        voice_of = self._voice_of_runs(analysis, voices)
        first_run = analysis.sentences[0].runs[0]
        lead = voice_of(first_run)
        target = self._emotion_target(emotion)
        t_front = time.perf_counter()

        sentences = self._raw_speech(analysis, voice_of, target, progress)  # 1. raw speech per run
        t_voice = time.perf_counter()

        # 2. lengths: speech is stretched by 1/rate (and the duration request); pauses by pause × request
        speech = sum(len(r[0]) for runs in sentences for r in runs) / SAMPLE_RATE
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
            for ri, (pcm, v, lang) in enumerate(runs):
                if ri:
                    pieces.append(np.zeros(round(RUN_GAP_S * stretch * SAMPLE_RATE), np.float32))
                pieces.append(self._shape(pcm, timbres.get(v, Timbre()), target, stretch, v, lang))
        pieces.append(np.zeros(round(EDGE_S * stretch * SAMPLE_RATE), np.float32))
        # tilt relative to the voice's own reading of this text: the clone's timbre, then the emotion
        natural_tilt = prosody.spectral_tilt_db(np.concatenate([r[0] for runs in sentences for r in runs]), SAMPLE_RATE)
        tilt_goal = natural_tilt + timbres.get(lead, Timbre()).tilt_db + target.tilt_db
        t_shaped = time.perf_counter()
        out = pipeline.finish(np.concatenate(pieces), SAMPLE_RATE, energy_db=target.energy_db, tilt_goal_db=tilt_goal,
                              length=target_len)
        return pipeline.result(out, SAMPLE_RATE, natural, analysis, engine=self.name, version=self.version,
                               stages={"start": t0, "frontend": t_front, "voices": t_voice, "shaping": t_shaped,
                                       "finish": time.perf_counter()})

    def close(self) -> None:
        self.bank.clear()
