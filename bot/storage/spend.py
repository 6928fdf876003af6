"""Each day's spend of speech and compute seconds, reserved before any compute and settled after.

A request names its *scopes* — the user across every place, the server it is made in, the member
in that server — each with its day's limits.  :meth:`SpendLedger.reserve` holds the request's
estimate in every scope at once or in none: one transaction that first locks each scope's row of
the day (an upsert, which PostgreSQL holds until commit and SQLite's single writer serialises),
then reads what was spent and held.  So two requests at once cannot both fit into the last
seconds.  :meth:`charge` books what a note really cost as it goes; :meth:`release` ends the hold.

Scopes carry platform ids, not user rows, so /forget does not give a day's budget back; rows
older than yesterday are deleted as new days begin, and no text or audio is kept here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from .db import Database, PostgresDatabase

DAY_S = 86400
#: A hold left behind by a process that stopped mid-request stops counting after this long.
HOLD_TTL_S = 3600.0


def user_scope(platform: str, platform_user_id: str) -> str:
    """One person on one platform, in every place (private chats, servers, inline, group DMs)."""
    return f"user:{platform}:{platform_user_id}"


def server_scope(platform: str, server_id: str) -> str:
    return f"server:{platform}:{server_id}"


def member_scope(platform: str, server_id: str, platform_user_id: str) -> str:
    return f"member:{platform}:{server_id}:{platform_user_id}"


@dataclass(frozen=True)
class Limit:
    """One scope's limits for a day (None: no limit on that measure)."""

    scope: str
    audio_s: Optional[float] = None
    compute_s: Optional[float] = None


@dataclass(frozen=True)
class Shortfall:
    """Why a reservation did not fit: the scope, the measure (``audio`` or ``compute``), its
    limit and what is left of it today."""

    scope: str
    measure: str
    limit: float
    left: float


@dataclass(frozen=True)
class Spent:
    audio_s: float
    compute_s: float


def today(now: Optional[float] = None) -> float:
    """The start of the UTC day."""
    return (time.time() if now is None else now) // DAY_S * DAY_S


class SpendLedger:
    def __init__(self, db: Union[Database, PostgresDatabase]) -> None:
        self.db = db

    async def reserve(self, limits: Sequence[Limit], audio_s: float, compute_s: float,
                      now: Optional[float] = None) -> Union[str, Shortfall]:
        """Hold ``audio_s`` and ``compute_s`` in every scope of ``limits`` for today, or nothing:
        the hold's id, or the first :class:`Shortfall` (scopes in a fixed order, so concurrent
        reservations lock rows in the same order and never deadlock)."""
        now = time.time() if now is None else now
        day = today(now)
        hold = uuid.uuid4().hex
        ordered = sorted(limits, key=lambda limit: limit.scope)
        async with self.db.transaction() as tx:
            for limit in ordered:  # the row lock: concurrent reservations of a scope queue here
                await tx.execute("INSERT INTO spend (scope, day, audio_s, compute_s) VALUES (?,?,0,0) "
                                 "ON CONFLICT (scope, day) DO UPDATE SET audio_s = spend.audio_s", limit.scope, day)
            for limit in ordered:
                if limit.audio_s is None and limit.compute_s is None:
                    continue
                used = await self._used(tx, limit.scope, day, now)
                for measure, cap, want, have in (("audio", limit.audio_s, audio_s, used.audio_s),
                                                 ("compute", limit.compute_s, compute_s, used.compute_s)):
                    if cap is not None and have + want > cap + 1e-9:
                        return Shortfall(limit.scope, measure, float(cap), max(0.0, cap - have))
            for limit in ordered:
                await tx.execute("INSERT INTO spend_holds (hold, scope, day, audio_s, compute_s, expires_at) "
                                 "VALUES (?,?,?,?,?,?)", hold, limit.scope, day, audio_s, compute_s, now + HOLD_TTL_S)
            await tx.execute("DELETE FROM spend WHERE day < ?", day - DAY_S)  # yesterday stays for /usage me
            await tx.execute("DELETE FROM spend_holds WHERE expires_at < ?", now)
        return hold

    @staticmethod
    async def _used(tx, scope: str, day: float, now: float) -> Spent:
        row = await tx.fetchone("SELECT audio_s, compute_s FROM spend WHERE scope=? AND day=?", scope, day)
        held = await tx.fetchone("SELECT COALESCE(SUM(audio_s), 0), COALESCE(SUM(compute_s), 0) FROM spend_holds "
                                 "WHERE scope=? AND day=? AND expires_at >= ?", scope, day, now)
        return Spent(float(row[0]) + float(held[0]), float(row[1]) + float(held[1]))

    async def charge(self, hold: str, audio_s: float, compute_s: float) -> None:
        """Book what a note (or a failed job) really cost in every scope of the hold, and take it
        off what the hold still keeps back (never below nothing)."""
        async with self.db.transaction() as tx:
            rows = await tx.fetchall("SELECT scope, day FROM spend_holds WHERE hold=? ORDER BY scope", hold)
            for scope, day in rows:
                await tx.execute("UPDATE spend SET audio_s = audio_s + ?, compute_s = compute_s + ? "
                                 "WHERE scope=? AND day=?", audio_s, compute_s, scope, day)
            await tx.execute("UPDATE spend_holds SET audio_s = CASE WHEN audio_s > ? THEN audio_s - ? ELSE 0 END, "
                             "compute_s = CASE WHEN compute_s > ? THEN compute_s - ? ELSE 0 END WHERE hold=?",
                             audio_s, audio_s, compute_s, compute_s, hold)

    async def release(self, hold: str) -> None:
        """The request is over: what it did not use is free again."""
        await self.db.execute("DELETE FROM spend_holds WHERE hold=?", hold)

    async def spent(self, scope: str, day: Optional[float] = None) -> Spent:
        """What a scope spent on a day (booked, without holds)."""
        row = await self.db.fetchone("SELECT audio_s, compute_s FROM spend WHERE scope=? AND day=?",
                                     scope, today() if day is None else day)
        return Spent(float(row[0]), float(row[1])) if row else Spent(0.0, 0.0)
