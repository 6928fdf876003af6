"""Composition root: database, engine, job queue and the command layer, opened and closed together."""

from __future__ import annotations

import asyncio
import logging
import shutil
import threading
import time
from dataclasses import fields
from typing import Any, Callable, Optional, Sequence, TypeVar, Union

from indextts_core import Engine
from indextts_core.watermark import WatermarkKey

from .assembly import load_clone_models, load_runtime
from .config import Config, ConfigError
from .core.allowance import Budgets
from .core.commands import CommandLayer, EngineIdentity, Settings
from .core.commands.base import GuestRules, InlineRules
from .core.jobs import JobQueue, Jobs
from .core.rollout import Rollout
from .core.tasks import Runtime
from .metrics import Metrics, MetricsServer
from .storage import Store, connect

log = logging.getLogger(__name__)


_T = TypeVar("_T")


async def in_daemon_thread(fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """``fn`` in a daemon thread: a stop never waits for a model that is still loading (torch and
    Whisper take a minute), and an abandoned load is simply dropped at exit."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def settle(value: Any, error: Optional[BaseException]) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(value)

    def work() -> None:
        value: Any = None
        error: Optional[BaseException] = None
        try:
            value = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the awaiting task, as asyncio.to_thread does
            error = exc
        try:
            loop.call_soon_threadsafe(settle, value, error)
        except RuntimeError:  # the loop has closed: nobody waits for it any more
            pass

    threading.Thread(target=work, name=f"load:{getattr(fn, '__name__', 'work')}", daemon=True).start()
    return await done


class BotApp:
    """Everything adapters share.  Build once, ``await start()``, pass to adapters, ``await stop()``."""

    def __init__(self, config: Config, engine: Union[Engine, Sequence[Engine], None] = None) -> None:
        """``engine``: the engines already opened (the primary first), or None to open the
        configured ones (none with Redis workers: they live there)."""
        self.config = config
        self.db = connect(config.database_url)
        self.store = Store(self.db)
        self._engines: Optional[list[Engine]] = None if engine is None else (
            [engine] if isinstance(engine, Engine) else list(engine))
        self._identity: Optional[EngineIdentity] = None
        self.jobs: Optional[Jobs] = None
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
        # The deployment's secret watermark keys: from the environment (required with workers), or
        # made on first start and kept in the database.
        if self.config.queue.url and not self.config.watermark_keys:
            # The workers mark the notes with the keys of their environment: both must hold the same.
            raise ConfigError("[queue] url needs VOICEBOT_WATERMARK_KEYS (the same on the bot and every worker)")
        keys = self.config.watermark_keys or tuple(await self.store.watermark_keys())
        log.info("watermark: notes are marked with key %s%s", keys[0].fingerprint,
                 f" ({len(keys) - 1} older key(s) still verify)" if len(keys) > 1 else "")
        jobs = await self._start_remote() if self.config.queue.url else await self._start_local(keys)
        self.metrics.queue_depth.set_function(lambda: jobs.depth)
        bot, limits, discord = self.config.bot, self.config.limits, self.config.discord
        settings = Settings(consent_mode=mode, max_wait_seconds=bot.max_wait_seconds,
                            voice_use_retention_days=bot.voice_use_retention_days,
                            clone_attempts_per_day=bot.clone_attempts_per_day, clone_lockout_hours=bot.clone_lockout_hours,
                            budgets=Budgets(limits.speech_seconds_per_user_per_day, limits.compute_seconds_per_user_per_day,
                                            limits.compute_per_speech_second),
                            inline=InlineRules(limits.inline, limits.inline_own_voice, limits.inline_cooldown_seconds,
                                               limits.inline_refuse_blocked),
                            guest=GuestRules(discord.guest_cloned_voices, discord.guest_cooldown_seconds,
                                             discord.guest_member_quota_seconds or None))
        self.commands = CommandLayer(self.store, self.engine, jobs, settings)
        self.commands.services.watermark_keys = keys
        self.commands.services.on_note = self.metrics.note_sent
        self.apply_rollout(self.config.rollout)
        self._serving = True
        return self

    def apply_rollout(self, rules: Rollout) -> None:
        """New rollout rules, for the next request on (SIGHUP: no restart)."""
        if self.commands is None:
            raise RuntimeError("BotApp.start() has not run")
        self.commands.services.rollout = rules
        log.info("rollout: canary %s, %g %% of users, %d allow-listed server(s), user choice %s",
                 rules.canary or "none", rules.percent, len(rules.servers), "on" if rules.user_choice else "off")

    def reload_rollout(self, rules: Rollout) -> bool:
        """Rules read again from the config file (SIGHUP): refused, with the old ones kept, when
        the canary is not an engine running now; otherwise applied, every change logged old → new
        (a file without ``[rollout]`` puts every rule back to its default, and says so)."""
        if self.commands is None:
            raise RuntimeError("BotApp.start() has not run")
        running = sorted(self.engine.available)
        if rules.canary is not None and rules.canary not in running:
            log.error("config not reloaded, the old rules stay: rollout.canary %r is not running (running: %s)",
                      rules.canary, ", ".join(running) or "none")
            return False
        old = self.commands.services.rollout
        changes = [f"{f.name}: {getattr(old, f.name)!r} → {getattr(rules, f.name)!r}" for f in fields(Rollout)
                   if getattr(old, f.name) != getattr(rules, f.name)]
        for change in changes:
            log.warning("rollout changed by reload: %s", change)
        if not changes:
            log.info("config reloaded: the rollout rules are unchanged")
        self.commands.services.rollout = rules
        return True

    async def _start_remote(self) -> Jobs:
        """Synthesis in ``python -m bot.worker`` processes: this process loads no model."""
        from .redis_queue import RedisJobQueue, redis_access

        queue = self.config.queue
        jobs = await RedisJobQueue(redis_access(self.config), queue.prefix, self.config.bot.max_pending, self.config.bot.per_user,
                                   queue.job_timeout_seconds, on_finished=self.metrics.job_finished,
                                   primary=self.config.engine.name, lease_s=queue.lease_seconds).start()
        self.jobs, self._identity = jobs, jobs.engine  # name and version, as the workers registered them
        return jobs

    async def _start_local(self, keys: tuple[WatermarkKey, ...]) -> Jobs:
        # Voices for /say now; the speaker encoder (torch) and Whisper load on the first /clone,
        # or in the background just after start-up.
        self.runtime = await in_daemon_thread(load_runtime, self.config, self.metrics, eager=False, engine=self._engines)
        self.runtime.watermark_keys = keys
        self._engines = list(self.runtime.engines.values())
        self._identity = self.runtime
        self.jobs = jobs = JobQueue(self.workers, self.config.bot.max_pending, self.config.bot.per_user,
                                    on_finished=self.metrics.job_finished, runner=self.runtime.run)
        if self.config.bot.preload_clone_models:
            # The first /clone would otherwise wait 20–80 s for torch and Whisper to load.
            self._preload = asyncio.ensure_future(in_daemon_thread(self._load_clone_models, self.runtime))
        return jobs

    @property
    def in_flight(self) -> int:
        """Requests waiting or running."""
        return self.jobs.depth if self.jobs is not None else 0

    @staticmethod
    def _load_clone_models(runtime: Runtime) -> None:
        started = time.perf_counter()
        try:
            load_clone_models(runtime)
        except Exception:  # the first /clone will try again and report what is wrong
            log.exception("loading the cloning models in the background failed")
        else:
            log.info("cloning models ready in %.1f s", time.perf_counter() - started)

    @property
    def workers(self) -> int:
        """Synthesis workers: ``bot.workers``, but never more than the engine can use at once
        (one per device for the GPU engine, where a second worker would only queue behind the first)."""
        limits = [e.max_workers for e in self._engines or [] if e.max_workers is not None]
        limit = min(limits) if limits else None
        workers = self.config.bot.workers if limit is None else min(self.config.bot.workers, limit)
        if workers < self.config.bot.workers:
            log.info("bot.workers = %d, but the %s engine runs %d job(s) at a time", self.config.bot.workers,
                     self.engine.name, workers)
        return workers

    @property
    def engine(self) -> EngineIdentity:
        """The engine's name and version: the loaded engine's, or the Redis workers' registration."""
        if self._identity is None:
            raise RuntimeError("BotApp.start() has not run")
        return self._identity

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while taking requests: after start-up, before shutdown."""
        details = {"engine": self._identity.name if self._identity is not None else None,
                   "workers": self.jobs.workers if self.jobs else 0, "queue_depth": self.jobs.depth if self.jobs else 0}
        return self._serving, details

    async def stop(self) -> None:
        """Finish queued jobs, then close the database and the engine; safe after a failed start."""
        self._serving = False
        if self._preload is not None and not self._preload.done():
            log.info("the cloning models were still loading: left behind")  # a daemon thread: the exit does not wait
        if self.jobs is not None:
            await self.jobs.close(drain=True)
        await self.db.close()
        for engine in self._engines or []:
            engine.close()
        if self._metrics_server is not None:
            await self._metrics_server.stop()
            self._metrics_server = None
