"""A bounded synthesis queue, fair across users, running blocking work off the event loop."""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Optional, Protocol

from .errors import Busy
from .tasks import spent

log = logging.getLogger(__name__)


class Jobs(Protocol):
    """What the command layer needs of a synthesis queue: this in-process one or the Redis one
    (:class:`bot.redis_queue.RedisJobQueue`), so the bot runs the same against either."""

    workers: int

    @property
    def depth(self) -> int:
        """Jobs waiting or running."""
        ...

    def estimate_wait(self, engine: Optional[str] = None) -> float:
        """Seconds until a job submitted now would start, roughly (for ``engine``'s jobs, where
        engines have queues of their own)."""
        ...

    async def enqueue(self, user: str, work: Any) -> "asyncio.Future[Any]":
        """Queue ``work`` for ``user``; raise :class:`Busy` when full.  The future holds the result."""
        ...

    async def close(self, drain: bool = True, timeout: float = 30.0) -> None:
        ...


def busy_error(estimate: float, en: str, zh: str) -> Busy:
    """The refusal of a full queue, with how long to wait (both queues word it the same)."""
    wait = max(1, round(estimate))
    return Busy(f"{en} Please try again in ~{wait} s.", f"{zh}请约 {wait} 秒后再试。")


@dataclass
class _Job:
    user: str
    fn: Callable[[], Any]
    future: "asyncio.Future[Any]"
    queued_at: float = field(default_factory=time.monotonic)


class JobQueue:
    """Round-robin across users: each turn takes the oldest job of the next user in line, so
    nobody waits behind another user's whole backlog.

    ``max_pending`` bounds queued jobs in all; ``per_user`` bounds one user's queued + running
    jobs.  Beyond either, :meth:`submit` raises :class:`Busy` with a wait estimate.
    """

    def __init__(self, workers: int = 1, max_pending: int = 64, per_user: int = 2,
                 on_finished: Optional[Callable[[float, str], None]] = None,
                 runner: Optional[Callable[[Any], Any]] = None) -> None:
        self.workers = workers
        #: runs a job given as data (a :mod:`.tasks` task); a job given as a function runs itself
        self.runner = runner
        #: told (seconds from queueing, outcome) of every job: done, failed, busy (refused), cancelled
        self.on_finished = on_finished
        self.max_pending = max_pending
        self.per_user = per_user
        self._queues: dict[str, Deque[_Job]] = {}
        self._order: Deque[str] = collections.deque()
        self._inflight: collections.Counter[str] = collections.Counter()
        self._pending = 0
        self._wakeup = asyncio.Event()
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="synth")
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._avg_seconds = 1.0  # moving average of job run time, for the busy estimate

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._worker(i), name=f"synth-worker-{i}") for i in range(self.workers)]

    @property
    def depth(self) -> int:
        """Jobs waiting or running (``_inflight`` counts both, per user)."""
        return sum(self._inflight.values())

    def _finished(self, job: Optional[_Job], outcome: str) -> None:
        if self.on_finished is not None:
            self.on_finished(time.monotonic() - job.queued_at if job is not None else 0.0, outcome)

    def estimate_wait(self, engine: Optional[str] = None) -> float:
        """Seconds until a job submitted now would start, roughly (one queue for every engine)."""
        return self.depth * self._avg_seconds / max(1, self.workers)

    def _busy(self, en: str, zh: str) -> Busy:
        self._finished(None, "busy")
        return busy_error(self.estimate_wait(), en, zh)

    async def enqueue(self, user: str, work: Any) -> "asyncio.Future[Any]":
        """:meth:`submit`, with the signature every queue has (the Redis one must talk to Redis)."""
        return self.submit(user, work)

    def submit(self, user: str, work: Any) -> "asyncio.Future[Any]":
        """Queue ``work`` (a blocking function, or a task for ``runner``) for ``user``; await the
        returned future for its result."""
        fn = work if callable(work) else functools.partial(self._run_task, work)
        if self._closing:
            raise Busy("The bot is shutting down. Please try again in a minute.", "机器人正在重启，请一分钟后再试。")
        if self._inflight[user] >= self.per_user:
            raise self._busy("You already have requests being made.", "你已有请求正在处理。")
        if self._pending >= self.max_pending:
            raise self._busy("I'm busy with other requests.", "我正忙着处理其他请求。")
        self.start()
        job = _Job(user, fn, asyncio.get_running_loop().create_future())
        if user not in self._queues or not self._queues[user]:
            self._queues[user] = collections.deque()
            self._order.append(user)
        self._queues[user].append(job)
        self._inflight[user] += 1
        self._pending += 1
        self._wakeup.set()
        return job.future

    def _run_task(self, task: Any) -> Any:
        if self.runner is None:
            raise RuntimeError("this queue has no runner for tasks")
        return self.runner(task)

    def _next(self) -> Optional[_Job]:
        while self._order:
            user = self._order.popleft()
            queue = self._queues.get(user)
            if not queue:
                continue
            job = queue.popleft()
            if queue:
                self._order.append(user)  # back of the line for this user's next job
            else:
                del self._queues[user]
            self._pending -= 1
            return job
        return None

    async def _worker(self, _: int) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = self._next()
            if job is None:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            if job.future.cancelled():
                self._inflight[job.user] -= 1
                self._finished(job, "cancelled")
                continue
            started = time.monotonic()
            try:
                result = await loop.run_in_executor(self._executor, job.fn)
            except Exception as exc:  # delivered to the waiting command, with the compute it used (metering)
                self._finished(job, "failed")
                if not job.future.done():
                    job.future.set_exception(spent(exc, time.monotonic() - started))
            else:
                self._finished(job, "done")
                if not job.future.done():
                    job.future.set_result(result)
            finally:
                self._inflight[job.user] -= 1
                if self._inflight[job.user] <= 0:
                    del self._inflight[job.user]
                self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * (time.monotonic() - started)

    async def close(self, drain: bool = True, timeout: float = 30.0) -> None:
        """Stop taking jobs; finish queued ones (``drain``) or cancel them; then stop workers."""
        self._closing = True
        if not drain:
            while (job := self._next()) is not None:
                job.future.cancel()
                self._inflight[job.user] -= 1
                self._finished(job, "cancelled")
        self._wakeup.set()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=timeout)
            for task in pending:
                task.cancel()
        self._executor.shutdown(wait=True, cancel_futures=True)
