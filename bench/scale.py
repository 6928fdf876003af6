"""Scale-out: voice notes per minute and p95 latency with the engine in the bot process, and with
1 and 2 ``python -m bot.worker`` processes behind a real redis-server, and one worker with two job
slots sharing its models (``--jobs 2``); the bot's and the workers' peak memory in each case.

Every configuration runs in a fresh child process (the "bot"), which sends ``/say`` from many users
at once through the real command layer, and measures from each request to its voice note.
Needs ``redis-server`` (apt-get install redis-server).

All requests arrive at once, so the load is kept under what one engine thread serves within the
bot's 45 s "busy" limit; refusals are counted, not hidden.

Usage: python bench/scale.py [--users 20] [--per-user 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-only-queue-secret-0123456789abcdef"  # bot and workers seal jobs with it (bot/queue_seal.py)
MARK_KEYS = "be" * 32  # bench-only: the deployment's watermark key, as the environment gives it (VOICEBOT_WATERMARK_KEYS)
sys.path.insert(0, str(ROOT))

from bot.core.invocation import BaseResponder  # noqa: E402

WORDS = ["morning", "garden", "yellow", "river", "window", "coffee", "music", "letter", "orange", "station"]


class Collect(BaseResponder):
    """A responder that keeps only what the bench measures."""

    def __init__(self) -> None:
        self.voices = 0
        self.texts: list[str] = []

    async def text(self, message, buttons=None):
        self.texts.append(message)

    async def voice(self, ogg, duration, waveform, caption=None, cache_key=None):
        self.voices += 1

    async def recording(self):
        pass


async def _child(mode: str, redis_url: str, users: int, per_user: int, folder: Path) -> dict:
    from bot.app import BotApp
    from bot.config import BotConfig, Config, QueueConfig
    from indextts_core.watermark import WatermarkKey
    from bot.core.invocation import Actor, Invocation, Place

    queue = QueueConfig(url=redis_url, prefix="bench") if mode == "redis" else QueueConfig()
    config = Config(bot=BotConfig(data_dir=folder / "data", consent_mode="button", preload_clone_models=False,
                                  max_pending=users * per_user, per_user=per_user), queue=queue, queue_secret=SECRET,
                     watermark_keys=(WatermarkKey.from_text(MARK_KEYS),))
    app = await BotApp(config).start()
    try:
        async def one(user: int, k: int) -> Optional[float]:
            out = Collect()
            text = f"Note {k} for user {user}: the {WORDS[(user + k) % len(WORDS)]} is lovely today."
            inv = Invocation("say", text, Actor("bench", str(user), f"u{user}"), Place("bench", f"dm:{user}", True))
            started = time.perf_counter()
            await app.commands.handle(inv, out)
            if out.voices != 1:
                if any("busy" in t for t in out.texts):
                    return None  # refused with "busy, try again in ~N s" (the queue's own limit)
                raise RuntimeError(f"user {user}: {out.texts}")
            return time.perf_counter() - started

        await one(0, 0)  # warm: the first note pays one-off costs
        started = time.perf_counter()
        results = await asyncio.gather(*[one(u, k) for u in range(1, users + 1) for k in range(per_user)])
        wall = time.perf_counter() - started
    finally:
        await app.stop()
    latencies = sorted(r for r in results if r is not None)
    return {"notes": len(latencies), "refused": len(results) - len(latencies), "per_min": 60 * len(latencies) / wall,
            "p50": latencies[len(latencies) // 2], "p95": latencies[int(0.95 * (len(latencies) - 1))],
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _wait_workers(redis_url: str, n: int, procs: list[subprocess.Popen], timeout: float = 300,
                  prefix: str = "bench") -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while len(client.hgetall(f"{prefix}:workers")) < n:
        if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
            raise SystemExit("a worker did not start")
        time.sleep(0.5)


def _peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _run(mode: str, workers: int, args, folder: Path, redis_url: str, slots: int = 1) -> dict:
    procs = []
    if mode == "redis":
        config = folder / f"worker{workers}.toml"
        config.write_text(f'[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n[queue]\nurl = "{redis_url}"\nprefix = "bench"\n')
        procs = [subprocess.Popen([sys.executable, "-m", "bot.worker", "--config", str(config), "--jobs", str(slots)], cwd=ROOT,
                                  env={**os.environ, "VOICEBOT_QUEUE_SECRET": SECRET, "VOICEBOT_WATERMARK_KEYS": MARK_KEYS},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        _wait_workers(redis_url, workers, procs)
    try:
        out = subprocess.run([sys.executable, __file__, "--child", mode, "--redis", redis_url, "--users", str(args.users),
                              "--per-user", str(args.per_user), "--folder", str(folder / f"{mode}{workers}x{slots}")],
                             capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-3000:])
        result: dict = json.loads(out.stdout.strip().splitlines()[-1])
        result["workers_rss_mb"] = sum(_peak_rss_mb(p.pid) for p in procs)
        return result
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--per-user", type=int, default=3)
    parser.add_argument("--child", choices=["local", "redis"])
    parser.add_argument("--redis", default="")
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_child(args.child, args.redis, args.users, args.per_user, args.folder))))
        return
    from tests.servers import RedisServer, redis_server_bin

    if redis_server_bin() is None:
        raise SystemExit("needs redis-server: the test extras ship it (make test installs them)")

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        redis = RedisServer(folder / "redis").start()
        try:
            rows = [("in-process (1 thread)", _run("local", 1, args, folder, redis.url)),
                    ("Redis + 1 worker", _run("redis", 1, args, folder, redis.url)),
                    ("Redis + 2 workers", _run("redis", 2, args, folder, redis.url)),
                    ("Redis + 1 worker x 2 jobs", _run("redis", 1, args, folder, redis.url, slots=2))]
        finally:
            redis.stop()
    print(f"{args.users * args.per_user} voice notes from {args.users} users at once, default engine, {os.cpu_count()} cores")
    print(f"{'setup':26} {'notes/min':>10} {'refused':>8} {'p50 s':>7} {'p95 s':>7} {'bot RSS MB':>11} {'workers RSS MB':>15}")
    for name, r in rows:
        print(f"{name:26} {r['per_min']:10.0f} {r['refused']:8d} {r['p50']:7.2f} {r['p95']:7.2f} {r['rss_mb']:11.0f}"
              f" {r['workers_rss_mb']:15.0f}")
    base = rows[1][1]["per_min"]
    print(f"2 workers / 1 worker throughput: {rows[2][1]['per_min'] / base:.2f}x; "
          f"bot RSS out-of-process / in-process: {rows[1][1]['rss_mb'] / rows[0][1]['rss_mb']:.2f}")
    print(f"1 worker x 2 jobs against 2 workers x 1 job: throughput {rows[3][1]['per_min'] / rows[2][1]['per_min']:.2f}x, "
          f"workers' memory {rows[3][1]['workers_rss_mb'] / rows[2][1]['workers_rss_mb']:.2f}x")


if __name__ == "__main__":
    main()
