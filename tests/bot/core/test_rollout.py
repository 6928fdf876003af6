"""Rollout rules: a stable split of users, allow-listed servers, the user's own choice."""

import os
import subprocess
import sys

from bot.core.rollout import Rollout, Route, bucket, route

RUNNING = ("default", "indextts")


def test_a_percentage_splits_users_stably_and_grows_without_moving_anyone_back():
    users = [str(1000 + i) for i in range(2000)]
    at = {p: {u for u in users if route(Rollout("indextts", percent=p), "default", RUNNING, "tg", "g", u).engine == "indextts"}
          for p in (0, 10, 50, 100)}
    assert not at[0] and len(at[100]) == len(users)
    assert abs(len(at[50]) / len(users) - 0.5) < 0.05 and abs(len(at[10]) / len(users) - 0.1) < 0.03
    assert at[10] <= at[50]  # a user on the canary at 10 % stays on it at 50 %
    # stable across processes (a salted hash() would move users at every restart)
    code = "from bot.core.rollout import bucket; print([bucket('tg', str(1000 + i)) for i in range(50)])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    assert other.strip() == str([bucket("tg", u) for u in users[:50]])
    assert route(Rollout("indextts", percent=50), "default", RUNNING, "tg", "g", next(iter(at[50]))).cohort == "percent"


def test_servers_choices_and_engines_that_do_not_run():
    rules = Rollout("indextts", servers=frozenset({"discord:42"}))
    assert route(rules, "default", RUNNING, "discord", "42", "u").cohort == "server"
    assert route(rules, "default", RUNNING, "discord", "43", "u").engine == "default"
    assert route(rules, "default", ("default",), "discord", "42", "u").engine == "default"  # the canary is down
    assert route(rules, "default", RUNNING, "discord", "43", "u", choice="indextts").cohort == "chosen"
    no_choice = Rollout("indextts", user_choice=False)
    assert route(no_choice, "default", RUNNING, "discord", "43", "u", choice="indextts").engine == "default"
    assert route(Rollout(), "default", RUNNING, "tg", "g", "u", choice="gone").engine == "default"


def test_without_the_primary_running_another_engine_stands_in():
    assert route(Rollout(), "default", ("indextts",), "tg", "g", "u") == Route("indextts", "fallback")
