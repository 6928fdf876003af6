"""Prometheus metrics and /health, scraped over real HTTP from a running app."""

from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import BotApp
from bot.config import BotConfig, Config
from bot.core.errors import Busy
from tests.bot.core.commands.helpers import say


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


async def test_metrics_count_jobs_latency_and_rtf_and_health_follows_the_app(tmp_path, engine):
    port = _free_port()
    app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="button", preload_clone_models=False,
                                      metrics_port=port)), engine=engine)
    base = f"http://127.0.0.1:{port}"
    await app.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(base + "/health") as r:
                assert r.status == 200 and (await r.json())["engine"] == "default"
            assert (await say(app, "Good morning, everyone! I will be there in ten minutes.")).last.kind == "voice"
            release = threading.Event()
            with pytest.raises(Busy):  # a user's limit reached: refused at the door, and counted
                for _ in range(app.jobs.per_user + 1):
                    app.jobs.submit("flood", release.wait)
            async with http.get(base + "/metrics") as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
                m = _samples(await r.text())
            release.set()
        assert m[("voicebot_jobs_total", (("outcome", "done"),))] >= 1
        assert m[("voicebot_jobs_total", (("outcome", "busy"),))] == 1
        assert m[("voicebot_job_seconds_count", ())] >= 1 and m[("voicebot_job_seconds_sum", ())] > 0
        rtf = (("engine", "default"),)
        assert m[("voicebot_synthesis_rtf_count", rtf)] == 1 and 0 < m[("voicebot_synthesis_rtf_sum", rtf)] < 5
        assert m[("voicebot_notes_total", (("cohort", "primary"), ("engine", "default")))] == 1
        assert m[("voicebot_queue_depth", ())] == app.jobs.per_user  # the flood's jobs, queued or running
        assert m[("voicebot_model_load_seconds", ())] > 0
    finally:
        await app.stop()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):  # gone with the app
            await http.get(base + "/health")


async def test_health_is_503_while_shutting_down(tmp_path, engine):
    """Draining the last jobs on SIGTERM: the orchestrator must stop sending traffic already."""
    port = _free_port()
    app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="button", preload_clone_models=False,
                                      metrics_port=port)), engine=engine)
    await app.start()
    release = threading.Event()
    app.jobs.submit("someone", release.wait)
    stopping = asyncio.create_task(app.stop())
    try:
        await asyncio.sleep(0.2)
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/health") as r:
            assert r.status == 503 and (await r.json())["status"] == "unavailable"
    finally:
        release.set()
        await stopping


async def test_a_taken_metrics_port_is_one_clear_error(tmp_path, engine):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = BotApp(Config(bot=BotConfig(data_dir=tmp_path / "data", consent_mode="button", preload_clone_models=False,
                                          metrics_port=port)), engine=engine)
        with pytest.raises(RuntimeError, match=f"bot.metrics_port {port}"):
            await app.start()
        await app.stop()
