"""Chaos check of the scale-out: requests in flight while a worker is SIGKILLed and restarted,
then while Redis is SIGKILLed and restarted.  No request may be lost without a message, and none
may be answered twice.

Two ``python -m bot.worker`` processes behind a real redis-server (from the test extras), the bot's
real command layer in this process; each phase sends ``/say`` from many users at once and, two
seconds in, does its damage.  Every request ends in exactly one of: its voice note, or one message
(busy / try again).  "lost" (neither) and "twice" (a note and a message, or two notes) must be 0.

Usage: python bench/chaos.py [--users 10] [--per-user 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import MARK_KEYS, SECRET, WORDS, Collect, _wait_workers  # noqa: E402

PREFIX = "chaos"


def _worker(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.worker", "--config", str(config)], cwd=ROOT,
                            env={**os.environ, "VOICEBOT_QUEUE_SECRET": SECRET, "VOICEBOT_WATERMARK_KEYS": MARK_KEYS, "PYTHONUNBUFFERED": "1"},
                            stdout=open(log, "a"), stderr=subprocess.STDOUT)


async def _phase(app, users: int, per_user: int, damage: Optional[Callable[[], None]], tag: str) -> dict:
    from bot.core.invocation import Actor, Invocation, Place

    async def one(user: int, k: int) -> Collect:
        out = Collect()
        text = f"{tag} note {k} for user {user}: the {WORDS[(user + k) % len(WORDS)]} is lovely today."
        inv = Invocation("say", text, Actor("bench", f"{tag}{user}", f"u{user}"), Place("bench", f"dm:{tag}{user}", True))
        await app.commands.handle(inv, out)
        return out

    started = time.perf_counter()
    requests = asyncio.gather(*[one(u, k) for u in range(users) for k in range(per_user)])
    if damage is not None:
        await asyncio.sleep(2.0)
        await asyncio.to_thread(damage)
    outs = await requests
    delivered = sum(1 for o in outs if o.voices == 1 and not o.texts)
    told = sum(1 for o in outs if o.voices == 0 and len(o.texts) == 1)
    lost = sum(1 for o in outs if o.voices == 0 and not o.texts)
    return {"requests": len(outs), "delivered": delivered, "told": told, "lost": lost,
            "twice": len(outs) - delivered - told - lost, "seconds": time.perf_counter() - started,
            "messages": sorted({t.split(".")[0] for o in outs for t in o.texts})}


async def _run(folder: Path, users: int, per_user: int) -> list[tuple[str, dict]]:
    from bot.app import BotApp
    from bot.config import BotConfig, Config, QueueConfig
    from indextts_core.watermark import WatermarkKey
    from tests.servers import RedisServer

    redis = RedisServer(folder / "redis").start()
    config = folder / "worker.toml"
    config.write_text(f'[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n[queue]\nurl = "{redis.url}"\nprefix = "{PREFIX}"\n'
                      'lease_seconds = 3\n')
    logs = [folder / f"worker{i}.log" for i in range(2)]
    workers = [_worker(config, log) for log in logs]
    try:
        _wait_workers(redis.url, 2, workers, prefix=PREFIX)
        bot = Config(bot=BotConfig(data_dir=folder / "data", consent_mode="button", preload_clone_models=False,
                                   max_pending=users * per_user * 2, per_user=per_user, max_wait_seconds=600),
                     queue=QueueConfig(url=redis.url, prefix=PREFIX, lease_seconds=3), queue_secret=SECRET,
                     watermark_keys=(WatermarkKey.from_text(MARK_KEYS),))
        app = await BotApp(bot).start()
        try:
            await app.jobs._refresh()

            def kill_worker() -> None:
                workers[0].send_signal(signal.SIGKILL)
                workers[0].wait(10)
                workers[0] = _worker(config, logs[0])  # restarted at once; it takes its load time to join

            def kill_redis() -> None:
                redis.kill()
                time.sleep(1.0)
                redis.start()

            rows = [("no damage", await _phase(app, users, per_user, None, "a")),
                    ("worker SIGKILLed + restarted", await _phase(app, users, per_user, kill_worker, "b"))]
            _wait_workers(redis.url, 2, workers, prefix=PREFIX)
            await asyncio.sleep(2.0)
            rows.append(("Redis SIGKILLed + restarted", await _phase(app, users, per_user, kill_redis, "c")))
            # after the restart the workers re-register with their next heartbeat: service resumes
            await asyncio.sleep(3.0)
            rows.append(("after the Redis restart", await _phase(app, users, per_user, None, "d")))
        finally:
            await app.stop()
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            try:
                w.wait(60)
            except subprocess.TimeoutExpired:
                w.kill()
        redis.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--per-user", type=int, default=3)
    args = parser.parse_args()
    from tests.servers import redis_server_bin

    if redis_server_bin() is None:
        raise SystemExit("needs redis-server: the test extras ship it (make test installs them)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = asyncio.run(_run(Path(tmp), args.users, args.per_user))
    print(f"{args.users} users x {args.per_user} /say at once per phase, 2 workers, default engine, {os.cpu_count()} cores")
    print(f"{'phase':30} {'requests':>8} {'note':>6} {'told':>6} {'lost':>6} {'twice':>6} {'seconds':>8}")
    for name, r in rows:
        print(f"{name:30} {r['requests']:8d} {r['delivered']:6d} {r['told']:6d} {r['lost']:6d} {r['twice']:6d} "
              f"{r['seconds']:8.1f}")
        for message in r["messages"]:
            print(f"{'':32}told: {message}.")
    bad = sum(r["lost"] + r["twice"] for _, r in rows)
    print("no request lost, none answered twice" if bad == 0 else f"FAILED: {bad} request(s) lost or answered twice")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
