"""The real engine: IndexTTS-2.5 over the official weights, through ``index-tts-2.5-onnx``.

The package runs the released checkpoints (exported to ONNX, fp32) on ONNX Runtime, CPU or CUDA,
without torch.  What each part of our interface maps to:

* ``create_voice``: the package's ``build_speaker`` (w2v-BERT semantic features, CAM++ speaker
  style, the emotion encoder, the reference mel) reads the checked clip from memory; the
  resulting conditioning arrays are the profile (compressed numpy), never the recording.
* emotion from a **reference clip**: the model's own emotion encoder reads clip B and its
  emotion vector replaces the speaker's own by ``alpha`` (voice A, emotion of B), as IndexTTS-2's
  ``emo_alpha`` does.  No prosody shaping on top.
* **presets, 8-vectors and text descriptions**: this implementation has no emotion-vector input
  (upstream removed it from the export), so our prosody shaping acts on the model's speech:
  speaking rate through the model's own speed factor, pitch level and range by PSOLA, loudness
  and spectral tilt after, clause pauses scaled.  Descriptions go through our offline
  text→vector mapping first.
* **duration**: a ratio goes to the model's speed factor first; the exact length (and targets
  in seconds) comes from our post-stretch, within one sample.
* **pinyin**: user annotations, and context readings that differ from a character's default,
  are passed in the model's own form ``<行|XING2>``.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import threading
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import numpy as np
import soundfile as sf

from .. import emotion_text, pipeline, prosody
from ..audio import trim_silence
from ..emotion import ProsodyTarget, target_for
from ..engine import (
    DAMAGED_PROFILE, AudioSource, DurationSpec, EmotionSpec, ProgressCallback, SynthesisResult, VoiceProfile,
)
from ..errors import EngineConfigError, EngineUnavailableError, ProfileError
from ..frontend import Sentence, analyze
from ..frontend.pinyin import resolve_chars
from ..frontend.segment import Run
from ..options import option_bool, option_choice, option_int
from ..pipeline import CALIBRATION_TEXT, EDGE_S, MAX_TEXT_CHARS, SENTENCE_PAUSE_S
from .bank import DEFAULT_ENGLISH

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050
PACKAGE = "index_tts_2_5_onnx"
DISTRIBUTION = "index-tts-2.5-onnx"
INSTALL_HINT = "pip install '.[indextts]'"
#: The released ONNX export is about this big (what a first start downloads).
DOWNLOAD_GB = 7
#: Conditioning arrays a profile keeps (the w2v-BERT features are only needed to make them).
PROFILE_ARRAYS = ("emovec", "style", "conds", "prompt_condition", "ref_mel")
DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")


@lru_cache(maxsize=4096)
def _default_reading(char: str) -> str:
    """A character's reading out of context (what the model would most likely say)."""
    return resolve_chars(char)[0]


def model_text(sentence: Sentence) -> tuple[str, str]:
    """(text, lang) of one sentence in IndexTTS-2.5's input form.

    Chinese characters whose reading the user gave, or whose reading in context differs from
    the character's default (银行 → HANG2), carry it as ``<行|HANG2>``; a bare syllable the user
    typed goes in as ``DI1``.  Sentences with any Chinese are read with the Chinese language tag
    (the model reads English words inside them).
    """
    parts: list[str] = []
    for run in sentence.runs:
        parts.append(_run_text(run))
    lang = "zh" if any(r.lang == "zh" for r in sentence.runs) else "en"
    return " ".join(p for p in parts if p).strip(), lang


def _run_text(run: Run) -> str:
    if run.lang != "zh":
        return run.text
    out: list[str] = []
    for syl in run.syllables:
        if not syl.char:  # a syllable typed without a character
            out.append(f" {syl.pinyin.upper()} ")
        elif syl.pinyin and (syl.source == "user" or syl.pinyin != _default_reading(syl.char)):
            out.append(f"<{syl.char}|{syl.pinyin.upper()}>")
        else:
            out.append(syl.char)
    return re.sub(r"\s+", " ", "".join(out)).strip()


class IndexTTSEngine:
    """IndexTTS-2.5 (ONNX Runtime).  Blocking methods; one synthesis at a time per device."""

    name = "indextts"
    sample_rate = SAMPLE_RATE
    #: The job queue runs one worker per device: a second would only wait for the first.
    max_workers: Optional[int] = 1

    def __init__(self, config: Optional[dict[str, Any]] = None) -> None:
        cfg = dict(config or {})
        self.implementation = option_choice(cfg, "implementation", "onnx", ("onnx",))
        model_dir = cfg.pop("model_dir", None)
        if model_dir is not None and not (isinstance(model_dir, str) and model_dir.strip()):
            raise EngineConfigError(f"engine.model_dir must be a folder path in quotes (got {model_dir!r})")
        self.model_dir: Optional[Path] = Path(model_dir).expanduser() if model_dir else None
        device = cfg.pop("device", "auto")
        if not (isinstance(device, str) and DEVICE_RE.match(device)):
            raise EngineConfigError(f"engine.device must be 'auto', 'cpu', 'cuda' or 'cuda:N' (got {device!r})")
        self.device = device
        if option_bool(cfg, "fp16", False):
            raise EngineConfigError("engine.fp16: the ONNX implementation of IndexTTS-2.5 runs in fp32 only; "
                                    "remove the option or set it to false")
        self.threads = option_int(cfg, "threads", min(4, os.cpu_count() or 1), 1, 256)
        self.steps = option_int(cfg, "diffusion_steps", 25, 4, 100)
        self.max_chars = option_int(cfg, "max_chars", MAX_TEXT_CHARS, 10, 100_000)
        seed = cfg.pop("seed", None)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise EngineConfigError(f"engine.seed must be a whole number of 0 or more (got {seed!r})")
        self.seed: Optional[int] = seed
        default_voice = cfg.pop("default_voice", None)
        if default_voice is not None and not isinstance(default_voice, str):
            raise EngineConfigError(f"engine.default_voice must be an audio file path in quotes (got {default_voice!r})")
        self.default_voice = default_voice
        if cfg:
            raise EngineConfigError(f"Unknown option(s) for the indextts engine: {', '.join(sorted(cfg))}")
        try:
            import index_tts_2_5_onnx
        except ImportError as exc:
            raise EngineUnavailableError(
                f"The indextts engine needs the {DISTRIBUTION} package ({exc}); install it with {INSTALL_HINT}.") from exc
        self.package_version = str(getattr(index_tts_2_5_onnx, "__version__", "?"))
        self._pipe: Any = None
        self._version = ""
        self._default: Any = None
        self._lock = threading.RLock()
        self._rng = np.random.default_rng()

    # ------------------------------------------------------------------ loading
    @property
    def version(self) -> str:
        """Implementation, package version and a fingerprint of the weights (loads the model):
        a profile made with other weights or another package version must be recorded again."""
        self._load()
        return self._version

    @property
    def reads_versions(self) -> frozenset[str]:
        """Only its own: the conditioning arrays belong to these weights and this package."""
        return frozenset({self.version})

    def _resolve_model_dir(self) -> Path:
        if self.model_dir is not None:
            return self.model_dir
        from index_tts_2_5_onnx.download import REPO_ID, ensure_model

        log.warning("engine.model_dir is not set: downloading the IndexTTS-2.5 ONNX weights (about %d GB) from "
                    "Hugging Face (%s) into its cache; this happens once", DOWNLOAD_GB, REPO_ID)
        try:
            return Path(ensure_model(REPO_ID))
        except Exception as exc:  # network, disk, authentication: all end here with one line
            raise EngineUnavailableError(
                f"Could not download the IndexTTS-2.5 weights from Hugging Face ({type(exc).__name__}: {exc}). "
                "Check the network, or download them elsewhere and set [engine] model_dir to that folder.") from exc

    def _providers(self) -> list[Any]:
        import onnxruntime as ort

        available = ort.get_available_providers()
        device = self.device
        if device == "auto":
            device = "cuda" if "CUDAExecutionProvider" in available else "cpu"
        if device == "cpu":
            return ["CPUExecutionProvider"]
        if "CUDAExecutionProvider" not in available:
            raise EngineUnavailableError(
                f"engine.device = {self.device!r}, but this onnxruntime has no CUDA support "
                f"(providers: {', '.join(available)}); install onnxruntime-gpu or set device = 'cpu'.")
        index = int(device.partition(":")[2] or 0)
        return [("CUDAExecutionProvider", {"device_id": index}), "CPUExecutionProvider"]

    def _engines(self, model_dir: Path) -> SimpleNamespace:
        """The package's model wrappers over sessions of ours (ours: so ``cuda:N`` picks a GPU)."""
        import onnxruntime as ort
        from index_tts_2_5_onnx import engine as pkg

        providers = self._providers()

        def session(rel: str) -> Any:
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.log_severity_level = 3
            return ort.InferenceSession(str(model_dir / rel), sess_options=options, providers=providers)

        return SimpleNamespace(
            semantic_model=pkg.SemanticModel(session("semantic_model/semantic_model.onnx")),
            emo_vec=pkg.EmoVec(session("emo_vec.onnx")),
            campplus=pkg.CampPlus(session("campplus.onnx")),
            length_regulator=pkg.LengthRegulator(session("length_regulator.onnx")),
            codec_decode=pkg.CodecDecode(session("semantic_codec_decode.onnx")),
            bigvgan=pkg.BigVGAN(session("bigvgan.onnx")),
            gpt=pkg.Gpt(session("gpt_prefill/gpt_prefill.onnx"), session("gpt_step/gpt_step.onnx")),
            cfm=pkg.CfmEstimator(session("cfm_estimator/cfm_estimator.onnx")),
        )

    def _load(self) -> Any:
        """Load the model once (download first when no model_dir is set); one clear error otherwise."""
        if self._pipe is not None:
            return self._pipe
        with self._lock:
            if self._pipe is not None:
                return self._pipe
            from index_tts_2_5_onnx.core import IndexTTS2Core
            from index_tts_2_5_onnx.download import ALLOW_PATTERNS

            model_dir = self._resolve_model_dir()
            missing = [f for f in ALLOW_PATTERNS if not (model_dir / f).is_file()]
            if missing:
                torch_checkpoints = any(model_dir.glob("*.pth")) or any(model_dir.glob("*.safetensors"))
                raise EngineUnavailableError(
                    f"The IndexTTS-2.5 folder {model_dir} lacks {len(missing)} of the files the model needs "
                    f"({', '.join(missing[:4])}{', …' if len(missing) > 4 else ''}). "
                    + ("It holds PyTorch checkpoints; this engine runs their ONNX export. " if torch_checkpoints else "")
                    + "Point [engine] model_dir at a complete ONNX export, or leave it unset to download one.")
            started = time.perf_counter()
            log.info("loading model: IndexTTS-2.5 (%s %s) from %s on %s", DISTRIBUTION, self.package_version,
                     model_dir, self.device)
            try:
                pipe = IndexTTS2Core(self._engines(model_dir), str(model_dir), str(model_dir / "spk_proj.npz"),
                                     use_normalization=False)  # our front end has normalised the text already
            except EngineUnavailableError:
                raise
            except Exception as exc:  # a damaged or mismatched export
                raise EngineUnavailableError(
                    f"Could not load IndexTTS-2.5 from {model_dir} ({type(exc).__name__}: {exc}).") from exc
            fingerprint = hashlib.sha256((model_dir / "spk_proj.npz").read_bytes()).hexdigest()[:10]
            self._version = f"2.5-{self.implementation}/{self.package_version}/{fingerprint}"
            self._pipe = pipe
            log.info("model loaded in %.1f s", time.perf_counter() - started)
            return pipe

    def warm_up(self, speaker_encoder: bool = True) -> None:
        """Load the model and the default voice now; with ``speaker_encoder`` also the description model."""
        self._load()
        self._default_context()
        if speaker_encoder:
            emotion_text.warm_up()

    # ------------------------------------------------------------------ voices
    def _context_from(self, samples: np.ndarray, rate: int) -> Any:
        """The package's speaker conditioning of a clip, read from memory (never a file)."""
        buf = io.BytesIO()
        sf.write(buf, samples.astype(np.float32), rate, format="WAV", subtype="FLOAT")
        buf.seek(0)
        pipe = self._load()
        with self._lock:
            ctx = pipe.build_speaker(buf)
            pipe._speaker = pipe._speaker_path = None  # the package caches the last clip; keep no audio around
        return ctx

    def _default_context(self) -> Any:
        """The voice for users without a profile: ``default_voice`` if set, else the offline
        engine's default English voice reading a calibration sentence."""
        if self._default is None:
            if self.default_voice:
                clip = pipeline.take_clip(self.default_voice, trim=True)
                samples, rate = clip.samples, clip.sample_rate
            else:
                from .bank import VoiceBank

                speaker = VoiceBank().speaker(DEFAULT_ENGLISH)
                samples, rate = speaker.synthesize_run(Run("en", CALIBRATION_TEXT)), speaker.sample_rate
            self._default = self._context_from(samples, rate)
        return self._default

    def create_voice(self, reference: AudioSource) -> VoiceProfile:
        """Check the clip like the default engine does, then store the model's conditioning."""
        clip = pipeline.take_clip(reference, trim=True)
        ctx = self._context_from(clip.samples, clip.sample_rate)
        buf = io.BytesIO()
        arrays: dict[str, Any] = {k: np.asarray(getattr(ctx, k), np.float32) for k in PROFILE_ARRAYS}
        np.savez_compressed(buf, **arrays)
        stats = prosody.measure(clip.samples, clip.sample_rate)
        meta = pipeline.profile_meta(clip, stats, model=f"IndexTTS-2.5 ({DISTRIBUTION} {self.package_version})")
        return VoiceProfile(self.name, self.version, buf.getvalue(), meta)

    def _context(self, voice: Optional[VoiceProfile]) -> Any:
        if voice is None:
            return self._default_context()
        voice.require(self.name, self.version, self.reads_versions)
        from index_tts_2_5_onnx import SpeakerContext

        try:
            with np.load(io.BytesIO(voice.payload), allow_pickle=False) as data:
                arrays = {k: data[k].astype(np.float32) for k in PROFILE_ARRAYS}
        except (ValueError, KeyError, OSError, EOFError) as exc:
            raise ProfileError(*DAMAGED_PROFILE) from exc
        return SpeakerContext(spk_cond_emb=np.zeros((1, 0, 1024), np.float32), **arrays)

    def _with_emotion_of(self, ctx: Any, emotion: EmotionSpec) -> Any:
        """Voice of ``ctx`` with the emotion of the reference clip, by ``alpha`` (IndexTTS's emo_alpha)."""
        assert emotion.reference is not None
        clip = pipeline.take_clip(emotion.reference, for_emotion=True, trim=True)
        other = self._context_from(clip.samples, clip.sample_rate)
        conds = ctx.conds.copy()
        conds[:, 0, :] += emotion.alpha * (other.emovec[0] - ctx.emovec[0])
        return replace(ctx, conds=conds, emovec=ctx.emovec + emotion.alpha * (other.emovec - ctx.emovec))

    # ------------------------------------------------------------------ speaking
    def synthesize(
        self,
        text: str,
        voice: Optional[VoiceProfile] = None,
        emotion: Optional[EmotionSpec] = None,
        duration: Optional[DurationSpec] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> SynthesisResult:
        """Speak ``text`` sentence by sentence; exact ``duration`` within one sample."""
        t0 = time.perf_counter()
        pipe = self._load()
        ctx = self._context(voice)
        analysis = analyze(text, max_chars=self.max_chars)
        from_clip = emotion is not None and emotion.reference is not None
        if emotion is not None and from_clip:
            ctx = self._with_emotion_of(ctx, emotion)
        target = ProsodyTarget() if from_clip else target_for(emotion)
        ratio = duration.ratio if duration is not None and duration.ratio is not None else 1.0
        speed = ratio / target.rate  # the model's own speed factor does the rate (and a duration ratio)
        t_front = time.perf_counter()

        sentences: list[np.ndarray] = []
        for i, sentence in enumerate(analysis.sentences):
            words, lang = model_text(sentence)
            with self._lock:
                pcm = pipe.synthesize(words, lang=lang, spk=ctx, duration_factor=speed, n_timesteps=self.steps,
                                      interval_silence=0, seed=self._next_seed())
            pcm = trim_silence(pcm.astype(np.float32) / 32768.0, SAMPLE_RATE)
            if len(pcm):
                sentences.append(prosody.scale_pauses(pcm, SAMPLE_RATE, target.pause))
            if progress is not None:
                progress(i + 1, len(analysis.sentences))
        if not sentences:
            raise pipeline.nothing_to_say()
        t_model = time.perf_counter()

        pause = np.zeros(round(SENTENCE_PAUSE_S * target.pause * ratio * SAMPLE_RATE), np.float32)
        edge = np.zeros(round(EDGE_S * ratio * SAMPLE_RATE), np.float32)
        speech = np.concatenate([edge] + [x for s in sentences for x in (s, pause)][:-1] + [edge])
        natural = len(speech) / SAMPLE_RATE / ratio
        goal_s = duration.target_seconds(natural) if duration is not None else natural
        stretch = goal_s / (len(speech) / SAMPLE_RATE)
        natural_tilt = prosody.spectral_tilt_db(speech, SAMPLE_RATE)
        if abs(target.f0_shift_st) > 1e-3 or abs(target.f0_range - 1) > 1e-3 or abs(stretch - 1) > 1e-3:
            median = prosody.median_f0(speech, SAMPLE_RATE)
            speech = prosody.change_voice(
                speech, SAMPLE_RATE,
                pitch_median_hz=median * 2 ** (target.f0_shift_st / 12) if median else 0.0,
                pitch_range=target.f0_range, duration_factor=stretch)
        out = pipeline.finish(speech, SAMPLE_RATE, energy_db=target.energy_db, tilt_goal_db=natural_tilt + target.tilt_db,
                              length=round(goal_s * SAMPLE_RATE))
        return pipeline.result(out, SAMPLE_RATE, natural, analysis, engine=self.name, version=self._version,
                               stages={"start": t0, "frontend": t_front, "model": t_model, "shaping": time.perf_counter()})

    def _next_seed(self) -> int:
        """``seed`` when configured (the same request then gives the same audio), else a fresh one."""
        return self.seed if self.seed is not None else int(self._rng.integers(0, 2**31 - 1))

    def close(self) -> None:
        with self._lock:
            self._pipe = None
            self._default = None
