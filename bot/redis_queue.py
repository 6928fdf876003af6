"""The synthesis queue across machines: bot processes enqueue into Redis, ``python -m bot.worker``
processes take the jobs.

Why plain Redis (redis-py) and not arq, RQ or Dramatiq: those queues are first-in first-out, and
the bot promises per-user round-robin (nobody waits behind another user's backlog), a per-user
limit and a busy estimate across the whole cluster.  Those are a few atomic steps over lists, so
each step is one Lua script and Redis runs it atomically:

- Jobs wait in **lanes**, one per engine (``""``: any worker that runs the primary engine, for
  clones and the primary's notes), so a job goes only to a worker that has its engine.  In each
  lane ``<p>:lane:<engine>:ring`` lists the users with queued jobs, each once, and
  ``<p>:lane:<engine>:u:<user>`` their job ids, oldest first; a worker's claim takes the next
  user's oldest job in the first of its lanes that has one, and puts that user at the back.
- ``<p>:job:<id>`` holds the sealed task, the user, the reply list, the attempt count and the
  sealed "worker lost" reply; ``<p>:count:<user>`` the user's queued + running jobs;
  ``<p>:pending`` all queued ones.  A queued job expires when its requester stops waiting
  (``job_timeout``): a recording never lingers in Redis after the request is over.
- ``<p>:running`` is a sorted set of leases: a worker renews its job's lease while it works.  A job
  whose lease ran out (its worker died) is queued again at the front, once; the second time its
  user gets a message.  A late result from a worker that lost its lease is dropped, so no reply is
  ever sent twice.
- Results go to the reply list of the bot process that asked (``<p>:done:<bot id>``), read by one
  task that resolves the waiting futures.

Jobs, results and worker registrations carry HMAC seals (:mod:`bot.queue_seal`): a message
from someone who reached Redis without the deployment's secret is refused and logged.

Recordings pass through Redis (a /clone job carries the clip), in memory only: run Redis without
persistence (``save ""``, ``appendonly no``).  Start-up warns when it is on.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from .config import Config, ConfigError
from .core.errors import Busy
from .core.jobs import busy_error
from .core.tasks import JobFailed, pack, unpack
from .logsafe import without_credentials
from .queue_seal import Forged, Sealer

log = logging.getLogger(__name__)

#: A job is tried on at most this many workers: the one that died, and one more.
MAX_ATTEMPTS = 2
#: Results no bot picked up (it restarted) are dropped after this long.
RESULT_TTL_S = 600

_PRELUDE = """
local p = ARGV[1]
local function finish(id, user)
  redis.call('ZREM', p..':running', id)
  redis.call('DEL', p..':job:'..id)
  if redis.call('DECR', p..':count:'..user) <= 0 then redis.call('DEL', p..':count:'..user) end
end
local function wake()
  redis.call('RPUSH', p..':wake', '1')
  redis.call('LTRIM', p..':wake', -64, -1)
end
"""

# ARGV: prefix, id, user, sealed task, reply key, per-user limit, max pending, now, time to live
# while queued (ms), lane
_ENQUEUE = _PRELUDE + """
local id, user = ARGV[2], ARGV[3]
local lane = p..':lane:'..ARGV[10]
if tonumber(redis.call('GET', p..':count:'..user) or '0') >= tonumber(ARGV[6]) then return -1 end
if tonumber(redis.call('GET', p..':pending') or '0') >= tonumber(ARGV[7]) then return -2 end
local jkey = p..':job:'..id
redis.call('HSET', jkey, 'task', ARGV[4], 'user', user, 'reply', ARGV[5], 'attempts', 0,
           'state', 'queued', 'worker', '', 'queued_at', ARGV[8], 'ttl', ARGV[9], 'lane', ARGV[10])
redis.call('PEXPIRE', jkey, ARGV[9])
redis.call('INCR', p..':count:'..user)
redis.call('INCR', p..':pending')
redis.call('INCR', lane..':pending')
if redis.call('RPUSH', lane..':u:'..user, id) == 1 then redis.call('RPUSH', lane..':ring', user) end
wake()
return 1
"""

# ARGV: prefix, worker id, lease deadline (ms), the lanes it serves… → {id, task, attempt} or nil
_CLAIM = _PRELUDE + """
for i = 4, #ARGV do
 local lane = p..':lane:'..ARGV[i]
 while true do
  local user = redis.call('LPOP', lane..':ring')
  if not user then break end
  local ukey = lane..':u:'..user
  local id = redis.call('LPOP', ukey)
  if id then
    if redis.call('LLEN', ukey) > 0 then redis.call('RPUSH', lane..':ring', user) end
    redis.call('DECR', p..':pending')
    redis.call('DECR', lane..':pending')
    local jkey = p..':job:'..id
    if redis.call('EXISTS', jkey) == 1 then
      redis.call('HSET', jkey, 'state', 'running', 'worker', ARGV[2])
      redis.call('PERSIST', jkey)  -- running: the lease decides from now on
      local attempt = redis.call('HINCRBY', jkey, 'attempts', 1)
      redis.call('ZADD', p..':running', ARGV[3], id)
      return {id, redis.call('HGET', jkey, 'task'), attempt}
    end
    if redis.call('DECR', p..':count:'..user) <= 0 then redis.call('DEL', p..':count:'..user) end
  end
 end
end
return false
"""

# ARGV: prefix, id, worker id, new lease deadline (ms) → 1 while the job is still this worker's
_RENEW = _PRELUDE + """
local jkey = p..':job:'..ARGV[2]
if redis.call('HGET', jkey, 'worker') ~= ARGV[3] or redis.call('HGET', jkey, 'state') ~= 'running' then return 0 end
redis.call('ZADD', p..':running', 'XX', ARGV[4], ARGV[2])
return 1
"""

# ARGV: prefix, id, worker id, reply message, seconds the job took → 1 delivered, 0 dropped (stale)
_COMPLETE = _PRELUDE + """
local id = ARGV[2]
local jkey = p..':job:'..id
if redis.call('HGET', jkey, 'worker') ~= ARGV[3] or redis.call('HGET', jkey, 'state') ~= 'running' then return 0 end
local reply = redis.call('HGET', jkey, 'reply')
redis.call('RPUSH', reply, ARGV[4])
redis.call('EXPIRE', reply, %d)
finish(id, redis.call('HGET', jkey, 'user'))
local avg = tonumber(redis.call('GET', p..':avg') or ARGV[5])
redis.call('SET', p..':avg', tostring(0.8 * avg + 0.2 * tonumber(ARGV[5])))
return 1
""" % RESULT_TTL_S

# ARGV: prefix, now (ms), max attempts → {jobs handled, then (id, reply key) of each job given up}:
# the caller, who holds the secret, seals their "worker lost" replies (nothing pre-sealed is kept
# in Redis for a neighbour to deliver early)
_REAP = _PRELUDE + """
local n = 0
local lost = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', p..':running', '-inf', ARGV[2])) do
  local jkey = p..':job:'..id
  redis.call('ZREM', p..':running', id)
  local user = redis.call('HGET', jkey, 'user')
  if user then
    -- (fields read with care: a hash someone forged must not make the script fail for everyone)
    if tonumber(redis.call('HGET', jkey, 'attempts') or ARGV[3]) < tonumber(ARGV[3]) then
      -- back to the front: the job keeps its place in its user's line, its user in the ring
      redis.call('HSET', jkey, 'state', 'queued', 'worker', '')
      local ttl = tonumber(redis.call('HGET', jkey, 'ttl') or '')
      if ttl then redis.call('PEXPIRE', jkey, ttl) end
      redis.call('INCR', p..':pending')
      local lane = p..':lane:'..(redis.call('HGET', jkey, 'lane') or '')
      redis.call('INCR', lane..':pending')
      if redis.call('LPUSH', lane..':u:'..user, id) == 1 then redis.call('LPUSH', lane..':ring', user) end
      wake()
    else
      local reply = redis.call('HGET', jkey, 'reply')
      if reply then
        table.insert(lost, id)
        table.insert(lost, reply)
      end
      finish(id, user)
    end
    n = n + 1
  end
end
table.insert(lost, 1, n)
return lost
"""

# ARGV: prefix, id, user, lane → 1 when a queued job was withdrawn (also one whose hash already
# expired: its place in line and its counts are released all the same)
_CANCEL = _PRELUDE + """
local id, user = ARGV[2], ARGV[3]
local lane = p..':lane:'..ARGV[4]
local state = redis.call('HGET', p..':job:'..id, 'state')
if state and state ~= 'queued' then return 0 end
if redis.call('LREM', lane..':u:'..user, 0, id) == 0 then return 0 end
if redis.call('LLEN', lane..':u:'..user) == 0 then redis.call('LREM', lane..':ring', 0, user) end
redis.call('DECR', p..':pending')
redis.call('DECR', lane..':pending')
finish(id, user)
return 1
"""

# ARGV: prefix, id → a job refused by the worker that claimed it (forged) leaves without a reply
_DROP = _PRELUDE + """
local user = redis.call('HGET', p..':job:'..ARGV[2], 'user')
if user then finish(ARGV[2], user) else redis.call('ZREM', p..':running', ARGV[2]) end
return 1
"""

WORKER_LOST = JobFailed("The worker making your voice note stopped twice. Please try again in a minute.",
                        "生成语音的工作进程两次中断。请一分钟后再试。")
UNREACHABLE = Busy("The synthesis queue can't be reached right now. Please try again in a minute.",
                   "暂时无法连接合成队列。请一分钟后再试。")


@dataclass(frozen=True)
class RedisAccess:
    """How to reach Redis safely: the URL (``rediss://`` for TLS, ``redis://user@host`` for an
    ACL user), the password (from the environment, not the config file), the CA that signed the
    server's TLS certificate (unset: the system's), and the shared secret of the seals."""

    url: str
    secret: str = field(repr=False)  # never in a log line or a traceback's locals
    password: Optional[str] = field(default=None, repr=False)
    ca_file: Optional[str] = None

    def client(self) -> Any:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:  # the optional extra
            raise RuntimeError("[queue] url needs the Redis client: pip install '.[scale]'") from exc
        from redis.asyncio.retry import Retry
        from redis.backoff import ExponentialBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        # After a Redis restart every pooled connection is dead: a command on one is tried again on
        # a fresh connection (connection errors only: a timeout may have run the command already).
        options: dict[str, Any] = {"socket_connect_timeout": 5, "socket_keepalive": True, "health_check_interval": 15,
                                   "retry": Retry(ExponentialBackoff(cap=1.0, base=0.1), 2),
                                   "retry_on_error": [RedisConnectionError]}
        if self.password:
            options["password"] = self.password
        if self.url.startswith("rediss://"):
            options["ssl_cert_reqs"] = "required"  # never fall back to an unverified server
            if self.ca_file:
                options["ssl_ca_certs"] = self.ca_file
        return aioredis.from_url(self.url, **options)


class _Scripts:
    """The Lua steps, registered on one client."""

    def __init__(self, client) -> None:
        self.drop = client.register_script(_DROP)
        self.enqueue = client.register_script(_ENQUEUE)
        self.claim = client.register_script(_CLAIM)
        self.renew = client.register_script(_RENEW)
        self.complete = client.register_script(_COMPLETE)
        self.reap = client.register_script(_REAP)
        self.cancel = client.register_script(_CANCEL)


async def reap(scripts: _Scripts, client, prefix: str, sealer: Sealer) -> int:
    """Requeue (or fail, on the last attempt) the jobs whose worker stopped renewing its lease;
    the failed ones get a "worker lost" reply sealed here."""
    found = await scripts.reap(args=[prefix, int(time.time() * 1000), MAX_ATTEMPTS])
    for i in range(1, len(found) - 1, 2):
        job_id, reply = found[i].decode(errors="replace"), found[i + 1]
        await client.rpush(reply, result_message(sealer, job_id, pack(WORKER_LOST)))
        await client.expire(reply, RESULT_TTL_S)
    return int(found[0])


async def check_persistence(client, url: str) -> None:
    """Warn when Redis writes its data to disk: /clone jobs carry recordings."""
    try:
        save = (await client.config_get("save")).get("save", "")
        aof = (await client.config_get("appendonly")).get("appendonly", "no")
    except Exception:  # managed Redis often refuses CONFIG: say what to check instead
        log.warning("cannot read the persistence settings of %s: make sure it keeps no snapshot or AOF on disk, "
                    "because /clone jobs carry voice recordings", without_credentials(url))
        return
    if save or aof == "yes":
        log.warning("Redis at %s saves its data to disk (save %r, appendonly %s): /clone jobs carry voice "
                    "recordings, and they must not reach a disk. Run it with --save '' --appendonly no.",
                    without_credentials(url), save, aof)


def redis_access(config: Config) -> RedisAccess:
    """The :class:`RedisAccess` of ``[queue]`` and the environment (load_config checked both)."""
    queue = config.queue
    if not queue.url or not config.queue_secret:
        raise ConfigError("[queue] url and VOICEBOT_QUEUE_SECRET are both needed")
    return RedisAccess(queue.url, config.queue_secret, config.redis_password,
                       str(queue.tls_ca_file) if queue.tls_ca_file else None)


@dataclass
class _Waiting:
    future: asyncio.Future
    queued_at: float
    user: str
    lane: str = ""
    timer: Optional[asyncio.TimerHandle] = None


def lane_of(task: Any) -> str:
    """The lane a job waits in: its engine's, or ``""`` (a worker running the primary engine)."""
    return str(getattr(task, "engine", None) or "")


class EngineIdentity:
    """The engines the workers run, as they registered them: the primary's ``name`` and
    ``version`` and every engine with the profile versions it reads (the bot checks stored
    profiles against them without loading any engine)."""

    def __init__(self) -> None:
        self.name: Optional[str] = None
        self.version: Optional[str] = None
        self.available: dict[str, frozenset[str]] = {}


class RedisJobQueue:
    """The bot side: same interface as :class:`~bot.core.jobs.JobQueue` (``enqueue``,
    ``estimate_wait``, ``depth``, ``workers``, ``close``), jobs run by worker processes."""

    def __init__(self, access: RedisAccess, prefix: str = "voicebot", max_pending: int = 64, per_user: int = 2,
                 job_timeout: float = 300.0, on_finished: Optional[Callable[[float, str], None]] = None,
                 primary: Optional[str] = None, lease_s: float = 30.0) -> None:
        """``primary``: the configured primary engine (None: the one most workers run);
        ``lease_s``: the workers' lease ([queue] lease_seconds), which bounds a registration's age."""
        self.access, self.url, self.prefix = access, access.url, prefix
        self.lease_s = lease_s
        self.sealer = Sealer(access.secret)
        self.max_pending, self.per_user = max_pending, per_user
        self.job_timeout = job_timeout
        self.on_finished = on_finished
        self.engine = EngineIdentity()
        self.primary = primary
        self._lane_slots: dict[str, int] = {}  # lane → job slots of the workers serving it
        self._lane_pending: dict[str, int] = {}  # lane → jobs queued in it
        self.bot_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._reply = f"{prefix}:done:{self.bot_id}"
        self._client: Any = None
        self._loaded: Optional[_Scripts] = None
        self._waiting: dict[str, _Waiting] = {}
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._stopping = False
        self._run_id: Optional[str] = None
        self.workers = 0
        self._pending = 0
        self._running = 0
        self._avg_seconds = 1.0

    async def start(self) -> "RedisJobQueue":
        self._client = self.access.client()
        try:
            info = await self._client.info("server")
        except Exception as exc:
            await self._client.aclose()
            raise RuntimeError(f"[queue] url {without_credentials(self.url)} is not reachable: {exc}") from exc
        self._run_id = info.get("run_id")
        self._loaded = _Scripts(self._client)
        await check_persistence(self._client, self.url)
        await self._refresh()
        self._tasks = [asyncio.create_task(self._read_results(), name="redis-results"),
                       asyncio.create_task(self._monitor(), name="redis-monitor")]
        log.info("synthesis queue: Redis at %s, %d worker(s) registered", without_credentials(self.url), self.workers)
        return self

    @property
    def _scripts(self) -> _Scripts:
        if self._loaded is None:
            raise RuntimeError("not started: the Lua scripts load when Redis is first reached")
        return self._loaded

    # --- what the command layer uses ----------------------------------------------------------

    @property
    def depth(self) -> int:
        return self._pending + self._running

    def estimate_wait(self, engine: Optional[str] = None) -> float:
        """The cluster's wait, or (``engine``) the wait in that engine's lane on the slots that serve it."""
        if engine is not None and engine in self._lane_slots:
            return (self._lane_pending.get(engine, 0) + 1) * self._avg_seconds / max(1, self._lane_slots[engine])
        return (self._pending + self._running) * self._avg_seconds / max(1, self.workers)

    def _busy(self, en: str, zh: str) -> Busy:
        self._finished(None, "busy")
        return busy_error(self.estimate_wait(), en, zh)

    async def enqueue(self, user: str, task: Any) -> asyncio.Future:
        if self._closing:
            raise Busy("The bot is shutting down. Please try again in a minute.", "机器人正在重启，请一分钟后再试。")
        if self.workers == 0:
            self._finished(None, "busy")
            raise Busy("No voice workers are running right now. Please try again in a few minutes.",
                       "现在没有正在运行的语音工作进程。请几分钟后再试。")
        job_id = uuid.uuid4().hex
        sealed = self.sealer.seal("job", job_id, pack(task))
        try:
            verdict = await self._scripts.enqueue(args=[self.prefix, job_id, user, sealed, self._reply, self.per_user,
                                                        self.max_pending, time.time(), int(self.job_timeout * 1000),
                                                        lane_of(task)])
        except Exception as exc:
            log.warning("enqueue failed: %s", exc)
            self._finished(None, "busy")
            raise UNREACHABLE from exc
        if verdict == -1:
            raise self._busy("You already have requests being made.", "你已有请求正在处理。")
        if verdict == -2:
            raise self._busy("I'm busy with other requests.", "我正忙着处理其他请求。")
        loop = asyncio.get_running_loop()
        waiting = _Waiting(loop.create_future(), time.monotonic(), user, lane_of(task))
        waiting.timer = loop.call_later(self.job_timeout, self._expire, job_id)
        waiting.future.add_done_callback(functools.partial(self._on_done, job_id))
        self._waiting[job_id] = waiting
        self._pending += 1  # until the next refresh: a burst sees itself in the estimate
        return waiting.future

    def _finished(self, waiting: Optional[_Waiting], outcome: str) -> None:
        if self.on_finished is not None:
            self.on_finished(time.monotonic() - waiting.queued_at if waiting is not None else 0.0, outcome)

    def _on_done(self, job_id: str, future: asyncio.Future) -> None:
        waiting = self._waiting.pop(job_id, None)
        if waiting is None:
            return
        if waiting.timer is not None:
            waiting.timer.cancel()
        if future.cancelled():
            self._finished(waiting, "cancelled")
            if self._client is not None:
                asyncio.ensure_future(self._withdraw(job_id, waiting.user, waiting.lane))
        else:
            self._finished(waiting, "failed" if future.exception() is not None else "done")

    async def _withdraw(self, job_id: str, user: str, lane: str) -> None:
        """A cancelled request's job leaves the queue if no worker took it yet."""
        try:
            await self._scripts.cancel(args=[self.prefix, job_id, user, lane])
        except Exception as exc:
            log.debug("cancel of %s failed: %s", job_id, exc)

    def _expire(self, job_id: str) -> None:
        waiting = self._waiting.get(job_id)
        if waiting is not None and not waiting.future.done():
            asyncio.ensure_future(self._withdraw(job_id, waiting.user, waiting.lane))  # nobody waits for it any more
            waiting.future.set_exception(JobFailed(
                "Your voice note took too long to make, and I stopped waiting. Please try again.",
                "语音生成时间过长，我已停止等待。请再试一次。"))

    def _fail_all(self, error: Exception) -> None:
        for waiting in list(self._waiting.values()):
            if not waiting.future.done():
                waiting.future.set_exception(error)

    # --- background -----------------------------------------------------------------------------

    async def _read_results(self) -> None:
        """Resolve futures from this bot's reply list; survive Redis going away and coming back."""
        backoff = 0.5
        while not self._stopping:
            try:
                item = await self._client.blpop([self._reply], timeout=1)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Redis read failed (%s); retrying in %.1f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
                await self._check_restart()
                continue
            if item is None:
                continue
            raw_id, _, sealed = item[1].partition(b"\n")
            job_id = raw_id.decode(errors="replace")
            waiting = self._waiting.get(job_id)
            if waiting is None or waiting.future.done():
                continue  # cancelled or timed out meanwhile
            try:
                payload = self.sealer.open("result", job_id, sealed, max_age=self.job_timeout)
            except Forged:
                # Someone wrote to Redis without the secret: keep waiting for the real result.
                log.warning("refused a result for job %s without a valid seal (forged, or a worker with another "
                            "VOICEBOT_QUEUE_SECRET)", job_id)
                continue
            try:
                result = unpack(payload)
            except Exception:
                log.exception("unreadable result for job %s", job_id)
                result = JobFailed("Making that voice note failed. Please try again in a moment.",
                                   "生成语音失败。请稍后再试。")
            if isinstance(result, JobFailed):
                waiting.future.set_exception(result)
            else:
                waiting.future.set_result(result)

    async def _check_restart(self) -> None:
        """After an error: if Redis came back as a new server, the jobs it held are gone."""
        try:
            run_id = (await self._client.info("server")).get("run_id")
        except Exception:
            return
        if run_id != self._run_id:
            log.warning("Redis restarted: %d waiting request(s) are told to try again", len(self._waiting))
            self._run_id = run_id
            self._fail_all(Busy("The voice queue restarted and lost your request. Please send it again.",
                                "语音队列重启，丢失了你的请求。请重新发送。"))

    async def _monitor(self) -> None:
        while not self._stopping:
            await asyncio.sleep(1.0)
            try:
                await reap(self._scripts, self._client, self.prefix, self.sealer)
                await self._refresh()
                # Asked every second, not only after an error: a Redis that came back within the
                # client's retry leaves no error behind, and the jobs it lost must still be told.
                await self._check_restart()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("queue refresh failed: %s", exc)
                await self._check_restart()

    async def _refresh(self) -> None:
        """Cluster figures for the busy estimate, metrics and the engine's identity."""
        workers = await live_workers(self._client, self.prefix, self.sealer, self.lease_s)
        pipe = self._client.pipeline(transaction=False)
        pipe.get(f"{self.prefix}:pending")
        pipe.zcard(f"{self.prefix}:running")
        pipe.get(f"{self.prefix}:avg")
        pending, running, avg = await pipe.execute()
        self._pending, self._running = int(pending or 0), int(running or 0)
        self._avg_seconds = float(avg) if avg else self._avg_seconds
        self.workers = sum(max(1, int(w.get("slots", 1))) for w in workers)  # job slots across the cluster
        slots: dict[str, int] = {}
        for w in workers:  # each lane's slots: the workers that claim from it
            for lane in w.get("lanes") or [""]:
                slots[str(lane)] = slots.get(str(lane), 0) + max(1, int(w.get("slots", 1)))
        lanes = sorted(slots)
        counts = await self._client.mget([f"{self.prefix}:lane:{lane}:pending" for lane in lanes]) if lanes else []
        self._lane_slots = slots
        self._lane_pending = {lane: max(0, int(c or 0)) for lane, c in zip(lanes, counts)}
        primaries = [w for w in workers if self.primary is None or w["engine"] == self.primary]
        if primaries:
            (name, version), _ = collections.Counter((w["engine"], w["version"]) for w in primaries).most_common(1)[0]
            self.engine.name, self.engine.version = name, version
        elif workers:  # no worker runs the primary now: the rollout lets a running engine stand in
            self.engine.name, self.engine.version = self.primary, None
        available: dict[str, set[str]] = {}
        for w in workers:  # an engine is there while any live worker serves it
            engines = w.get("engines") or {w["engine"]: [w["version"]]}
            for engine, versions in engines.items():
                available.setdefault(str(engine), set()).update(str(v) for v in versions)
        self.engine.available = {k: frozenset(v) for k, v in available.items()}

    async def close(self, drain: bool = True, timeout: float = 30.0) -> None:
        """Stop taking jobs; wait for this bot's jobs (``drain``) or withdraw them."""
        self._closing = True
        if drain and self._waiting:
            futures = [w.future for w in self._waiting.values()]
            await asyncio.wait(futures, timeout=timeout)
        for waiting in list(self._waiting.values()):
            waiting.future.cancel()
        await asyncio.sleep(0)  # let the withdrawals go out
        # The loops stop at their next turn (a blocking read lasts at most a second): cancelling
        # redis-py in the middle of a blocking read can leave it waiting for ever.
        self._stopping = True
        _, late = await asyncio.wait(self._tasks, timeout=5)
        for task in late:
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def result_message(sealer: Sealer, job_id: str, payload: bytes) -> bytes:
    """A result as it goes onto a bot's reply list: the job id, then the sealed payload."""
    return job_id.encode() + b"\n" + sealer.seal("result", job_id, payload)


_refused_workers: set[bytes] = set()


async def live_workers(client, prefix: str, sealer: Sealer, lease_s: float) -> list[dict]:
    """Registered workers whose heartbeat key is still alive and whose registration carries a
    valid seal made within two leases (a worker renews it four times a lease); the dead, the
    forged and the replayed are forgotten."""
    registered = await client.hgetall(f"{prefix}:workers")
    if not registered:
        return []
    ids = list(registered)
    alive = await client.mget([f"{prefix}:alive:{i.decode()}" for i in ids])
    out, gone = [], []
    for worker_id, info, beat in zip(ids, registered.values(), alive):
        if beat is None:
            gone.append(worker_id)
            continue
        try:
            out.append(json.loads(sealer.open("worker", worker_id.decode(), info, max_age=2 * lease_s)))
        except (Forged, ValueError):
            if worker_id not in _refused_workers:  # once per impostor, not every second
                if len(_refused_workers) > 1000:  # bounded: forged ids cost an attacker nothing
                    _refused_workers.clear()
                _refused_workers.add(worker_id)
                log.warning("ignoring worker %r: its registration has no valid seal (forged, or another "
                            "VOICEBOT_QUEUE_SECRET)", worker_id.decode(errors="replace"))
    if gone:
        await client.hdel(f"{prefix}:workers", *gone)
    return out


class WorkerLink:
    """The worker side: register, claim, renew the lease, hand back results."""

    def __init__(self, access: RedisAccess, prefix: str, lease_s: float, lanes: Sequence[str] = ("",),
                 job_timeout_s: float = 300.0) -> None:
        """``lanes``: the engines this worker runs (``""``: it runs the primary engine too);
        ``job_timeout_s``: how long a bot waits for a job ([queue] job_timeout_seconds): a job
        sealed longer ago than that is a replay (nobody waits for it), refused."""
        self.access, self.url, self.prefix, self.lease_s = access, access.url, prefix, lease_s
        self.job_max_age_s = job_timeout_s
        self.lanes = collections.deque(lanes)
        self.sealer = Sealer(access.secret)
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.identity: dict = {}
        self._client: Any = None
        self._loaded: Optional[_Scripts] = None

    async def open(self) -> None:
        """Connect (before the slow model load, so a wrong URL fails at once)."""
        self._client = self.access.client()
        await self._client.ping()
        self._loaded = _Scripts(self._client)
        await check_persistence(self._client, self.url)

    async def register(self, identity: dict, job_seconds: float = 1.0) -> None:
        """Announce this worker (engine name and version, device); ``job_seconds`` (measured at
        warm-up) seeds the cluster's average job time while no job has finished yet."""
        self.identity = identity
        await self._client.set(f"{self.prefix}:avg", str(job_seconds), nx=True)
        await self.beat()

    async def beat(self) -> None:
        """Say this worker is alive (and who it is) for a lease's length."""
        identity = self.sealer.seal("worker", self.worker_id, json.dumps(self.identity).encode())
        await self._client.hset(f"{self.prefix}:workers", self.worker_id, identity)
        await self._client.set(f"{self.prefix}:alive:{self.worker_id}", "1", px=int(self.lease_s * 1000))

    @property
    def _scripts(self) -> _Scripts:
        if self._loaded is None:
            raise RuntimeError("not started: the Lua scripts load when Redis is first reached")
        return self._loaded

    def _deadline(self) -> int:
        return int((time.time() + self.lease_s) * 1000)

    async def claim(self, wait: float = 1.0) -> Optional[tuple[str, bytes, int]]:
        """The next job in round-robin order (id, packed task, attempt), waiting up to ``wait`` s.
        A job without a valid seal is dropped (logged), and the wait goes on."""
        await reap(self._scripts, self._client, self.prefix, self.sealer)
        self.lanes.rotate(-1)  # each lane first in turn: one engine's backlog does not starve another's
        job = await self._scripts.claim(args=[self.prefix, self.worker_id, self._deadline(), *self.lanes])
        if job is None:
            await self._client.blpop([f"{self.prefix}:wake"], timeout=wait)
            job = await self._scripts.claim(args=[self.prefix, self.worker_id, self._deadline(), *self.lanes])
        if job is None:
            return None
        job_id, sealed, attempt = job[0].decode(errors="replace"), job[1], int(job[2])
        try:
            return job_id, self.sealer.open("job", job_id, sealed, max_age=self.job_max_age_s), attempt
        except Forged:
            log.warning("refused job %s: it has no valid seal (written to Redis by someone without "
                        "VOICEBOT_QUEUE_SECRET, or a bot with another secret)", job_id)
            await self._scripts.drop(args=[self.prefix, job_id])
            return None

    async def renew(self, job_id: str) -> bool:
        return bool(await self._scripts.renew(args=[self.prefix, job_id, self.worker_id, self._deadline()]))

    async def complete(self, job_id: str, payload: bytes, seconds: float) -> bool:
        """Deliver the result; False when the job was no longer this worker's (dropped)."""
        message = result_message(self.sealer, job_id, payload)
        return bool(await self._scripts.complete(args=[self.prefix, job_id, self.worker_id, message, seconds]))

    async def depth(self) -> int:
        pending, running = await asyncio.gather(self._client.get(f"{self.prefix}:pending"),
                                                self._client.zcard(f"{self.prefix}:running"))
        return int(pending or 0) + int(running or 0)

    async def close(self) -> None:
        if self._client is not None:
            try:
                await self._client.hdel(f"{self.prefix}:workers", self.worker_id)
                await self._client.delete(f"{self.prefix}:alive:{self.worker_id}")
            except Exception:
                pass  # Redis gone: the registration expires with its heartbeat
            await self._client.aclose()
            self._client = None
