"""A canary engine on its own worker: real ``python -m bot.worker`` processes behind a real
redis-server, one running the default engine, one only the IndexTTS engine (the package's real
code on tiny random weights).  The rollout sends requests to the canary's lane while it runs, and
to the primary when the canary worker stops."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from bot.app import BotApp
from bot.config import load_config
from tests.bot.conftest import clone
from tests.bot.core.commands.helpers import say
from tests.servers import RedisServer

SECRET_ENV = {"VOICEBOT_QUEUE_SECRET": "canary-test-secret-" * 2, "VOICEBOT_WATERMARK_KEYS": "ca" * 32}


async def _until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


@pytest.fixture
def cluster(tmp_path, tiny_model_dir):
    """Redis, the config, and two workers: the primary engine's and the canary's."""
    redis = RedisServer(tmp_path / "redis").start()
    config = tmp_path / "config.toml"
    config.write_text(f"""
[bot]
data_dir = "{tmp_path / 'data'}"
preload_clone_models = false
max_wait_seconds = 600
[engines.indextts]
model_dir = "{tiny_model_dir}"
seed = 7
threads = 1
diffusion_steps = 4
[rollout]
canary = "indextts"
percent = 100
[queue]
url = "{redis.url}"
prefix = "canary"
lease_seconds = 3
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **SECRET_ENV}
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("default", "indextts")}
    # the canary asks for two job slots: its GPU engine runs one job at a time, so it gets one
    workers = {name: subprocess.Popen([sys.executable, "-m", "bot.worker", "--config", str(config), "--engines", name,
                                       "--jobs", "2" if name == "indextts" else "1"],
                                      stdout=log, stderr=subprocess.STDOUT, env=env) for name, log in logs.items()}
    try:
        yield config, workers, lambda: " | ".join((tmp_path / f"{n}.log").read_text()[-1500:] for n in logs)
    finally:
        for w in workers.values():
            if w.poll() is None:
                w.kill()
                w.wait(30)
        for log in logs.values():
            log.close()
        redis.stop()


async def test_the_canary_speaks_while_its_worker_runs_and_the_primary_when_it_stops(cluster, engine):
    config, workers, logs = cluster
    app = await BotApp(load_config(config, env=SECRET_ENV)).start()
    try:
        identity = app.jobs.engine
        await _until(lambda: set(identity.available) == {"default", "indextts"}, 300, "workers did not register: " + logs())
        assert app.jobs.workers == 2  # job slots: one each
        out = await say(app, "Hello from the canary.", user="ann")
        assert out.last.kind == "voice" and "failed" not in out.last.text
        # One /clone: the primary's worker checks the recording, the canary's makes its own profile.
        await clone(app, engine, user="bo")
        stored = await app.store.voice((await app.store.find_user("test", "bo")).id)
        assert set(stored.profiles) == {"default", "indextts"}
        out = await say(app, "My own voice, on the canary.", user="bo")
        assert out.last.kind == "voice" and out.last.text == ""  # no fallback: the canary has this voice
        workers["indextts"].send_signal(signal.SIGTERM)  # the canary worker goes away
        await _until(lambda: workers["indextts"].poll() is not None, 60, "the canary worker did not stop")
        await _until(lambda: "indextts" not in identity.available, 30, "the stopped worker stayed registered")
        out = await say(app, "Hello again.", user="ann")
        assert out.last.kind == "voice"
        ann = await app.store.find_user("test", "ann")
        rows = await app.db.fetchall("SELECT engine FROM usage_records WHERE user_id=? ORDER BY id", ann.id)
        assert [r[0] for r in rows] == ["indextts", "default"]
        metrics = app.metrics.render().decode()
        assert 'voicebot_notes_total{cohort="everyone",engine="indextts"} 2.0' in metrics, metrics  # ann's and bo's
        assert 'voicebot_notes_total{cohort="primary",engine="default"} 1.0' in metrics
    finally:
        await app.stop()


def test_a_worker_refuses_engines_that_are_not_configured(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[bot]\nconsent_mode = "button"\ni_understand_anyone_can_clone_anyone = true\n[queue]\nurl = "redis://127.0.0.1:1/0"\n')
    proc = subprocess.run([sys.executable, "-m", "bot.worker", "--config", str(config), "--engines", "default,bogus"],
                          capture_output=True, text=True, env={**os.environ, **SECRET_ENV}, timeout=120)
    assert proc.returncode == 2, proc.stderr[-500:]
    assert "--engines must name configured engines (default; got bogus)" in proc.stderr
