"""What a request may spend, reserved before any compute and settled with what it really cost.

Every path that makes speech (/say, inline, voice channels, read-aloud) asks :class:`Allowance`
first.  It holds the request's estimate — seconds of speech from its text, seconds of compute from
those — at once in every scope that bounds it: the person across every place (the operator's
daily budgets), and where the request is made in a server, the server and the member there (the
server's quotas).  Whatever the request then costs is booked note by note, failed jobs included,
so a request refused late still pays for the compute it used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..storage import Policy, Store, UsageEntry, User
from ..storage.spend import Limit, Shortfall, member_scope, server_scope, user_scope
from .errors import Busy
from .invocation import Invocation
from .tasks import compute_spent, is_fault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Budgets:
    """The operator's daily budgets for each person, across every place (0: none)."""

    speech_s: float = 1800.0
    compute_s: float = 3600.0
    #: compute seconds a second of speech is expected to take (the reservation's estimate; the real
    #: figure is booked afterwards)
    compute_per_speech_s: float = 1.0


@dataclass
class Bill:
    """One request's hold and what it has handed to an engine so far."""

    hold: str
    jobs: int = 0  # jobs queued: once one is, the request has cost compute (the cooldown stands)


class Allowance:
    def __init__(self, store: Store, budgets: Budgets) -> None:
        self.store = store
        self.budgets = budgets

    def limits(self, inv: Invocation, policy: Policy) -> list[Limit]:
        """The scopes that bound a request here and their limits today."""
        actor, place, b = inv.actor, inv.place, self.budgets
        scopes = []
        if not actor.is_owner or not place.is_private:  # the console user and the operator in private chats: unbounded
            scopes.append(Limit(user_scope(actor.platform, actor.user_id), b.speech_s or None, b.compute_s or None))
        if not place.is_private:
            scopes.append(Limit(server_scope(place.platform, place.server_id), policy.quota_server_s))
            scopes.append(Limit(member_scope(place.platform, place.server_id, actor.user_id), policy.quota_member_s))
        return scopes

    async def reserve(self, inv: Invocation, user: User, policy: Policy, speech_s: float) -> Bill:
        """Hold ``speech_s`` of speech and its estimated compute, or refuse (nothing held)."""
        compute = speech_s * self.budgets.compute_per_speech_s
        found = await self.store.spend.reserve(self.limits(inv, policy), speech_s, compute)
        if isinstance(found, Shortfall):
            raise _refusal(found, speech_s)
        return Bill(found)

    async def charge(self, bill: Bill, audio_s: float, compute_s: float) -> None:
        await self.store.spend.charge(bill.hold, audio_s, compute_s)

    async def failed(self, bill: Bill, inv: Invocation, user: User, engine: str, characters: int,
                     exc: BaseException) -> None:
        """A job that made no note: its compute is booked and metered, with why."""
        compute = compute_spent(exc)
        outcome = "failed" if is_fault(exc) else "refused"
        try:
            await self.charge(bill, 0.0, compute)
            await self.store.record_usage(UsageEntry(inv.place.platform, inv.place.server_id, user.id, engine,
                                                     characters, 0.0, compute, 0.0, outcome=outcome))
        except Exception as err:  # the request's own error is what the user must hear
            log.warning("could not meter a failed job: %s", err)

    async def close(self, bill: Bill) -> None:
        """The request is over: what it held and did not use is free again."""
        await self.store.spend.release(bill.hold)


def _refusal(short: Shortfall, wanted: float) -> Busy:
    """What the person is told: whose allowance, how much is left, when it renews."""
    left, cap = round(short.left), round(short.limit)
    kind = short.scope.split(":", 1)[0]
    if short.measure == "compute":
        return Busy("You have used today's share of my computing time. It renews at 00:00 UTC.",
                    "你今天可用的计算时间已用完，将在 UTC 0 点重置。")
    if kind == "server":
        head = (f"This server's daily voice allowance ({cap} s of speech)", f"本服务器今天的语音额度（{cap} 秒）")
        tail = (" An admin can raise it with /policy set quota.", "管理员可用 /policy set quota 调高。")
    elif kind == "member":
        head = (f"Your daily voice allowance here ({cap} s of speech)", f"你今天在这里的语音额度（{cap} 秒）")
        tail = ("", "")
    else:
        head = (f"Your daily voice allowance ({cap} s of speech, in all chats)", f"你今天的语音额度（{cap} 秒，所有聊天合计）")
        tail = ("", "")
    if left < 1:
        return Busy(f"{head[0]} is used up. It renews at 00:00 UTC.{tail[0]}", f"{head[1]}已用完，将在 UTC 0 点重置。{tail[1]}")
    return Busy(f"{head[0]} has {left} s left today; this text needs about {round(wanted)} s. Send a shorter text, "
                f"or wait until 00:00 UTC.{tail[0]}",
                f"{head[1]}今天还剩 {left} 秒；这段文字约需 {round(wanted)} 秒。请发送更短的文字，或等到 UTC 0 点。{tail[1]}")
