"""What an attacker's account can spend past each limit, through the real command layer and the
default engine in this process (SQLite, one worker).

Each scenario is one account sending requests as fast as the bot answers them, for as many as it
takes to hit the limit and then ``--extra`` more; it reports the engine time booked for the account
(from the metering rows, failed jobs included), the budget that should bound it, and how many
requests ran any compute at all.  A limit holds when the compute stays within its budget plus one
request's overrun (a reservation is an estimate), and every request past it is refused with no
compute.

Scenarios:
  free-compute  ``/say 3.4s <a 100-character sentence>`` in a private chat: the engine makes the
                note, then finds 3.4 s out of reach (the late refusal of the report) — bounded by
                the per-person compute budget.
  quota         plain ``/say`` in a server with a 20 s member quota — bounded by the quota.
  inline        the inline path with its cooldown and the per-person speech budget.

Usage: python bench/abuse.py [--extra 5]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scale import Collect  # noqa: E402

LONG = "The last train leaves at ten, so we should hurry up and finish our dinner before it gets late tonight."
COMPUTE_BUDGET_S = 20
SPEECH_BUDGET_S = 60
MEMBER_QUOTA_S = 20


async def _scenario(app, name: str, extra: int) -> dict:
    from bot.core.invocation import Actor, Invocation, Place
    from bot.storage import Policy

    who = f"attacker-{name}"
    if name == "quota":
        await app.store.set_policy(Policy("bench", "g1", quota_member_s=MEMBER_QUOTA_S))
    refused_in_a_row, sent, computed, requests = 0, 0, 0, 0
    started = time.perf_counter()
    while refused_in_a_row < extra and requests < 2000:
        requests += 1
        if name == "free-compute":
            inv = Invocation("say", f"3.4s {LONG}", Actor("bench", who, who), Place("bench", f"dm:{who}", True))
        elif name == "quota":
            inv = Invocation("say", f"Request {requests}: {LONG}", Actor("bench", who, who), Place("bench", "g1", False))
        else:
            inv = Invocation("inline", f"Inline request {requests}: {LONG}", Actor("bench", who, who),
                             Place("bench", "inline", False))
        before = await _jobs_booked(app, who)
        out = Collect()
        await app.commands.handle(inv, out)
        ran = await _jobs_booked(app, who) > before
        computed += ran
        sent += out.voices
        refused_in_a_row = 0 if ran else refused_in_a_row + 1
        if name == "inline" and not ran and out.texts and "Slow down" in out.texts[-1]:
            refused_in_a_row -= 1  # the cooldown: wait it out, it is not the limit being measured
            await asyncio.sleep(app.commands.services.settings.inline.cooldown_s)
    rows = await app.db.fetchall("SELECT COALESCE(SUM(r.compute_s), 0), COALESCE(SUM(r.audio_s), 0) FROM usage_records r "
                                 "JOIN users u ON u.id = r.user_id WHERE u.platform_user_id=?", who)
    compute, speech = float(rows[0][0]), float(rows[0][1])
    budget = {"free-compute": ("compute", COMPUTE_BUDGET_S), "quota": ("speech", MEMBER_QUOTA_S),
              "inline": ("speech", SPEECH_BUDGET_S)}[name]
    return {"scenario": name, "requests": requests, "ran compute": computed, "notes": sent,
            "compute s": round(compute, 1), "speech s": round(speech, 1), "bound": f"{budget[0]} {budget[1]} s",
            "within": (compute if budget[0] == "compute" else speech) <= budget[1] * 1.0 + 8.0,
            "wall s": round(time.perf_counter() - started, 1)}


async def _jobs_booked(app, who: str) -> int:
    row = await app.db.fetchone("SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id "
                                "WHERE u.platform_user_id=?", who)
    return int(row[0])


async def main(extra: int) -> None:
    from bot.app import BotApp
    from bot.config import BotConfig, Config, LimitsConfig

    with tempfile.TemporaryDirectory() as folder:
        config = Config(bot=BotConfig(data_dir=Path(folder) / "data", preload_clone_models=False),
                        limits=LimitsConfig(speech_seconds_per_user_per_day=SPEECH_BUDGET_S,
                                            compute_seconds_per_user_per_day=COMPUTE_BUDGET_S,
                                            inline_cooldown_seconds=2))
        app = await BotApp(config).start()
        try:
            results = [await _scenario(app, name, extra) for name in ("free-compute", "quota", "inline")]
        finally:
            await app.stop()
    keys = list(results[0])
    print(" | ".join(keys))
    for r in results:
        print(" | ".join(str(r[k]) for k in keys))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra", type=int, default=5, help="requests refused in a row before a scenario ends")
    asyncio.run(main(parser.parse_args().extra))
