"""The Redis queue's protocol against a real redis-server: round-robin across users, limits,
leases, retry once, no duplicate replies, Redis restarts.  Workers here are :class:`WorkerLink`
objects driven by the test (the worker process itself is tested in test_worker.py)."""

import asyncio
import time

import pytest

from bot.core.errors import Busy
from bot.core.tasks import JobFailed, Rendered, RenderTask, pack, unpack
from bot.queue_seal import Sealer
from bot.redis_queue import RedisAccess, RedisJobQueue, WorkerLink, result_message
from indextts_core.errors import TextError
from tests.servers import RedisServer, TlsTunnel

IDENTITY = {"engine": "default", "version": "9.9", "device": "", "host": "test"}
SECRET = "s3cret-" * 6
OTHER_SECRET = "another-deployment-" * 2


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
async def queue(redis_server):
    q = await RedisJobQueue(RedisAccess(redis_server.url, SECRET), "t", max_pending=10, per_user=3, job_timeout=30).start()
    yield q
    await q.close(drain=False)


async def _link(redis_server, lease: float = 30.0, secret: str = SECRET, lanes=("",)) -> WorkerLink:
    link = WorkerLink(RedisAccess(redis_server.url, secret), "t", lease, lanes)
    await link.open()
    await link.register(IDENTITY)
    return link


async def _enqueue(queue, user, text):
    return await queue.enqueue(user, RenderTask(text))


def _text(packed: bytes) -> str:
    return unpack(packed).text


async def test_jobs_are_taken_round_robin_across_users_and_results_reach_their_futures(queue, redis_server):
    link = await _link(redis_server)
    await queue._refresh()
    futures = {t: await _enqueue(queue, u, t) for u, t in [("A", "a1"), ("A", "a2"), ("A", "a3"), ("B", "b1"), ("C", "c1")]}
    order = []
    for _ in range(5):
        job_id, task, attempt = await link.claim(wait=0.1)
        order.append(_text(task))
        assert attempt == 1
        assert await link.complete(job_id, pack(Rendered(b"OggS" + _text(task).encode(), 1.0, b"\0")), 0.1)
    assert order == ["a1", "b1", "c1", "a2", "a3"]
    for text, future in futures.items():
        assert (await asyncio.wait_for(future, 5)).ogg == b"OggS" + text.encode()
    assert await link.claim(wait=0.1) is None
    await queue._refresh()
    assert queue.depth == 0


async def test_limits_per_user_and_in_all_say_busy_with_an_estimate(queue, redis_server):
    await _link(redis_server)
    await queue._refresh()
    for i in range(3):
        await _enqueue(queue, "A", f"a{i}")
    with pytest.raises(Busy, match="already have requests"):
        await _enqueue(queue, "A", "one too many")
    for i in range(7):
        await _enqueue(queue, f"user{i}", "x")
    with pytest.raises(Busy, match=r"busy with other requests\. Please try again in ~\d+ s"):
        await _enqueue(queue, "late", "x")


async def test_no_workers_means_busy_not_a_request_that_waits_forever(queue):
    await queue._refresh()
    assert queue.workers == 0
    with pytest.raises(Busy, match="No voice workers"):
        await _enqueue(queue, "A", "hello")


async def test_the_bot_learns_the_engine_name_and_version_from_its_workers(queue, redis_server):
    assert queue.engine.name is None
    await _link(redis_server)
    await queue._refresh()
    assert (queue.engine.name, queue.engine.version, queue.workers) == ("default", "9.9", 1)


async def test_the_bot_learns_every_engine_and_job_slot_its_workers_serve(queue, redis_server):
    one = WorkerLink(RedisAccess(redis_server.url, SECRET), "t", 30.0)
    await one.open()
    await one.register({**IDENTITY, "engines": {"default": ["9.8", "9.9"], "indextts": ["2.5/x"]}, "slots": 3})
    await _link(redis_server)  # an older worker: one engine, one slot, no list
    await queue._refresh()
    assert queue.workers == 4
    assert queue.engine.available == {"default": frozenset({"9.8", "9.9"}), "indextts": frozenset({"2.5/x"})}
    await one.close()
    await queue._refresh()
    assert queue.engine.available == {"default": frozenset({"9.9"})} and queue.workers == 1


async def test_the_primary_engine_is_the_configured_one_whatever_the_workers_run(redis_server):
    q = await RedisJobQueue(RedisAccess(redis_server.url, SECRET), "t", primary="default").start()
    try:
        canary = WorkerLink(RedisAccess(redis_server.url, SECRET), "t", 30.0, ("indextts",))
        await canary.open()
        await canary.register({**IDENTITY, "engine": "indextts", "version": "2.5/x", "engines": {"indextts": ["2.5/x"]}})
        await q._refresh()
        assert (q.engine.name, q.engine.version) == ("default", None)  # no primary worker: named, not invented
        await _link(redis_server)
        await q._refresh()
        assert (q.engine.name, q.engine.version) == ("default", "9.9")
    finally:
        await q.close(drain=False)


async def test_a_dead_workers_job_is_retried_once_elsewhere_and_its_late_result_is_dropped(queue, redis_server):
    dying = await _link(redis_server, lease=0.5)
    other = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    job_id, _, _ = await dying.claim(wait=0.1)
    await asyncio.sleep(0.7)  # the lease runs out: the job goes back to the front of the queue
    again = await other.claim(wait=0.1)
    assert again is not None and again[0] == job_id and again[2] == 2
    assert not await dying.complete(job_id, pack(Rendered(b"late", 1.0, b"")), 1.0)  # not its job any more
    assert await other.complete(job_id, pack(Rendered(b"on time", 1.0, b"")), 1.0)
    assert (await asyncio.wait_for(future, 5)).ogg == b"on time"
    assert await queue._client.llen(queue._reply) == 0  # exactly one reply was delivered


async def test_a_job_goes_only_to_a_worker_with_its_engine_and_comes_back_to_that_lane(queue, redis_server):
    plain = await _link(redis_server, lanes=("", "default"))
    canary = await _link(redis_server, lease=0.3, lanes=("indextts",))
    await queue._refresh()
    for_canary = await queue.enqueue("A", RenderTask("hello", engine="indextts"))
    for_default = await queue.enqueue("B", RenderTask("hello", engine="default"))
    clone = await queue.enqueue("C", RenderTask("preview"))  # no engine: the primary's shared lane
    got = [await plain.claim(wait=0.1), await plain.claim(wait=0.1), await plain.claim(wait=0.1)]
    assert got[2] is None and {unpack(g[1]).engine for g in got[:2]} == {"default", None}
    job_id, task, _ = await canary.claim(wait=0.1)
    assert unpack(task).engine == "indextts"
    await asyncio.sleep(0.5)  # the canary worker dies with it: the job waits in its own lane again
    assert await plain.claim(wait=0.1) is None
    other = await _link(redis_server, lanes=("indextts",))
    again = await other.claim(wait=0.1)
    assert again is not None and again[0] == job_id and again[2] == 2
    for_canary.cancel(), for_default.cancel(), clone.cancel()


async def test_each_lane_has_its_own_wait_on_the_slots_that_serve_it(queue, redis_server):
    plain = WorkerLink(RedisAccess(redis_server.url, SECRET), "t", 30.0, ("", "default"))
    canary = WorkerLink(RedisAccess(redis_server.url, SECRET), "t", 30.0, ("indextts",))
    for link, lanes, slots in ((plain, ["", "default"], 2), (canary, ["indextts"], 1)):
        await link.open()
        await link.register({**IDENTITY, "lanes": lanes, "slots": slots}, job_seconds=2.0)
    await queue._refresh()
    waiting = [await queue.enqueue(user, RenderTask("hello", engine="indextts")) for user in "ABC"]
    await queue._refresh()
    assert queue.estimate_wait("indextts") == pytest.approx((3 + 1) * 2.0 / 1)
    assert queue.estimate_wait("default") == pytest.approx((0 + 1) * 2.0 / 2)
    assert await canary.claim(wait=0.1) is not None
    waiting[2].cancel()
    await asyncio.sleep(0.2)  # the withdrawal runs in the background
    await queue._refresh()
    assert queue.estimate_wait("indextts") == pytest.approx((1 + 1) * 2.0 / 1)
    waiting[1].cancel()


async def test_a_cancelled_job_leaves_its_engines_lane(queue, redis_server):
    await _link(redis_server)
    await queue._refresh()
    future = await queue.enqueue("A", RenderTask("hello", engine="indextts"))
    assert await queue._client.llen("t:lane:indextts:u:A") == 1
    future.cancel()
    await asyncio.sleep(0.2)  # the withdrawal runs in the background
    assert await queue._client.llen("t:lane:indextts:u:A") == 0 and await queue._client.llen("t:lane:indextts:ring") == 0
    assert int(await queue._client.get("t:pending") or 0) == 0


async def test_a_job_that_loses_two_workers_tells_its_user(queue, redis_server):
    links = [await _link(redis_server, lease=0.3) for _ in range(2)]
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    for link in links:
        assert await link.claim(wait=0.1) is not None
        await asyncio.sleep(0.5)
    assert await links[0].claim(wait=0.1) is None  # reaped for good, not queued a third time
    with pytest.raises(JobFailed, match="stopped twice") as err:
        await asyncio.wait_for(future, 5)
    assert "两次" in err.value.message("zh")


async def test_a_workers_error_reaches_the_user_in_their_language(queue, redis_server):
    link = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    job_id, _, _ = await link.claim(wait=0.1)
    await link.complete(job_id, pack(TextError("Nothing to say.", "没有可说的内容。")), 0.1)
    with pytest.raises(JobFailed) as err:
        await asyncio.wait_for(future, 5)
    assert (err.value.message("en"), err.value.message("zh")) == ("Nothing to say.", "没有可说的内容。")


async def test_a_cancelled_request_leaves_the_queue(queue, redis_server):
    link = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "never said")
    future.cancel()
    for _ in range(50):
        await asyncio.sleep(0.02)
        if await queue._client.get("t:pending") in (b"0", None):
            break
    assert await link.claim(wait=0.1) is None
    assert await queue._client.get("t:count:A") is None  # the user's slot is free again


async def test_a_redis_restart_tells_waiting_users_to_try_again_and_the_queue_recovers(queue, redis_server):
    link = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "lost in the restart")
    redis_server.stop()
    with pytest.raises(Busy):
        await _enqueue(queue, "B", "while Redis is down")
    redis_server.start()
    with pytest.raises(Busy, match="restarted"):
        await asyncio.wait_for(future, 15)
    await link.open()
    await link.register(IDENTITY)  # a worker re-registers with its next heartbeat
    await queue._refresh()
    again = await _enqueue(queue, "A", "after the restart")
    job_id, task, _ = await link.claim(wait=0.5)
    assert _text(task) == "after the restart"
    await link.complete(job_id, pack(Rendered(b"ok", 1.0, b"")), 0.1)
    assert (await asyncio.wait_for(again, 5)).ogg == b"ok"


# --- the trust boundary: seals, expiry, password, TLS --------------------------------------------

async def _job_key(queue) -> str:
    keys = [k.decode() async for k in queue._client.scan_iter("t:job:*")]
    assert len(keys) == 1
    return keys[0].rsplit(":", 1)[1]


async def test_a_forged_result_is_refused_and_the_real_one_still_arrives(queue, redis_server, caplog):
    link = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    job_id = await _job_key(queue)
    forged = pack(Rendered(b"OggS forged note", 1.0, b""))
    for message in (job_id.encode() + b"\n" + forged,  # unsealed
                    result_message(Sealer(OTHER_SECRET), job_id, forged),  # sealed with another secret
                    # a real seal, but from another job: not replayable as this one's
                    result_message(Sealer(SECRET), "0" * 32, forged).replace(b"0" * 32, job_id.encode(), 1)):
        await queue._client.rpush(queue._reply, message)
    await asyncio.sleep(0.5)
    assert not future.done()
    assert caplog.text.count("without a valid seal") == 3
    claimed_id, _, _ = await link.claim(wait=0.1)
    await link.complete(claimed_id, pack(Rendered(b"OggS real", 1.0, b"")), 0.1)
    assert (await asyncio.wait_for(future, 5)).ogg == b"OggS real"


async def test_a_job_written_into_redis_without_the_secret_is_refused_by_the_worker(queue, redis_server, caplog):
    link = await _link(redis_server)
    await queue._refresh()
    # An attacker with Redis access queues a job of their own through the same script.
    rogue = RedisJobQueue(RedisAccess(redis_server.url, OTHER_SECRET), "t", job_timeout=30)
    rogue._client, rogue._loaded, rogue.workers = queue._client, queue._scripts, 1
    rogue_future = await rogue.enqueue("mallory", RenderTask("forged job"))
    assert await link.claim(wait=0.1) is None
    assert "refused job" in caplog.text
    assert await queue._client.get("t:count:mallory") is None and not [k async for k in queue._client.scan_iter("t:job:*")]
    rogue_future.cancel()
    real = await _enqueue(queue, "A", "a real one")  # the worker goes on with genuine work
    job_id, task, _ = await link.claim(wait=0.1)
    assert _text(task) == "a real one"
    await link.complete(job_id, pack(Rendered(b"ok", 1.0, b"")), 0.1)
    assert (await asyncio.wait_for(real, 5)).ogg == b"ok"


async def test_nothing_kept_in_redis_lets_a_neighbour_fail_or_answer_a_waiting_request(queue, redis_server):
    """A neighbour without the secret reads everything Redis holds about a waiting job and writes
    each value back as that job's reply: none is a sealed result (no "worker lost" is kept ready)."""
    link = await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    job_id = await _job_key(queue)
    fields = await queue._client.hgetall(f"t:job:{job_id}")
    assert b"lost" not in fields
    values = [v async for k in queue._client.scan_iter("t:*") if await queue._client.type(k) == b"string"
              for v in [await queue._client.get(k)]] + list(fields.values())
    for value in values:
        await queue._client.rpush(queue._reply, job_id.encode() + b"\n" + value, value)
    await asyncio.sleep(0.5)
    assert not future.done()
    claimed, _, _ = await link.claim(wait=0.1)
    await link.complete(claimed, pack(Rendered(b"OggS real", 1.0, b"")), 0.1)
    assert (await asyncio.wait_for(future, 5)).ogg == b"OggS real"


async def test_a_job_given_up_still_gets_its_worker_lost_reply_sealed_by_the_reaper(queue, redis_server):
    link = await _link(redis_server, lease=0.2)
    await queue._refresh()
    future = await _enqueue(queue, "A", "hello")
    for _ in range(2):  # claimed and abandoned twice: its worker "died" each time
        assert await link.claim(wait=0.1) is not None
        await asyncio.sleep(0.3)
    assert await link.claim(wait=0.1) is None  # the reaper gave it up
    with pytest.raises(JobFailed, match="stopped twice"):
        await asyncio.wait_for(future, 5)


async def test_a_replayed_registration_or_job_is_refused(queue, redis_server, caplog):
    """A stopped worker's sealed registration written back later (with a fresh heartbeat key)
    counts no phantom worker; a sealed job kept aside and queued again later is not run."""
    from bot.redis_queue import live_workers

    link = await _link(redis_server, lease=0.5)
    registration = await queue._client.hget("t:workers", link.worker_id)
    await asyncio.sleep(1.2)  # more than two leases since it was sealed
    await queue._client.hset("t:workers", link.worker_id, registration)
    await queue._client.set(f"t:alive:{link.worker_id}", "1")
    assert await live_workers(queue._client, "t", queue.sealer, 0.5) == []
    assert len(await live_workers(queue._client, "t", queue.sealer, 30.0)) == 1  # the same one, while it is fresh
    # a job sealed ten minutes ago by this deployment (a copy an attacker kept) is refused by the worker
    old = RedisJobQueue(RedisAccess(redis_server.url, SECRET), "t", job_timeout=30)
    old._client, old._loaded, old.workers = queue._client, queue._scripts, 1
    real_seal = old.sealer.seal
    old.sealer.seal = lambda purpose, ident, payload: real_seal(purpose, ident, payload, now=time.time() - 600)
    stale = await old.enqueue("mallory", RenderTask("an old job, replayed"))
    fresh = WorkerLink(RedisAccess(redis_server.url, SECRET), "t", 30.0, job_timeout_s=300)
    await fresh.open()
    assert await fresh.claim(wait=0.1) is None and "refused job" in caplog.text
    stale.cancel()


async def test_a_worker_registered_without_the_secret_is_not_counted(queue, redis_server, caplog):
    await _link(redis_server, secret=OTHER_SECRET)
    await queue._refresh()
    assert queue.workers == 0 and queue.engine.name is None
    assert "ignoring worker" in caplog.text
    with pytest.raises(Busy, match="No voice workers"):  # nothing is handed to the impostor
        await _enqueue(queue, "A", "hello")
    await _link(redis_server)
    await queue._refresh()
    assert queue.workers == 1


async def test_a_job_nobody_waits_for_leaves_redis_with_its_recording(redis_server):
    queue = await RedisJobQueue(RedisAccess(redis_server.url, SECRET), "t", job_timeout=1).start()
    try:
        await _link(redis_server)
        await queue._refresh()
        future = await queue.enqueue("A", RenderTask("nobody takes this"))
        job_id = await _job_key(queue)
        assert 0 < await queue._client.pttl(f"t:job:{job_id}") <= 1000  # expires even if the bot dies now
        with pytest.raises(JobFailed, match="took too long"):
            await asyncio.wait_for(future, 5)
        await asyncio.sleep(0.2)
        assert not await queue._client.exists(f"t:job:{job_id}")  # withdrawn at once, not left to expire
        assert await queue._client.get("t:count:A") is None
    finally:
        await queue.close(drain=False)


async def test_redis_with_the_readme_acl_user_and_behind_tls(redis_server, tmp_path):
    import redis

    admin = redis.Redis.from_url(redis_server.url)
    # README "Running it safely": the bot's own user, limited to its keys, no dangerous commands.
    admin.execute_command("ACL", "SETUSER", "voicebot", "on", ">redis-pw-123", "~t:*",
                          "+@all", "-@dangerous", "+info", "+config|get")
    admin.execute_command("ACL", "SETUSER", "default", "off")
    tunnel = TlsTunnel(redis_server.port, tmp_path / "tls").start()
    try:
        with pytest.raises(RuntimeError, match="not reachable"):  # nobody without the password
            await RedisJobQueue(RedisAccess(redis_server.url, SECRET), "t").start()
        url = f"rediss://voicebot@127.0.0.1:{tunnel.port}/0"
        with pytest.raises(RuntimeError, match="not reachable"):  # the system CAs do not know this server
            await RedisJobQueue(RedisAccess(url, SECRET, "redis-pw-123"), "t").start()
        access = RedisAccess(url, SECRET, "redis-pw-123", str(tunnel.ca_file))
        queue = await RedisJobQueue(access, "t", job_timeout=30).start()
        link = WorkerLink(access, "t", 30.0)
        await link.open()
        await link.register(IDENTITY)
        await queue._refresh()
        future = await queue.enqueue("A", RenderTask("over TLS"))
        job_id, task, _ = await link.claim(wait=0.5)
        assert _text(task) == "over TLS"
        await link.complete(job_id, pack(Rendered(b"ok", 1.0, b"")), 0.1)
        assert (await asyncio.wait_for(future, 5)).ogg == b"ok"
        await link.close()
        await queue.close(drain=False)
    finally:
        tunnel.stop()


async def test_the_first_request_after_a_redis_crash_goes_through_on_a_fresh_connection(queue, redis_server):
    link = await _link(redis_server)
    await queue._refresh()
    await queue._client.ping()  # a pooled connection, idle, that the crash will leave dead
    redis_server.kill()
    redis_server.start()
    await link.open()
    await link.register(IDENTITY)
    future = await _enqueue(queue, "A", "right after the crash")  # not "can't be reached"
    job_id, task, _ = await link.claim(wait=0.5)
    assert _text(task) == "right after the crash"
    await link.complete(job_id, pack(Rendered(b"ok", 1.0, b"")), 0.1)
    assert (await asyncio.wait_for(future, 10)).ogg == b"ok"


async def test_a_redis_that_comes_back_at_once_is_still_noticed_and_its_lost_jobs_told(queue, redis_server):
    await _link(redis_server)
    await queue._refresh()
    future = await _enqueue(queue, "A", "lost in a quick restart")
    redis_server.kill()
    redis_server.start()  # back before any read fails for long: the client's retry hides the gap
    with pytest.raises(Busy, match="restarted"):
        await asyncio.wait_for(future, 10)
