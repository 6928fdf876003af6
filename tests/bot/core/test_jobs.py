import asyncio
import threading
import time

import pytest

from bot.core.errors import Busy
from bot.core.jobs import JobQueue


async def test_round_robin_fairness():
    """User B's single job runs before user A's backlog is done."""
    q = JobQueue(workers=1, max_pending=100, per_user=10)
    order = []
    gate = threading.Event()

    def job(tag):
        def run():
            gate.wait(5)
            order.append(tag)
            return tag
        return run

    futures = [q.submit("A", job(f"A{i}")) for i in range(5)]
    await asyncio.sleep(0.05)  # A0 is now running
    futures.append(q.submit("B", job("B0")))
    gate.set()
    await asyncio.gather(*futures)
    assert order.index("B0") <= 2
    await q.close()


async def test_backpressure_per_user_and_total():
    q = JobQueue(workers=1, max_pending=2, per_user=1)
    gate = threading.Event()
    f1 = q.submit("A", lambda: gate.wait(5))
    with pytest.raises(Busy, match="already have"):
        q.submit("A", lambda: None)
    await asyncio.sleep(0.05)
    q.submit("B", lambda: None)
    q.submit("C", lambda: None)
    with pytest.raises(Busy, match=r"try again in ~\d+ s"):
        q.submit("D", lambda: None)
    gate.set()
    await f1
    await q.close()


async def test_runs_off_the_event_loop_and_shutdown_drains():
    q = JobQueue(workers=1)
    loop_thread = threading.get_ident()
    fut = q.submit("A", lambda: (time.sleep(0.2), threading.get_ident())[1])
    ticks = 0
    while not fut.done():
        ticks += 1
        await asyncio.sleep(0.01)
    assert (await fut) != loop_thread and ticks > 5  # the loop kept running
    pending = [q.submit(u, lambda: time.sleep(0.05) or "ok") for u in "XYZ"]
    await q.close(drain=True)
    assert [await f for f in pending] == ["ok"] * 3
    with pytest.raises(Busy, match="shutting down"):
        q.submit("A", lambda: None)


async def test_shutdown_without_drain_cancels_queued_jobs():
    q = JobQueue(workers=1)
    gate = threading.Event()
    running = q.submit("A", lambda: gate.wait(5))
    await asyncio.sleep(0.05)
    queued = q.submit("B", lambda: "never")
    closing = asyncio.create_task(q.close(drain=False))
    await asyncio.sleep(0.05)
    gate.set()
    await closing
    assert queued.cancelled() and await running is True


async def test_errors_reach_the_caller():
    q = JobQueue()
    with pytest.raises(ZeroDivisionError):
        await q.submit("A", lambda: 1 / 0)
    await q.close()


async def test_every_job_outcome_is_reported_once_with_its_time():
    seen: list[tuple[float, str]] = []
    q = JobQueue(workers=1, per_user=1, on_finished=lambda seconds, outcome: seen.append((seconds, outcome)))
    gate = threading.Event()
    first = q.submit("A", lambda: gate.wait(5))
    assert q.depth == 1
    with pytest.raises(Busy):
        q.submit("A", lambda: None)
    failing = q.submit("B", lambda: 1 / 0)
    queued = q.submit("C", lambda: "never")
    assert q.depth == 3
    queued.cancel()  # its requester went away while it waited
    await asyncio.sleep(0.1)
    gate.set()
    await first
    with pytest.raises(ZeroDivisionError):
        await failing
    await q.close()
    assert sorted(outcome for _, outcome in seen) == ["busy", "cancelled", "done", "failed"]
    assert dict((o, s) for s, o in seen)["done"] >= 0.1 and q.depth == 0


async def test_the_busy_estimate_counts_each_waiting_job_once():
    """With one worker busy and N jobs queued behind it, a new job starts after N + 1 job times."""
    release = threading.Event()
    q = JobQueue(workers=1, max_pending=50, per_user=50)
    futures = [q.submit(f"u{i}", release.wait) for i in range(6)]
    try:
        await asyncio.sleep(0.05)  # the first job is running, five wait
        assert q.depth == 6
        assert q.estimate_wait() == pytest.approx(6 * 1.0)  # the average job time starts at 1 s
    finally:
        release.set()
        await asyncio.gather(*futures)
        await q.close()
