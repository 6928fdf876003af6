"""Bot benchmarks through the real PTB Application and the fake Bot API server (loopback HTTP).

Prints /say latency (p50/p95), a 50-user load run (all answered, p95, fairness), and peak RSS.
Usage: python bench/bot.py [--requests 200] [--users 50] [--rate 2.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.telegram import run_telegram  # noqa: E402
from bot.app import BotApp  # noqa: E402
from bot.config import BotConfig, Config  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeTelegram  # noqa: E402

S12 = "Please remember to bring your umbrella because it might rain this afternoon."
#: 20 Chinese characters each (distinct, so no voice note is reused)
ZH20 = ("今天天气很好，我们一起去公园散步，然后回家吃。", "我明天上午要去银行办事，下午再去超市买些菜。",
        "请问最近的火车站怎么走？我要赶下午三点的车。", "这家饭店的菜又便宜又好吃，我们下次再来这里。",
        "会议改到星期四下午两点半，请大家都准时参加。")
SHORT = ["Good morning, everyone!", "I will be there in ten minutes.", "That sounds like a great plan to me.",
         "Can you send me the report by Friday?", "Happy birthday, I hope you have a wonderful day."]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Tracker:
    """Matches replies (sendVoice / sendMessage) to requests per chat, in order."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.seen = len(fake.calls)  # replies to earlier phases are not ours
        self.sent: dict[int, list[float]] = {}
        self.done: list[tuple[int, float, str]] = []  # (user, latency, kind)

    def send(self, user: int, text: str) -> None:
        self.sent.setdefault(user, []).append(time.perf_counter())
        self.fake.message(text, user=user)

    def poll(self) -> None:
        now = time.perf_counter()
        for call in self.fake.calls[self.seen:]:
            if call.method in ("sendVoice", "sendMessage"):
                user = int(call.params["chat_id"])
                start = self.sent[user].pop(0)
                self.done.append((user, now - start, "voice" if call.method == "sendVoice" else "busy"))
        self.seen = len(self.fake.calls)

    async def wait(self, n: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while len(self.done) < n and time.perf_counter() < deadline:
            self.poll()
            await asyncio.sleep(0.005)
        self.poll()


async def main(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp())
    app = BotApp(Config(bot=BotConfig(data_dir=tmp, consent_mode="button", max_pending=args.max_pending, workers=args.workers,
                                      preload_clone_models=False)))
    t = time.perf_counter()
    await app.start()
    print(f"bot start-up (database, engine warm-up): {time.perf_counter() - t:.1f} s")
    fake = await FakeTelegram().start()
    stop = asyncio.Event()
    task = asyncio.create_task(run_telegram(app, TOKEN, fake.base_url, fake.base_file_url, stop=stop))
    await fake.wait_for("setMyCommands", 2, timeout=30)

    # 1. latency of one /say at a time (distinct texts so no file_id reuse)
    async def one_at_a_time(texts: list[str], label: str, goal_s: float) -> None:
        tr = Tracker(fake)
        lat = []
        for i, text in enumerate(texts):
            tr.send(1, f"/say {text}")
            await tr.wait(i + 1, 30)
            lat.append(tr.done[-1][1])
        print(f"\n## /say latency, {label}, through PTB + fake Bot API ({len(lat)} runs)")
        print(f"p50 {statistics.median(lat):.3f} s, p95 {pct(lat, 95):.3f} s (goal p50 ≤ {goal_s} s)")

    await one_at_a_time([f"{S12} Number {i}." for i in range(args.latency_runs)], "12-word sentence", 0.5)
    await one_at_a_time(list(ZH20), "20-character Chinese sentence", 1.0)

    # 2. load: users send requests with random (Poisson) arrivals
    rng = random.Random(7)
    tr = Tracker(fake)
    start = time.perf_counter()
    t_next = 0.0
    for i in range(args.requests):
        t_next += rng.expovariate(args.rate)
        delay = start + t_next - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tr.poll()
        user = 1000 + rng.randrange(args.users)
        tr.send(user, f"/say {rng.choice(SHORT)} ({i})")
    await tr.wait(args.requests, 300)
    wall = time.perf_counter() - start
    voice = [d for d in tr.done if d[2] == "voice"]
    busy = [d for d in tr.done if d[2] == "busy"]
    lats = [d[1] for d in voice]
    per_user: dict[int, list[float]] = {}
    for u, latency, _ in voice:
        per_user.setdefault(u, []).append(latency)
    means = [statistics.mean(v) for v in per_user.values()]
    jain = sum(means) ** 2 / (len(means) * sum(m * m for m in means))
    print(f"\n## Load: {args.users} users, {args.requests} requests, Poisson arrivals at {args.rate}/s, {args.workers} worker(s)")
    print(f"answered {len(tr.done)}/{args.requests} in {wall:.1f} s: {len(voice)} voice notes, {len(busy)} 'busy, try again'")
    print(f"voice-note latency p50 {statistics.median(lats):.2f} s, p95 {pct(lats, 95):.2f} s, max {max(lats):.2f} s (goal p95 ≤ 6 s)")
    print(f"fairness: Jain index of per-user mean latency {jain:.3f} (1 = equal); "
          f"worst user mean {max(means):.2f} s vs best {min(means):.2f} s")

    # 3. fairness under a backlog: one user floods, another asks once
    tr = Tracker(fake)
    for i in range(10):
        tr.send(1, f"/say {SHORT[i % 5]} flood {i}")
    await asyncio.sleep(0.05)
    tr.send(2, f"/say {S12} (light user)")
    await tr.wait(11, 120)
    light = [d for d in tr.done if d[0] == 2][0]
    heavy_voice = [d for d in tr.done if d[0] == 1 and d[2] == "voice"]
    print(f"\n## Backlog: heavy user sent 10 at once ({len(heavy_voice)} accepted, per-user limit {app.config.bot.per_user}); "
          f"light user's single request answered in {light[1]:.2f} s")

    # 4. one busy group: 20 members send one /say each at once; Telegram allows ~20 messages a minute
    #    per group, and the fake enforces it (429 + retry_after) as Telegram does
    fake.group_limit = 20
    group = -100777
    n = len(fake.calls)
    start = time.perf_counter()
    for user in range(3000, 3020):
        fake.message(f"/say {rng.choice(SHORT)} from member {user}", user=user, chat=group, chat_type="supergroup")
    replies = await fake.wait_for("sendVoice", count=20, since=n, timeout=180)
    group_lat = [c.at - start for c in replies if int(c.params["chat_id"]) == group]
    extra = {m: len([c for c in fake.calls[n:] if c.method == m]) for m in ("getChatAdministrators", "getChatMember", "sendChatAction")}
    print("\n## One group, 20 members × one /say at once (the fake enforces Telegram's 20 messages/min per group)")
    print(f"answered {len(group_lat)}/20; latency p50 {statistics.median(group_lat):.2f} s, p95 {pct(group_lat, 95):.2f} s "
          f"(goal p95 ≤ 5 s); other calls during the run: {extra}")

    # 5. a long text in a private chat: several notes, the first one early
    long_text = " ".join(f"This is sentence number {i}, and it carries on for a little while longer." for i in range(13))
    n = len(fake.calls)
    start = time.perf_counter()
    fake.message(f"/say {long_text}", user=77)
    first = (await fake.wait_for("sendVoice", since=n, timeout=60))[0]
    parts = int(first.params["caption"].rsplit("/", 1)[1].split()[0])
    notes = await fake.wait_for("sendVoice", count=parts, since=n, timeout=120)
    print(f"\n## Long text, {len(long_text)} characters, private chat")
    print(f"{parts} voice notes; first after {first.at - start:.2f} s (goal ≈ 2 s), last after {notes[-1].at - start:.2f} s")

    stop.set()
    await task
    await fake.stop()
    await app.stop()
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (goal ≤ 700 MB)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--rate", type=float, default=2.5, help="arrivals per second")
    ap.add_argument("--latency-runs", type=int, default=20)
    ap.add_argument("--max-pending", type=int, default=64)
    ap.add_argument("--workers", type=int, default=1, help="synthesis threads")
    asyncio.run(main(ap.parse_args()))
