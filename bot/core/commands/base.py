"""What every command family shares: settings, services, the language helper, queued work."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from indextts_core.audio import encode_ogg_opus, ogg_opus_info, waveform
from indextts_core.engine import VoiceProfile

from ...storage import Store
from ..asr import Transcriber
from ..invocation import Invocation, Responder
from ..jobs import JobQueue

RECORDING_PING_S = 4.0


@dataclass(frozen=True)
class Settings:
    """Command-layer settings from the [bot] config table."""

    consent_mode: str = "spoken"  # spoken | button
    max_reference_seconds: float = 30.0
    min_reference_seconds: float = 3.0


def job_key(inv: Invocation) -> str:
    """The fairness key of the job queue: one per person per platform."""
    return f"{inv.actor.platform}:{inv.actor.user_id}"


class Services:
    """The shared parts every command family uses (built once by :class:`CommandLayer`)."""

    def __init__(self, store: Store, engine: Any, jobs: JobQueue, transcriber: Optional[Transcriber],
                 settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.jobs = jobs
        self.transcriber = transcriber
        self.settings = settings
        #: told (seconds of synthesis, seconds of speech) after every voice note (metrics)
        self.on_synthesized: Optional[Callable[[float, float], None]] = None

    async def wait_job(self, future: asyncio.Future, out: Responder) -> Any:
        """Await queued work, keeping the platform's "recording voice…" indicator alive."""
        while True:
            await out.recording()
            done, _ = await asyncio.wait({future}, timeout=RECORDING_PING_S)
            if done:
                return future.result()

    async def run(self, inv: Invocation, out: Responder, fn: Callable[[], Any]) -> Any:
        """Queue blocking work for this user (fair, bounded) and wait for its result."""
        return await self.wait_job(self.jobs.submit(job_key(inv), fn), out)

    def render(self, text: str, profile: Optional[VoiceProfile], emotion, duration) -> dict[str, Any]:
        """Blocking: synthesise and encode one voice note."""
        started = time.perf_counter()
        result = self.engine.synthesize(text, voice=profile, emotion=emotion, duration=duration)
        if self.on_synthesized is not None:
            self.on_synthesized(time.perf_counter() - started, result.duration)
        ogg = encode_ogg_opus(result.samples, result.sample_rate, tags={
            "comment": "synthetic speech", "software": f"indextts-voicebot {result.engine} {result.version}"})
        return {"ogg": ogg, "duration": ogg_opus_info(ogg).duration, "waveform": waveform(result.samples)}

    def profile(self, stored) -> Optional[VoiceProfile]:
        """The stored profile, or None when an older engine made it (the user must record again)."""
        if stored.engine != self.engine.name or stored.version != self.engine.version:
            return None
        return VoiceProfile.from_bytes(stored.profile)
