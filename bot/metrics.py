"""Prometheus metrics and a health check for orchestrators, on an optional local HTTP port.

``[bot] metrics_port`` (0: off) serves ``/metrics`` (Prometheus text format) and ``/health``
(200 while the bot takes requests, 503 before start-up finished and while shutting down).  The
metrics live in their own registry, so several apps in one process (tests) never mix.
"""

from __future__ import annotations

import json
import logging
from typing import Callable, Optional

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

log = logging.getLogger(__name__)

JOB_BUCKETS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0)
RTF_BUCKETS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
OUTCOMES = ("done", "failed", "busy", "cancelled")


class Metrics:
    """What the bot measures about its synthesis work."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge("voicebot_queue_depth", "Synthesis jobs waiting or running", registry=self.registry)
        self.job_seconds = Histogram("voicebot_job_seconds", "From queueing a synthesis job to its result (wait + work)",
                                     buckets=JOB_BUCKETS, registry=self.registry)
        self.jobs = Counter("voicebot_jobs", "Synthesis jobs by outcome (busy: refused at the door)", ["outcome"],
                            registry=self.registry)
        for outcome in OUTCOMES:  # every series exists from the start, at 0
            self.jobs.labels(outcome)
        self.rtf = Histogram("voicebot_synthesis_rtf", "Seconds of synthesis per second of speech made, per engine",
                             ["engine"], buckets=RTF_BUCKETS, registry=self.registry)
        self.notes = Counter("voicebot_notes", "Voice notes sent, per engine and rollout cohort (why that engine: "
                             "primary, chosen, server, percent, everyone, fallback)", ["engine", "cohort"],
                             registry=self.registry)
        self.model_load_seconds = Gauge("voicebot_model_load_seconds", "Engine load and warm-up time at start-up",
                                        registry=self.registry)

    def job_finished(self, seconds: float, outcome: str) -> None:
        self.jobs.labels(outcome).inc()
        if outcome in ("done", "failed"):
            self.job_seconds.observe(seconds)

    def synthesized(self, engine: str, compute_seconds: float, audio_seconds: float) -> None:
        if audio_seconds > 0:
            self.rtf.labels(engine).observe(compute_seconds / audio_seconds)

    def note_sent(self, engine: str, cohort: str) -> None:
        self.notes.labels(engine, cohort).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    """``/metrics`` and ``/health`` over HTTP; ``health`` returns (healthy, details)."""

    def __init__(self, metrics: Metrics, health: Callable[[], tuple[bool, dict]], host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.host, self.port = host, port
        self._runner: Optional[web.AppRunner] = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise RuntimeError(f"bot.metrics_port {self.port} on {self.host} is not usable: {exc.strerror or exc}") from exc
        log.info("metrics on http://%s:%d/metrics, health on /health", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health(self, request: web.Request) -> web.Response:
        healthy, details = self.health()
        return web.Response(body=json.dumps({"status": "ok" if healthy else "unavailable", **details}),
                            status=200 if healthy else 503, content_type="application/json")
