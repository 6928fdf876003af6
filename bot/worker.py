"""``python -m bot.worker``: a synthesis worker — the engine, taking jobs from Redis.

Start as many as the machine has cores (the default engine: one job per process and core) or
GPUs (the IndexTTS engine: ``--device cuda:N``, one process per GPU).  The bot process then loads
no model at all.  SIGTERM or Ctrl-C: the job in hand is finished and delivered, then exit 0.
Bad settings or an unreachable Redis: one line, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from indextts_core.errors import IndexTTSError

from . import logsafe
from .assembly import load_runtime
from .config import Config, ConfigError, load_config
from .core.tasks import RenderTask, Runtime, pack, spent, unpack_task
from .metrics import Metrics, MetricsServer
from .redis_queue import WorkerLink, redis_access

log = logging.getLogger("bot.worker")


class Worker:
    """The engines, loaded once, and ``jobs`` job slots sharing them (each job's lease renewed
    while it works): one copy of the models serves every slot."""

    def __init__(self, config: Config, device: Optional[str] = None, metrics_port: int = 0, jobs: int = 1,
                 engines: Optional[Sequence[str]] = None) -> None:
        if not config.queue.url:
            raise ConfigError("python -m bot.worker needs [queue] url (the Redis the bot enqueues into)")
        self.config = config
        self.device = device
        if not 1 <= jobs <= 64:
            raise ConfigError(f"--jobs must be between 1 and 64 (got {jobs})")
        self.slots = jobs
        self.only = list(engines) if engines else None  # None: every configured engine
        configured = [e.name for e in config.all_engines]
        unknown = sorted(set(self.only or ()) - set(configured))
        if unknown:
            raise ConfigError(f"--engines must name configured engines ({', '.join(configured)}; got {', '.join(unknown)})")
        self.metrics = Metrics()
        self.metrics_port = metrics_port
        self._metrics_server: Optional[MetricsServer] = None
        self.runtime: Optional[Runtime] = None
        self.link: Optional[WorkerLink] = None
        self.ready = False
        self.jobs_done = 0
        self.first_job_seconds = 1.0

    def _load(self) -> Runtime:
        runtime = load_runtime(self.config, self.metrics, eager=True, device=self.device, where=" on the workers",
                               only=self.only)
        runtime.watermark_keys = self.config.watermark_keys  # load_config demands them with [queue] url
        # One short note now: the first user does not pay for lazy set-up, and the cluster's busy
        # estimate starts from a measured job time instead of a guess.
        runtime.run(RenderTask("Hello, this is a short warm-up sentence."))
        started = time.perf_counter()
        runtime.run(RenderTask("And a second one, to time a warm job."))
        self.first_job_seconds = time.perf_counter() - started
        return runtime

    def health(self) -> tuple[bool, dict]:
        return self.ready, {"worker": self.link.worker_id if self.link else None, "jobs_done": self.jobs_done}

    async def run(self, stop: asyncio.Event) -> None:
        if self.metrics_port:
            self._metrics_server = MetricsServer(self.metrics, self.health, self.config.bot.metrics_host, self.metrics_port)
            await self._metrics_server.start()
        try:
            queue = self.config.queue
            self.link = link = WorkerLink(redis_access(self.config), queue.prefix, queue.lease_seconds,
                                          job_timeout_s=queue.job_timeout_seconds)
            try:
                await link.open()
            except Exception as exc:
                raise ConfigError(f"[queue] url is not reachable: {exc}") from exc
            self.runtime = runtime = await asyncio.to_thread(self._load)
            limits = [e.max_workers for e in runtime.engines.values() if e.max_workers is not None]
            if limits and self.slots > min(limits):  # a GPU engine runs one job per device: more slots only queue
                log.info("--jobs %d, but the engines run %d job(s) at a time here", self.slots, min(limits))
                self.slots = min(limits)
            # Each engine's lane, and the primary's shared one (clones, notes without an engine).
            primary = [""] if self.config.engine.name in runtime.engines else []
            link.lanes = collections.deque(primary + list(runtime.engines))
            await link.register({"engine": runtime.engine.name, "version": runtime.engine.version,
                                 "engines": {name: sorted(v) for name, v in runtime.available.items()},
                                 "slots": self.slots, "lanes": list(link.lanes),
                                 "device": self.device or "", "host": socket.gethostname()}, self.first_job_seconds)
            self.ready = True
            log.info("worker %s taking jobs", link.worker_id)
            beats = asyncio.create_task(self._heartbeat(link, stop))
            try:
                # ONNX Runtime sessions and the rest of the engines are safe to run from several
                # threads (the bot's own queue does the same with bot.workers)
                await asyncio.gather(*(self._loop(link, runtime, stop) for _ in range(self.slots)))
            finally:
                stop.set()
                await beats  # ends at its next turn: redis-py must not be cancelled mid-command
        finally:
            self.ready = False
            if self.link is not None:
                await self.link.close()
            if self._metrics_server is not None:
                await self._metrics_server.stop()

    async def _heartbeat(self, link: WorkerLink, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await link.beat()
                self.metrics.queue_depth.set(await link.depth())
            except Exception as exc:
                log.warning("heartbeat failed: %s", exc)
            try:
                await asyncio.wait_for(stop.wait(), self.config.queue.lease_seconds / 4)
            except asyncio.TimeoutError:
                pass

    async def _loop(self, link: WorkerLink, runtime: Runtime, stop: asyncio.Event) -> None:
        backoff = 0.5
        while not stop.is_set():
            try:
                job = await link.claim(wait=1.0)
                backoff = 0.5
            except Exception as exc:  # Redis restarting: wait for it, never exit
                log.warning("Redis unavailable (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                continue
            if job is not None:
                await self._do(link, runtime, *job)

    async def _do(self, link: WorkerLink, runtime: Runtime, job_id: str, data: bytes, attempt: int) -> None:
        started = time.perf_counter()
        work = asyncio.ensure_future(asyncio.to_thread(self._run, runtime, data))
        while True:  # renew the lease while the job runs
            done, _ = await asyncio.wait({work}, timeout=self.config.queue.lease_seconds / 4)
            if done:
                break
            try:
                await link.renew(job_id)
            except Exception as exc:
                log.warning("lease renewal failed: %s", exc)
        payload, outcome = work.result()
        seconds = time.perf_counter() - started
        for _ in range(20):  # Redis may be restarting: the result is worth a few tries
            try:
                delivered = await link.complete(job_id, payload, seconds)
                break
            except Exception as exc:
                log.warning("delivering job %s failed (%s); retrying", job_id, exc)
                await asyncio.sleep(0.5)
        else:
            delivered = False
        if not delivered:
            log.warning("job %s was no longer mine (lease lost or Redis restarted): result dropped", job_id)
            outcome = "cancelled"
        self.jobs_done += 1
        self.metrics.job_finished(seconds, outcome)
        log.info("job %s (attempt %d) %s in %.2f s", job_id, attempt, outcome, seconds)

    @staticmethod
    def _run(runtime: Runtime, data: bytes) -> tuple[bytes, str]:
        """Blocking: unpack, run, pack the result or the error for the user."""
        started = time.perf_counter()
        try:
            return pack(runtime.run(unpack_task(data))), "done"
        except Exception as exc:  # the user gets the error's own message, or a generic one for a fault
            if not isinstance(exc, IndexTTSError):
                log.exception("job failed")
            return pack(spent(exc, time.perf_counter() - started)), "failed"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.worker", description="IndexTTS Voice Bot synthesis worker")
    parser.add_argument("--config", type=Path, default=None, help="TOML settings (default: config.toml if present)")
    parser.add_argument("--device", default=None, help="pin the engine to a device, e.g. cuda:1 (the engine's 'device' option)")
    parser.add_argument("--jobs", type=int, default=1, help="job slots sharing one copy of the models (default 1)")
    parser.add_argument("--engines", default=None,
                        help="run only these configured engines, comma-separated (default: all), e.g. a GPU canary")
    parser.add_argument("--metrics-port", type=int, default=0, help="Prometheus /metrics and /health on this port (0: off)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logsafe.install(args.verbose)
    try:
        config = load_config(args.config or Path("config.toml"), required=args.config is not None)
        logsafe.install(args.verbose, config.secrets)
        worker = Worker(config, args.device, args.metrics_port, args.jobs,
                        [e.strip() for e in args.engines.split(",") if e.strip()] if args.engines else None)

        async def serve() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await worker.run(stop)

        asyncio.run(serve())
        return 0
    except (ConfigError, IndexTTSError, ValueError, RuntimeError) as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
