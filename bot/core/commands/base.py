"""What every command family shares: settings, services, the language helper, queued work."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping, Optional, Protocol

from indextts_core import watermark
from indextts_core.audio import MIN_SPEECH_SECONDS
from indextts_core.decoding import MAX_DECODE_SECONDS
from indextts_core.engine import VoiceProfile

from ...storage import MarksExhausted, NoteMark, Policy, Store, StoredVoice, User
from ..allowance import Allowance, Budgets
from ..consent_guard import ConsentGuard
from ..errors import Busy
from ..command_spec import Pair
from ..invocation import Button, Invocation, RequestContext, Responder
from ..messages import tr
from ..permissions import resolve_role
from ..rollout import Rollout, Route, route
from ..jobs import Jobs
from ..tasks import Task

log = logging.getLogger(__name__)

RECORDING_PING_S = 4.0
#: Runs one command for its caller (the family's method named by the command's spec).
Handler = Callable[[Invocation, Responder, User], Awaitable[None]]
#: Writes privately to one user of a platform: (platform user id, message, buttons).
Notifier = Callable[[str, str, list[Button]], Awaitable[None]]


@dataclass(frozen=True)
class InlineRules:
    """Inline mode follows the strictest rule that could apply, as the operator sets it."""

    enabled: bool = True
    own_voice: bool = True  # a person's own cloned voice may be offered (else the default voice only)
    cooldown_s: int = 10  # between one person's inline notes
    #: refused to anyone blocked in any server or group the bot knows them from
    refuse_blocked: bool = True


@dataclass(frozen=True)
class GuestRules:
    """The rules of a server the bot is not in (a user installed the app on their own account):
    conservative, since nobody there can set others or block anyone."""

    cloned_voices: bool = False  # people's own cloned voices (else the default voice)
    cooldown_s: int = 30
    member_quota_s: Optional[int] = 120  # seconds of speech a day for each person there

    def policy(self, platform: str, server_id: str) -> Policy:
        return Policy(platform, server_id, clone_allowed=self.cloned_voices, cooldown_s=self.cooldown_s,
                      shared_voices_allowed=False, quota_member_s=self.member_quota_s)


@dataclass(frozen=True)
class Settings:
    """Command-layer settings from the [bot] config table."""

    consent_mode: str = "spoken"  # spoken | button
    #: Longest acceptable wait before the first note (queue + the platform's own send backlog):
    #: beyond it /say says "busy" at once instead of making people wait.
    max_wait_seconds: float = 45.0
    # The core's own limits: the engine refuses less speech, and decodes no more, than these.
    max_reference_seconds: float = MAX_DECODE_SECONDS
    min_reference_seconds: float = MIN_SPEECH_SECONDS
    #: How long a server keeps its record of each use of another member's voice (whatever the
    #: requester's /forget or an admin's /purge deletes), like its blocks.
    voice_use_retention_days: int = 180
    #: /clone recordings checked per person per day, and how long /clone stays closed to an account
    #: that sent the bot's own speech or another member's voice.
    clone_attempts_per_day: int = 5
    clone_lockout_hours: int = 24
    #: each person's daily speech and compute, across every place (private chats and inline too)
    budgets: Budgets = Budgets()
    #: Telegram inline mode (``@bot text`` in any chat, where no group's rules can be looked up)
    inline: InlineRules = InlineRules()
    #: servers the bot is not in, reached through a user's own install (Discord)
    guest: GuestRules = GuestRules()


def job_key(inv: Invocation) -> str:
    """The fairness key of the job queue: one per person per platform."""
    return f"{inv.actor.platform}:{inv.actor.user_id}"


class EngineIdentity(Protocol):
    """What the command layer asks of the engines: which run now and which profiles each can use.
    The :class:`~bot.core.tasks.Runtime` in this process, or the workers' registrations over Redis."""

    @property
    def name(self) -> Optional[str]:
        """The primary engine (the one a request uses when no rollout rule picks another)."""

    @property
    def version(self) -> Optional[str]: ...

    @property
    def available(self) -> Mapping[str, frozenset[str]]:
        """Engines that run now → the profile versions each reads."""


class Services:
    """The shared parts every command family uses (built once by :class:`CommandLayer`).

    ``engine`` is only asked its ``name`` and ``version`` (which profiles it can use): the work
    itself goes through ``jobs`` as :mod:`..tasks`, in this process or in a worker.
    """

    def __init__(self, store: Store, engine: EngineIdentity, jobs: Jobs, settings: Settings) -> None:
        self.store = store
        self.engine = engine
        self.jobs = jobs
        self.settings = settings
        #: what each request may spend, reserved before compute (the operator's budgets, the servers' quotas)
        self.allowance = Allowance(store, settings.budgets)
        #: which engine speaks each request (replaced whole when the operator reloads the rules)
        self.rollout = Rollout()
        #: told (engine, cohort) for every voice note sent (metrics per engine and rollout cohort)
        self.on_note: Callable[[str, str], None] = lambda engine, cohort: None
        #: what /say must never speak (consent sentences and live codes), with each person's recent texts
        self.consent_guard = ConsentGuard()
        #: this deployment's watermark keys, newest first (loaded at start: the environment or the database)
        self.watermark_keys: tuple[watermark.WatermarkKey, ...] = ()
        #: platform → how to write to one of its users privately (registered by each adapter)
        self.notifiers: dict[str, Notifier] = {}

    async def context(self, inv: Invocation, user: User) -> RequestContext:
        """Role, policy and block of this request: worked out on the first call, then kept on
        the invocation (the command layer asks before the handler runs, so handlers get it free)."""
        if inv.context is None:
            place = inv.place
            policy = (self.settings.guest.policy(place.platform, place.server_id) if place.guest
                      else await self.store.policy(place.platform, place.server_id))
            trusted = await self.store.is_trusted(place.platform, place.server_id, user.id)
            if not trusted and inv.actor.roles:
                trusted = policy.say_role is not None and policy.say_role in inv.actor.roles
            role = resolve_role(inv.actor.is_owner, inv.actor.is_platform_admin, trusted, place.is_private)
            blocked = not place.is_private and await self.store.is_blocked(
                place.platform, place.server_id, (inv.actor.user_id, inv.actor.handle.lower()))
            inv.context = RequestContext(role, policy, blocked)
        return inv.context

    async def notify(self, platform: str, platform_user_id: str, message: str, buttons: list[Button]) -> None:
        """A private message to someone other than the caller; never fails the caller's request
        (they may have blocked the bot, or the platform refuses)."""
        notifier = self.notifiers.get(platform)
        if notifier is None:
            return
        try:
            await notifier(platform_user_id, message, buttons)
        except Exception as exc:  # the platform's own error: logged, not the caller's problem
            log.info("could not notify %s user %s: %s", platform, platform_user_id, exc)

    async def answer_alone(self, out: Responder, lang: str, open_first: Pair, sent: Pair) -> Optional[Responder]:
        """Where to answer what only the caller may read (see :meth:`Responder.in_private`): telling
        the place it came from ``sent`` when that is elsewhere; None after asking them to open a
        private chat first (``open_first``), where they have none."""
        alone = await out.in_private()
        if alone is None:
            message = tr(lang, *open_first)
            if not await out.offer_private_chat(message, tr(lang, "Open a chat with me", "打开私聊"), start="usage"):
                await out.text(message)
            return None
        if alone is not out:
            await out.text(tr(lang, *sent))
        return alone

    async def wait_job(self, future: "asyncio.Future[Any]", out: Responder) -> Any:
        """Await queued work, keeping the platform's "recording voice…" indicator alive."""
        while True:
            await out.recording()
            done, _ = await asyncio.wait({future}, timeout=RECORDING_PING_S)
            if done:
                return future.result()

    async def submit(self, inv: Invocation, task: Task) -> "asyncio.Future[Any]":
        """Queue a task for this user (fair, bounded; :class:`Busy` when full)."""
        return await self.jobs.enqueue(job_key(inv), task)

    async def run(self, inv: Invocation, out: Responder, task: Task) -> Any:
        """Queue a task for this user and wait for its result."""
        return await self.wait_job(await self.submit(inv, task), out)

    async def new_mark(self) -> NoteMark:
        """The next note id under the newest watermark key, taken (committed) before the note is
        made; :class:`Busy` when that key has no ids left (the operator must rotate it)."""
        if not self.watermark_keys:
            raise RuntimeError("the watermark keys were not loaded")
        try:
            return await self.store.next_note_mark(self.watermark_keys[0].fingerprint, 1 << watermark.PAYLOAD_BITS)
        except MarksExhausted:
            log.error("watermark key %s has marked all %d notes it can: rotate it (README, Provenance) — no note "
                      "can be made until then", self.watermark_keys[0].fingerprint, 1 << watermark.PAYLOAD_BITS)
            raise Busy("I can't make voice notes right now. Please try again later.",
                       "我现在无法生成语音。请稍后再试。") from None

    async def route(self, inv: Invocation, user: User) -> Route:
        """The engine the rollout rules pick for this request (among those running now); with
        no engine running anywhere (no worker registered), a "busy" refusal before anything else
        (a stored voice must not look stale for want of an engine to read it)."""
        if not self.engine.available:
            raise Busy("No voice workers are running right now. Please try again in a few minutes.",
                       "现在没有正在运行的语音工作进程。请几分钟后再试。")
        primary = self.engine.name or ""
        choice = await self.store.engine_choice(user.id)
        chosen = route(self.rollout, primary, self.engine.available, inv.place.platform, inv.place.server_id,
                       inv.actor.user_id, choice)
        wait = self.jobs.estimate_wait(chosen.engine)
        if (chosen.engine != primary and primary in self.engine.available and wait > self.settings.max_wait_seconds
                and self.jobs.estimate_wait(primary) < wait):
            return Route(primary, "fallback", busy=chosen.engine)  # an overloaded canary: the primary stands in
        return chosen

    def profile(self, stored: StoredVoice, engine: Optional[str] = None) -> Optional[VoiceProfile]:
        """The user's profile for ``engine`` (the primary when None), or None when that engine
        cannot read it (made by an older version, or no profile for that engine)."""
        name = engine or self.engine.name
        reads = self.engine.available.get(name or "", frozenset())
        kept = stored.profiles.get(name or "")
        if kept is None or kept.version not in reads:
            return None
        return VoiceProfile.from_bytes(kept.profile)
