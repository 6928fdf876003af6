"""The synthesis work the bot hands to a worker, as plain data, and the code that does it.

Two kinds of job: :class:`RenderTask` (text → one voice note) and :class:`CloneTask` (a consent
recording → a voice profile and, for spoken consent, what Whisper heard).  Both are pure data, so
the same job runs in a thread of the bot process (the in-process queue) or in ``python -m
bot.worker`` on another machine (the Redis queue): :class:`Runtime` is the one place that runs
them.  :func:`pack` / :func:`unpack` turn jobs, results and errors into MessagePack bytes — data
only, never pickle, so a shared Redis cannot make a worker run code.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields
from typing import Any, Callable, Optional, Sequence, TypeVar, Union

import msgpack
import numpy as np

from indextts_core import watermark
from indextts_core.audio import check_reference, encode_ogg_opus, ogg_opus_info, read_audio
from indextts_core.engine import DurationSpec, EmotionSpec, Engine, VoiceProfile
from indextts_core.errors import IndexTTSError
from indextts_core.speaker import SpeakerEncoder, similarity

from .asr import Transcriber
from .consent import ConsentCheck, check_recording
from .waveform import waveform
from ..storage import NoteMark
from .errors import BotError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderTask:
    """Say ``text`` in the voice ``profile`` (serialised; None: the engine's default voice)."""

    text: str
    profile: Optional[bytes] = None
    emotion: Optional[EmotionSpec] = None
    duration: Optional[DurationSpec] = None
    #: what the watermark carries: the note's id under one of the deployment's keys (its audit row)
    mark: Optional[NoteMark] = None
    #: also return the speaker embedding of the note (a preview: the voice as the bot renders it)
    embed_speaker: bool = False
    #: which engine speaks it (by name; None: the runtime's first)
    engine: Optional[str] = None


@dataclass(frozen=True)
class CloneTask:
    """Check a /clone recording (``audio``, in memory only) or make a voice from it.

    Without ``engine``: the checks only, no profile — is it the bot's own speech (its watermark,
    its default voice), its speaker embedding, and with ``method`` "spoken" the transcript checked
    against the consent sentence and its ``code``.  With ``engine``: that engine's profile of a
    recording the bot has accepted (the profile is computed only after consent passed)."""

    audio: bytes
    method: str
    code: str
    language: str
    engine: Optional[str] = None


@dataclass(frozen=True)
class VerifyTask:
    """Look for this deployment's watermark in ``audio`` (a clip someone asked /verify about): a
    job like the others, so the bot process does no DSP and the fair queue bounds who asks how much."""

    audio: bytes


@dataclass(frozen=True)
class Verified:
    """What /verify found: the mark of one of the deployment's keys, and the note id when its MAC
    checked under that key."""

    marked: bool
    key: Optional[str] = None  # the fingerprint of the key
    payload: Optional[int] = None


@dataclass(frozen=True)
class Rendered:
    ogg: bytes
    duration: float
    waveform: bytes
    embedding: Optional[bytes] = None  # float32 speaker embedding, when asked for
    compute_seconds: float = 0.0  # synthesis, watermark and encoding (metering; the rest was queue wait)
    engine: str = ""  # the engine that spoke it


@dataclass(frozen=True)
class Cloned:
    #: the profile a profile job made (empty for the checks)
    profiles: tuple[VoiceProfile, ...]
    check: Optional[ConsentCheck]
    embedding: Optional[bytes] = None  # float32 speaker embedding of the recording
    #: the recording is the bot's own speech: it carries a watermark of this deployment, or its
    #: voice is one of the engine's default voices (the bot decides what follows: a lockout)
    synthetic: bool = False

    @property
    def profile(self) -> VoiceProfile:
        return self.profiles[0]


#: A recording whose speaker embedding is at least this close (Resemblyzer cosine) to a user's
#: voice as the bot renders it (the embedding of their clone's preview) is refused as a copy of it.
#: bench/laundering.py measures both sides: re-recorded and joined notes of a clone against its
#: preview (0.82–0.88: 0.86 let a quarter through), distinct speakers against the previews.
RENDERED_VOICE_MATCH = 0.80
#: The same for the engine's own default voices.  Kept higher: people whose voices happen to be
#: near a bank voice must still be able to clone (its laundering is also caught by the mark and
#: by the consent sentence, which only a live reader can say with a fresh code).
DEFAULT_VOICE_MATCH = 0.86
_DEFAULT_VOICE_TEXTS = {"en": "Hello! This is the default voice of the bot. How are you today?",
                        "zh": "你好！这是机器人的默认声音。你今天好吗？"}


def embedding_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def embedding_vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4")


Task = Union[RenderTask, CloneTask, VerifyTask]


class JobFailed(BotError):
    """A job failed in a worker; carries the worker's message for the user, and whether it was a
    fault of the worker (an engine down) rather than a refusal of the request."""

    def __init__(self, en: str, zh: Optional[str] = None, fault: bool = False) -> None:
        super().__init__(en, zh)
        self.fault = fault


_E = TypeVar("_E", bound=BaseException)


def spent(exc: _E, seconds: float) -> _E:
    """``exc``, marked with the seconds of compute its job used before failing (metering)."""
    try:
        exc.__dict__["compute_seconds"] = seconds
    except AttributeError:  # an exception type without a __dict__: the cost is unknown
        pass
    return exc


def compute_spent(exc: BaseException) -> float:
    """Seconds of compute a failed job used (0 when unknown)."""
    value = getattr(exc, "compute_seconds", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def is_fault(exc: BaseException) -> bool:
    """A failure of the engine or worker, not a refusal of what the user asked."""
    if isinstance(exc, JobFailed):
        return exc.fault
    return isinstance(exc, Exception) and not isinstance(exc, IndexTTSError)


class Runtime:
    """Runs tasks with one or more engines (the first is the primary) and, for spoken consent, a
    transcriber.  Blocking."""

    def __init__(self, engines: Union[Engine, Sequence[Engine]], transcriber: Optional[Transcriber] = None,
                 on_synthesized: Optional[Callable[[str, float, float], None]] = None,
                 watermark_strength: float = 1.0) -> None:
        listed = [engines] if isinstance(engines, Engine) else list(engines)
        if not listed:
            raise ValueError("a runtime needs an engine")
        self.engines: dict[str, Engine] = {e.name: e for e in listed}
        self.transcriber = transcriber
        #: told (engine, seconds of synthesis, seconds of speech) after every voice note (metrics)
        self.on_synthesized = on_synthesized
        self.watermark_strength = watermark_strength  # config bot.watermark_strength
        #: the deployment's watermark keys, newest first (set by whoever loads them: the bot from
        #: its database or environment, a worker from its environment); no key, no note
        self.watermark_keys: tuple[watermark.WatermarkKey, ...] = ()
        self.speakers = SpeakerEncoder()
        self._default_voices: Optional[list[np.ndarray]] = None

    @property
    def engine(self) -> Engine:
        """The primary engine (the first configured)."""
        return next(iter(self.engines.values()))

    # the command layer's view of the engines (:class:`~bot.core.commands.base.EngineIdentity`)
    @property
    def name(self) -> str:
        return self.engine.name

    @property
    def version(self) -> str:
        return self.engine.version

    @property
    def available(self) -> dict[str, frozenset[str]]:
        """Every engine here → the profile versions it reads."""
        return {name: frozenset({e.version, *e.reads_versions}) for name, e in self.engines.items()}

    def _engine(self, name: Optional[str]) -> Engine:
        """The engine called ``name`` (None: the primary).  The bot routes only to engines that
        run here, so an unknown name is a fault, not the user's mistake."""
        engine = self.engine if name is None else self.engines.get(name)
        if engine is None:
            raise RuntimeError(f"engine {name!r} does not run here")
        return engine

    def run(self, task: Task) -> Union[Rendered, Cloned, Verified]:
        if isinstance(task, RenderTask):
            return self.render(task)
        if isinstance(task, VerifyTask):
            return self.verify(task)
        return self.clone(task)

    def verify(self, task: VerifyTask) -> Verified:
        """/verify's detection: only what the detector reads is decoded."""
        audio = read_audio(task.audio, max_seconds=watermark.MAX_DETECT_SECONDS, cut=True)
        found = self._detect(audio.samples, audio.sample_rate)
        return Verified(found.marked, found.key, found.payload)

    def render(self, task: RenderTask) -> Rendered:
        begun = time.perf_counter()
        engine = self._engine(task.engine)
        profile = VoiceProfile.from_bytes(task.profile) if task.profile is not None else None
        started = time.perf_counter()
        result = engine.synthesize(task.text, voice=profile, emotion=task.emotion, duration=task.duration)
        if self.on_synthesized is not None:
            self.on_synthesized(engine.name, time.perf_counter() - started, result.duration)
        samples = result.samples
        if task.mark is not None:  # every note the bot sends carries the id of its audit row
            samples = watermark.embed(samples, result.sample_rate, task.mark.id, self._key(task.mark.key),
                                      self.watermark_strength)
        ogg = encode_ogg_opus(samples, result.sample_rate, tags={
            "description": "synthetic speech", "software": f"indextts-voicebot {result.engine} {result.version}"})
        embedding = embedding_bytes(self.speakers.embed(samples, result.sample_rate)) if task.embed_speaker else None
        return Rendered(ogg, ogg_opus_info(ogg).duration, waveform(samples), embedding, time.perf_counter() - begun,
                        engine.name)

    def default_voice_embeddings(self) -> list[np.ndarray]:
        """Speaker embeddings of the engine's own default voices (English and Chinese), once."""
        if self._default_voices is None:
            voices = []
            for text in _DEFAULT_VOICE_TEXTS.values():
                r = self.engine.synthesize(text)
                voices.append(self.speakers.embed(r.samples, r.sample_rate))
            self._default_voices = voices
        return self._default_voices

    def _key(self, fingerprint: str) -> watermark.WatermarkKey:
        """The watermark key a note id was taken under (a fault when this process lacks it)."""
        for key in self.watermark_keys:
            if key.fingerprint == fingerprint:
                return key
        raise RuntimeError(f"watermark key {fingerprint} is not among this process's keys (VOICEBOT_WATERMARK_KEYS)")

    def is_synthetic(self, samples: np.ndarray, rate: int) -> bool:
        """Does a recording carry a watermark of this deployment (any of its keys)?"""
        return self._detect(samples, rate).marked

    def _detect(self, samples: np.ndarray, rate: int) -> watermark.Detection:
        """The deployment's marks in a clip, under every key it holds (a fault when none was loaded)."""
        if not self.watermark_keys:
            raise RuntimeError("the watermark keys were not loaded")
        return watermark.detect(samples, rate, self.watermark_keys)

    def clone(self, task: CloneTask) -> Cloned:
        """The checks of a /clone recording, or (``task.engine``) one engine's profile of it.

        The checks say whether the bot made it itself (its watermark, or the voice of one of its
        default voices, :data:`DEFAULT_VOICE_MATCH`), and give its speaker embedding (the caller
        compares it with the users' rendered voices, which it stores) and the consent transcript.
        A recording the bot made is not transcribed: nothing it says can count.
        """
        audio = read_audio(task.audio)
        if task.engine is not None:  # the bot accepted the recording: now the profile
            return Cloned((self._engine(task.engine).create_voice(audio),), None)
        check_reference(audio)  # as every engine checks a clip: its refusal (no speech, noise) is the user's answer
        embedding = self.speakers.embed(audio.samples, audio.sample_rate)
        synthetic = self.is_synthetic(audio.samples, audio.sample_rate) or any(
            similarity(embedding, v) >= DEFAULT_VOICE_MATCH for v in self.default_voice_embeddings())
        check = None
        if task.method == "spoken" and not synthetic:
            if self.transcriber is None:
                raise RuntimeError("spoken consent without a transcriber")
            check = check_recording(self.transcriber, task.code, audio.samples, audio.sample_rate, task.language)
        return Cloned((), check, embedding_bytes(embedding), synthetic)


# --- the wire format -----------------------------------------------------------------------------

_KINDS: dict[str, type[Union[CloneTask, Rendered, VerifyTask, Verified]]] = {
    "clone": CloneTask, "rendered": Rendered, "verify": VerifyTask, "verified": Verified}


def _emotion_to_wire(e: Optional[EmotionSpec]) -> Optional[dict[str, Any]]:
    if e is None:
        return None
    if e.reference is not None and not isinstance(e.reference, bytes):
        raise TypeError("only an emotion clip given as bytes can travel to a worker")
    return {"preset": e.preset, "intensity": e.intensity, "vector": list(e.vector) if e.vector is not None else None,
            "reference": e.reference, "description": e.description, "alpha": e.alpha,
            "reference_speaker": e.reference_speaker.to_bytes() if e.reference_speaker is not None else None}


def _data(value: Any, what: str, optional: bool = False) -> Any:
    """Audio and profiles travel as bytes only: a string would be read as a path on the worker's
    disk (a job from anyone who can write to the queue must not make a worker open files)."""
    if value is None and optional:
        return None
    if not isinstance(value, bytes):
        raise ValueError(f"{what} must be bytes, not {type(value).__name__}")
    return value


def _emotion_from_wire(d: Optional[dict[str, Any]]) -> Optional[EmotionSpec]:
    if d is None:
        return None
    _data(d.get("reference"), "the emotion clip", optional=True)
    speaker = d.pop("reference_speaker")
    vector = d.pop("vector")
    return EmotionSpec(**d, vector=tuple(vector) if vector is not None else None,
                       reference_speaker=VoiceProfile.from_bytes(speaker) if speaker is not None else None)


def pack(obj: Union[Task, Rendered, Cloned, Verified, BaseException]) -> bytes:
    """Jobs, results and errors as MessagePack bytes."""
    d: dict[str, Any]
    if isinstance(obj, RenderTask):
        d = {"kind": "render", "text": obj.text, "profile": obj.profile, "emotion": _emotion_to_wire(obj.emotion),
             "duration": [obj.duration.ratio, obj.duration.seconds] if obj.duration is not None else None,
             "mark": [obj.mark.key, obj.mark.id] if obj.mark is not None else None, "embed_speaker": obj.embed_speaker, "engine": obj.engine}
    elif isinstance(obj, (CloneTask, VerifyTask, Verified)):
        kind = {CloneTask: "clone", VerifyTask: "verify", Verified: "verified"}[type(obj)]
        d = {"kind": kind, **{f.name: getattr(obj, f.name) for f in fields(obj)}}
    elif isinstance(obj, Rendered):
        d = {"kind": "rendered", "ogg": obj.ogg, "duration": obj.duration, "waveform": obj.waveform,
             "embedding": obj.embedding, "compute_seconds": obj.compute_seconds, "engine": obj.engine}
    elif isinstance(obj, Cloned):
        check = obj.check
        d = {"kind": "cloned", "profiles": [p.to_bytes() for p in obj.profiles],
             "check": [check.accepted, check.score, check.code_heard, check.transcript] if check is not None else None,
             "embedding": obj.embedding, "synthetic": obj.synthetic}
    elif isinstance(obj, BaseException):
        # What the user is told: the error's own bilingual message when it has one (bad clip,
        # bad emotion, ...); anything else was a fault and is logged where it happened.
        if isinstance(obj, IndexTTSError):
            d = {"kind": "error", "en": obj.message("en"), "zh": obj.message("zh"), "fault": False}
        else:
            d = {"kind": "error", "en": "Making that voice note failed. Please try again in a moment.",
                 "zh": "生成语音失败。请稍后再试。", "fault": True}
        d["compute_seconds"] = compute_spent(obj)
    else:
        raise TypeError(f"cannot pack {type(obj).__name__}")
    packed: bytes = msgpack.packb(d, use_bin_type=True)
    return packed


def unpack(data: bytes) -> Union[Task, Rendered, Cloned, Verified, JobFailed]:
    """The inverse of :func:`pack`; an error comes back as a :class:`JobFailed` (not raised)."""
    d = msgpack.unpackb(data, raw=False)
    kind = d.pop("kind")
    if kind == "render":
        duration = d.pop("duration")
        mark = d.get("mark")
        if mark is not None:
            if not (isinstance(mark, list) and len(mark) == 2 and isinstance(mark[0], str) and isinstance(mark[1], int)
                    and 0 <= mark[1] < 1 << watermark.PAYLOAD_BITS):
                raise ValueError("bad watermark payload")
            mark = NoteMark(mark[0], mark[1])
        if not isinstance(d["text"], str):
            raise ValueError("the text must be a string")
        engine = d.get("engine")
        if engine is not None and not isinstance(engine, str):
            raise ValueError("the engine must be a name")
        return RenderTask(d["text"], _data(d["profile"], "the profile", optional=True), _emotion_from_wire(d["emotion"]),
                          DurationSpec(*duration) if duration is not None else None, mark, bool(d.get("embed_speaker")),
                          engine)
    if kind == "cloned":
        check = d["check"]
        profiles = tuple(VoiceProfile.from_bytes(_data(p, "a profile")) for p in d["profiles"])
        return Cloned(profiles, ConsentCheck(*check) if check is not None else None, d.get("embedding"),
                      bool(d.get("synthetic")))
    if kind == "error":
        seconds = d.get("compute_seconds", 0.0)
        return spent(JobFailed(d["en"], d["zh"], bool(d.get("fault"))),
                     float(seconds) if isinstance(seconds, (int, float)) and 0 <= seconds < 86400 else 0.0)
    if kind not in _KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    if kind in ("clone", "verify"):
        _data(d.get("audio"), "the recording")
        if not isinstance(d.get("engine", None), (str, type(None))):
            raise ValueError("the engine must be a name")
    if kind == "rendered":
        _data(d.get("ogg"), "the voice note")
    if kind == "verified":
        key, payload = d.get("key"), d.get("payload")
        if not (isinstance(d.get("marked"), bool) and isinstance(key, (str, type(None)))
                and (payload is None or isinstance(payload, int) and 0 <= payload < 1 << watermark.PAYLOAD_BITS)):
            raise ValueError("a malformed /verify result")
    return _KINDS[kind](**d)


def unpack_task(data: bytes) -> Task:
    """A job for a worker: :func:`unpack`, refusing anything that is not a job (a result or an
    error placed in the job queue is malformed, not something to run)."""
    task = unpack(data)
    if not isinstance(task, (RenderTask, CloneTask, VerifyTask)):
        raise ValueError(f"a job must be a render, a clone or a verify, not {type(task).__name__}")
    return task
