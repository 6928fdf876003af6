"""Repositories: small async methods over :class:`Database` returning dataclasses."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

from indextts_core.watermark import WatermarkKey

from .db import Database, PostgresDatabase
from .spend import SpendLedger


@dataclass(frozen=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    language: str


#: The notice a user gets once when no running engine can read their voice any more.
STALE_VOICE_NOTICE = "stale_voice"


@dataclass(frozen=True)
class StoredProfile:
    """One engine's profile of a user's voice (serialised :class:`indextts_core.VoiceProfile`)."""

    engine: str
    version: str
    profile: bytes


@dataclass(frozen=True)
class StoredVoice:
    user_id: int
    engine: str  # the engine that made it first (its preview)
    version: str
    meta: dict[str, Any]
    created_at: float
    #: every engine's profile, by engine name, made from the same recording
    profiles: dict[str, StoredProfile] = field(default_factory=dict)

    @property
    def profile(self) -> bytes:
        """The first engine's profile."""
        return self.profiles[self.engine].profile


@dataclass(frozen=True)
class Consent:
    user_id: int
    method: str
    text_shown: str
    transcript: Optional[str]
    score: Optional[float]
    audio_sha256: Optional[str]
    created_at: float


@dataclass(frozen=True)
class Policy:
    """Per server/group rules, managed by its admins."""

    platform: str
    server_id: str
    clone_allowed: bool = True
    say_mode: str = "everyone"  # everyone | role | admins
    say_role: Optional[str] = None
    cooldown_s: int = 0
    max_chars: int = 500
    shared_voices_allowed: bool = False
    read_aloud_channel: Optional[str] = None  # text channel whose messages are spoken in voice (Discord)
    voice_idle_s: Optional[int] = None  # leave voice after this long unused (None: the operator's default)
    voice_leave_alone: Optional[bool] = None  # leave voice when no person is left (None: the operator's default)
    quota_server_s: Optional[int] = None  # seconds of speech a day for the whole server (None: no limit)
    quota_member_s: Optional[int] = None  # seconds of speech a day for each member (None: no limit)


@dataclass(frozen=True)
class PendingAction:
    """A confirmation step bound to one user and one request (its random ``token``)."""

    token: str
    user_id: int
    kind: str  # consent | forget
    status: str  # open | agreed | cancelled | done
    created_at: float
    expires_at: float
    method: str = ""  # consent: spoken | button
    code: str = ""
    sentence: str = ""
    language: str = "en"


def _pending_row(row: Any) -> PendingAction:
    return PendingAction(row["token"], row["user_id"], row["kind"], row["status"], row["created_at"], row["expires_at"],
                         row["method"], row["code"], row["sentence"], row["language"])


@dataclass(frozen=True)
class NoteMark:
    """What a note's watermark carries: its id, under the key (by fingerprint) that made it."""

    key: str
    id: int


class MarksExhausted(RuntimeError):
    """The current watermark key has given out every note id it has: the operator must rotate it."""


@dataclass
class AuditEntry:
    user_id: int
    platform: str
    server_id: str
    text_sha256: str
    emotion: str
    duration_s: float
    voice_owner_id: Optional[int] = None
    created_at: float = field(default_factory=time.time)
    mark: Optional[NoteMark] = None  # what the note's watermark carries


@dataclass(frozen=True)
class VoiceUse:
    """One use of another person's voice as the server keeps it: platform ids, not our user rows
    (which /forget deletes), and the text only as a hash keyed with the deployment's salt."""

    platform: str
    server_id: str
    requester: str  # platform user id
    owner: str  # platform user id of the voice's owner
    mark: Optional[NoteMark] = None
    created_at: float = field(default_factory=time.time)
    text_hmac: str = ""  # filled in when stored


@dataclass(frozen=True)
class UsageEntry:
    """What one voice note cost: made by ``engine`` for ``user_id`` in a server."""

    platform: str
    server_id: str
    user_id: Optional[int]
    engine: str
    characters: int
    audio_s: float
    compute_s: float
    wait_s: float
    created_at: float = field(default_factory=time.time)
    #: "sent" (a note went out), or why compute was spent for nothing: "failed", "refused"
    outcome: str = "sent"


@dataclass(frozen=True)
class UsageRow:
    """Totals of a group of notes (one member, or one engine) over a period."""

    key: str  # platform user id ("" once they used /forget), or engine name
    notes: int
    characters: int
    audio_s: float
    compute_s: float  # failed jobs' too
    wait_s: float  # the average
    failed: int = 0  # jobs that made no note (failed, or refused by the engine once made)


@dataclass(frozen=True)
class Provenance:
    """What the audit row of a marked note says (for /verify)."""

    requester: User
    voice_owner: Optional[User]
    platform: str
    server_id: str
    created_at: float


class Store:
    """Every query of the bot, grouped by table."""

    def __init__(self, db: Union[Database, PostgresDatabase]) -> None:
        self.db = db
        #: each day's speech and compute per user, server and member, reserved before compute
        self.spend = SpendLedger(db)
        self._text_salt: Optional[bytes] = None  # read once: it never changes after it is made

    # ---------------------------------------------------------------- users
    async def user(self, platform: str, platform_user_id: str, language: Optional[str] = None) -> User:
        """Get or create the user row."""
        row = await self.db.fetchone("SELECT * FROM users WHERE platform=? AND platform_user_id=?", platform, platform_user_id)
        if row is None:
            async with self.db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO users (platform, platform_user_id, language, created_at) VALUES (?,?,?,?) ON CONFLICT DO NOTHING",
                    platform, platform_user_id, language or "en", time.time())
            return await self.user(platform, platform_user_id)
        user = User(row["id"], row["platform"], row["platform_user_id"], row["language"])
        if language and language != user.language:
            async with self.db.transaction() as tx:
                await tx.execute("UPDATE users SET language=? WHERE id=?", language, user.id)
            user = User(user.id, user.platform, user.platform_user_id, language)
        return user

    async def find_user(self, platform: str, platform_user_id: str) -> Optional[User]:
        row = await self.db.fetchone("SELECT * FROM users WHERE platform=? AND platform_user_id=?", platform, platform_user_id)
        return None if row is None else User(row["id"], row["platform"], row["platform_user_id"], row["language"])

    async def forget(self, user_id: int) -> None:
        """Delete the user and, through ON DELETE CASCADE, every row that refers to them; then
        scrub the write-ahead log so the deleted bytes are gone from disk too."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM users WHERE id=?", user_id)
        await self.db.scrub()

    # ---------------------------------------------------------------- voices + consent
    async def save_voice(self, user_id: int, profiles: Sequence[StoredProfile], meta: dict[str, Any],
                         consent: Consent) -> None:
        """Store the profiles (one per engine, the first one's meta) and the consent record
        together, or none of it; profiles of engines not in ``profiles`` are dropped (they belong
        to the recording this one replaces)."""
        if not profiles:
            raise ValueError("a voice needs at least one profile")
        now = time.time()
        first = profiles[0]
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO consents (user_id, method, text_shown, transcript, score, audio_sha256, created_at) VALUES (?,?,?,?,?,?,?)",
                user_id, consent.method, consent.text_shown, consent.transcript, consent.score, consent.audio_sha256, consent.created_at)
            await tx.execute(
                "INSERT INTO voices (user_id, profile, engine, version, meta, created_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(user_id) DO UPDATE SET profile=excluded.profile, engine=excluded.engine, "
                "version=excluded.version, meta=excluded.meta, created_at=excluded.created_at",
                user_id, b"", first.engine, first.version, json.dumps(meta), now)  # the profiles: below
            await tx.execute("DELETE FROM voice_profiles WHERE user_id=?", user_id)
            for p in profiles:
                await tx.execute("INSERT INTO voice_profiles (user_id, engine, version, profile, created_at) VALUES (?,?,?,?,?)",
                                 user_id, p.engine, p.version, p.profile, now)
            await tx.execute("DELETE FROM user_notices WHERE user_id=? AND kind=?", user_id, STALE_VOICE_NOTICE)

    async def voice(self, user_id: int) -> Optional[StoredVoice]:
        row = await self.db.fetchone("SELECT user_id, engine, version, meta, created_at FROM voices WHERE user_id=?", user_id)
        if row is None:
            return None
        rows = await self.db.fetchall("SELECT engine, version, profile FROM voice_profiles WHERE user_id=?", user_id)
        profiles = {r["engine"]: StoredProfile(r["engine"], r["version"], bytes(r["profile"])) for r in rows}
        return StoredVoice(row["user_id"], row["engine"], row["version"], json.loads(row["meta"]), row["created_at"],
                           profiles)

    # ---------------------------------------------------------------- engine choice and one-time notices
    async def set_engine_choice(self, user_id: int, engine: Optional[str]) -> None:
        """The user's own engine (/engine NAME), or back to the rollout's choice (None)."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM engine_choices WHERE user_id=?", user_id)
            if engine is not None:
                await tx.execute("INSERT INTO engine_choices (user_id, engine, created_at) VALUES (?,?,?)",
                                 user_id, engine, time.time())

    async def engine_choice(self, user_id: int) -> Optional[str]:
        row = await self.db.fetchone("SELECT engine FROM engine_choices WHERE user_id=?", user_id)
        return str(row["engine"]) if row is not None else None

    async def first_notice(self, user_id: int, kind: str) -> bool:
        """True the first time ``kind`` is noted for this user (then never again, until reset)."""
        return await self.db.execute("INSERT INTO user_notices (user_id, kind, created_at) VALUES (?,?,?) "
                                     "ON CONFLICT (user_id, kind) DO NOTHING", user_id, kind, time.time()) > 0

    async def consents(self, user_id: int) -> list[Consent]:
        rows = await self.db.fetchall("SELECT * FROM consents WHERE user_id=? ORDER BY id", user_id)
        return [Consent(r["user_id"], r["method"], r["text_shown"], r["transcript"], r["score"], r["audio_sha256"], r["created_at"]) for r in rows]

    # ---------------------------------------------------------------- pending confirmations
    async def add_pending(self, action: "PendingAction") -> None:
        """Store a confirmation step; an older open one of the same kind for this user is replaced."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM pending_actions WHERE user_id=? AND kind=? AND status IN ('open', 'agreed')",
                             action.user_id, action.kind)
            await tx.execute(
                "INSERT INTO pending_actions (token, user_id, kind, status, method, code, sentence, language, created_at, expires_at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                action.token, action.user_id, action.kind, action.status, action.method, action.code, action.sentence,
                action.language, action.created_at, action.expires_at)

    async def pending(self, token: str) -> Optional["PendingAction"]:
        row = await self.db.fetchone("SELECT * FROM pending_actions WHERE token=?", token)
        return None if row is None else _pending_row(row)

    async def latest_pending(self, user_id: int, kind: str) -> Optional["PendingAction"]:
        """The user's most recent step of ``kind`` (any status), for "where am I?" questions."""
        row = await self.db.fetchone("SELECT * FROM pending_actions WHERE user_id=? AND kind=? ORDER BY created_at DESC LIMIT 1", user_id, kind)
        return None if row is None else _pending_row(row)

    async def set_pending_status(self, token: str, status: str, expected: tuple[str, ...]) -> bool:
        """Move a step to ``status`` only from one of ``expected``: False when someone got there first."""
        marks = ",".join("?" * len(expected))
        async with self.db.transaction() as tx:
            changed = await tx.execute(f"UPDATE pending_actions SET status=? WHERE token=? AND status IN ({marks})",
                                       status, token, *expected)
            return changed == 1

    async def cancel_pending(self, user_id: int) -> int:
        """Cancel every open step of the user; returns how many."""
        async with self.db.transaction() as tx:
            changed = await tx.execute("UPDATE pending_actions SET status='cancelled' WHERE user_id=? AND status IN ('open', 'agreed')",
                                       user_id)
            return changed

    async def drop_stale_pending(self, older_than: float) -> None:
        """Housekeeping at start-up: steps that ended or expired long ago (they hold consent codes)."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM pending_actions WHERE expires_at < ?", older_than)

    # ---------------------------------------------------------------- policies
    async def policy(self, platform: str, server_id: str) -> Policy:
        row = await self.db.fetchone("SELECT * FROM server_policies WHERE platform=? AND server_id=?", platform, server_id)
        if row is None:
            return Policy(platform, server_id)
        return Policy(platform, server_id, bool(row["clone_allowed"]), row["say_mode"], row["say_role"],
                      int(row["cooldown_s"]), int(row["max_chars"]), bool(row["shared_voices_allowed"]),
                      row["read_aloud_channel"], row["voice_idle_s"],
                      None if row["voice_leave_alone"] is None else bool(row["voice_leave_alone"]),
                      row["quota_server_s"], row["quota_member_s"])

    async def set_policy(self, policy: Policy) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO server_policies (platform, server_id, clone_allowed, say_mode, say_role, cooldown_s, "
                "max_chars, shared_voices_allowed, read_aloud_channel, voice_idle_s, voice_leave_alone, quota_server_s, "
                "quota_member_s, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(platform, server_id) DO UPDATE SET clone_allowed=excluded.clone_allowed, "
                "say_mode=excluded.say_mode, say_role=excluded.say_role, cooldown_s=excluded.cooldown_s, "
                "max_chars=excluded.max_chars, shared_voices_allowed=excluded.shared_voices_allowed, "
                "read_aloud_channel=excluded.read_aloud_channel, voice_idle_s=excluded.voice_idle_s, "
                "voice_leave_alone=excluded.voice_leave_alone, quota_server_s=excluded.quota_server_s, "
                "quota_member_s=excluded.quota_member_s, updated_at=excluded.updated_at",
                policy.platform, policy.server_id, int(policy.clone_allowed), policy.say_mode, policy.say_role,
                policy.cooldown_s, policy.max_chars, int(policy.shared_voices_allowed), policy.read_aloud_channel,
                policy.voice_idle_s, None if policy.voice_leave_alone is None else int(policy.voice_leave_alone),
                policy.quota_server_s, policy.quota_member_s, time.time())

    async def read_aloud_opted_out(self, user_id: int, platform: str, server_id: str) -> bool:
        return await self.db.fetchone("SELECT 1 FROM read_aloud_optouts WHERE user_id=? AND platform=? AND server_id=?", user_id, platform, server_id) is not None

    async def set_read_aloud_opt_out(self, user_id: int, platform: str, server_id: str, opted_out: bool) -> None:
        """A member's choice not to have their messages read aloud in this server (kept until /forget)."""
        async with self.db.transaction() as tx:
            if opted_out:
                await tx.execute("INSERT INTO read_aloud_optouts (user_id, platform, server_id, created_at) "
                                 "VALUES (?,?,?,?) ON CONFLICT DO NOTHING", user_id, platform, server_id, time.time())
            else:
                await tx.execute("DELETE FROM read_aloud_optouts WHERE user_id=? AND platform=? AND server_id=?",
                                 user_id, platform, server_id)

    # ---------------------------------------------------------------- members
    # Blocks are the server's moderation records: keyed by the platform's id (or an @handle when
    # the admin named someone the bot has never seen), not by our user row, so a member's
    # /forget does not lift them, and blocking a stranger stores nothing about the stranger.
    async def is_blocked(self, platform: str, server_id: Optional[str], subjects: tuple[str, ...]) -> bool:
        """Is any of ``subjects`` (platform user id, lower-case @handle) blocked in this server, or
        (``server_id`` None) in any server of this platform (inline mode, where no server can be
        named, follows the strictest rule)?"""
        subjects = tuple(s for s in subjects if s)
        if not subjects:
            return False
        marks = ",".join("?" * len(subjects))
        where, args = ("", ()) if server_id is None else (" AND server_id=?", (server_id,))
        return await self.db.fetchone(f"SELECT 1 FROM member_blocks WHERE platform=?{where} AND subject IN ({marks})",
                                      platform, *args, *subjects) is not None

    async def forget_server(self, platform: str, server_id: str) -> tuple[int, int]:
        """A server the bot left: its shares and its policy are deleted, in one transaction
        (returns how many of each)."""
        async with self.db.transaction() as tx:
            shares = await tx.execute("DELETE FROM voice_shares WHERE platform=? AND server_id=?", platform, server_id)
            rules = await tx.execute("DELETE FROM server_policies WHERE platform=? AND server_id=?", platform, server_id)
        return shares, rules

    async def set_blocked(self, platform: str, server_id: str, subject: str, blocked: bool, by: str) -> None:
        async with self.db.transaction() as tx:
            if blocked:
                await tx.execute(
                    "INSERT INTO member_blocks (platform, server_id, subject, blocked_by, created_at) VALUES (?,?,?,?,?) "
                    "ON CONFLICT DO NOTHING",
                    platform, server_id, subject, by, time.time())
            else:
                await tx.execute("DELETE FROM member_blocks WHERE platform=? AND server_id=? AND subject=?",
                                 platform, server_id, subject)

    async def is_trusted(self, platform: str, server_id: str, user_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM member_roles WHERE platform=? AND server_id=? AND user_id=? AND role='trusted'", platform, server_id, user_id) is not None

    async def set_trusted(self, platform: str, server_id: str, user_id: int, trusted: bool) -> None:
        async with self.db.transaction() as tx:
            if trusted:
                await tx.execute("INSERT INTO member_roles VALUES (?,?,?,'trusted') ON CONFLICT DO NOTHING", platform, server_id, user_id)
            else:
                await tx.execute("DELETE FROM member_roles WHERE platform=? AND server_id=? AND user_id=?", platform, server_id, user_id)

    # ---------------------------------------------------------------- shares
    async def set_shared(self, owner_id: int, platform: str, server_id: str, shared: bool) -> None:
        async with self.db.transaction() as tx:
            if shared:
                await tx.execute("INSERT INTO voice_shares VALUES (?,?,?,?) ON CONFLICT DO NOTHING", owner_id, platform, server_id, time.time())
            else:
                await tx.execute("DELETE FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", owner_id, platform, server_id)

    async def is_shared(self, owner_id: int, platform: str, server_id: str) -> bool:
        return await self.db.fetchone("SELECT 1 FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", owner_id, platform, server_id) is not None

    async def shares(self, owner_id: int) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in await self.db.fetchall("SELECT platform, server_id FROM voice_shares WHERE owner_id=? "
                                                             "ORDER BY created_at, platform, server_id", owner_id)]

    async def set_share_notices(self, owner_id: int, on: bool) -> None:
        async with self.db.transaction() as tx:
            if on:
                await tx.execute("INSERT INTO share_notices (user_id, created_at) VALUES (?,?) ON CONFLICT DO NOTHING",
                                 owner_id, time.time())
            else:
                await tx.execute("DELETE FROM share_notices WHERE user_id=?", owner_id)

    async def wants_share_notices(self, owner_id: int) -> bool:
        return await self.db.fetchone("SELECT 1 FROM share_notices WHERE user_id=?", owner_id) is not None

    async def purge_member(self, platform: str, server_id: str, user_id: int) -> None:
        """Remove a member's shares and generation history in one server."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", user_id, platform, server_id)
            await tx.execute("DELETE FROM audit_log WHERE user_id=? AND platform=? AND server_id=?", user_id, platform, server_id)

    # ---------------------------------------------------------------- audit
    async def audit(self, entry: AuditEntry) -> bool:
        """Record a note; False (nothing written) when its requester or voice owner no longer
        exists (a /forget that came while the note was being made: it must not go out)."""
        people = {entry.user_id} | ({entry.voice_owner_id} if entry.voice_owner_id is not None else set())
        async with self.db.transaction() as tx:
            marks = ",".join("?" * len(people))
            found = await tx.fetchone(f"SELECT COUNT(*) FROM users WHERE id IN ({marks})", *people)
            if found[0] != len(people):
                return False
            await tx.execute(
                "INSERT INTO audit_log (user_id, voice_owner_id, platform, server_id, text_sha256, emotion, duration_s, "
                "created_at, mark, mark_key) VALUES (?,?,?,?,?,?,?,?,?,?)",
                entry.user_id, entry.voice_owner_id, entry.platform, entry.server_id, entry.text_sha256, entry.emotion,
                entry.duration_s, entry.created_at, entry.mark.id if entry.mark else None,
                entry.mark.key if entry.mark else None)
        return True

    # ---------------------------------------------------------------- the server's record of voice use
    async def _salt(self) -> bytes:
        """This deployment's random salt for text hashes (made on first use, kept in the database)."""
        if self._text_salt is not None:
            return self._text_salt
        row = await self.db.fetchone("SELECT value FROM deployment_secrets WHERE name='text_salt'")
        if row is None:
            async with self.db.transaction() as tx:
                await tx.execute("INSERT INTO deployment_secrets (name, value) VALUES ('text_salt', ?) ON CONFLICT DO NOTHING",
                                 secrets.token_bytes(32))
            row = await self.db.fetchone("SELECT value FROM deployment_secrets WHERE name='text_salt'")
        self._text_salt = bytes(row[0])
        return self._text_salt

    async def record_voice_use(self, use: VoiceUse, text: str, retention_days: int) -> None:
        """Keep the server's record of one use of someone else's voice (``text`` only as its keyed
        hash); drop the records past retention."""
        digest = hmac.new(await self._salt(), text.encode(), hashlib.sha256).hexdigest()
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM voice_use_records WHERE created_at < ?", use.created_at - retention_days * 86400)
            await tx.execute(
                "INSERT INTO voice_use_records (platform, server_id, requester, owner, text_hmac, mark, mark_key, created_at) "
                "VALUES (?,?,?,?,?,?,?,?)", use.platform, use.server_id, use.requester, use.owner, digest,
                use.mark.id if use.mark else None, use.mark.key if use.mark else None, use.created_at)

    async def voice_uses(self, platform: str, server_id: str) -> list[VoiceUse]:
        """This server's kept records, oldest first (texts only as their keyed hash)."""
        rows = await self.db.fetchall("SELECT requester, owner, text_hmac, mark, mark_key, created_at FROM voice_use_records "
                                      "WHERE platform=? AND server_id=? ORDER BY created_at, id", platform, server_id)
        return [VoiceUse(platform, server_id, r[0], r[1], NoteMark(r[4], r[3]) if r[4] is not None else None, r[5], r[2])
                for r in rows]

    async def text_matches(self, text: str, text_hmac: str) -> bool:
        """Does a kept record's hash belong to ``text`` (a moderator checking a reported message)?"""
        return hmac.compare_digest(hmac.new(await self._salt(), text.encode(), hashlib.sha256).hexdigest(), text_hmac)

    # ---------------------------------------------------------------- metering
    async def record_usage(self, entry: UsageEntry) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO usage_records (platform, server_id, user_id, engine, characters, audio_s, compute_s, wait_s, "
                "created_at, outcome) VALUES (?,?,?,?,?,?,?,?,?,?)", entry.platform, entry.server_id, entry.user_id,
                entry.engine, entry.characters, entry.audio_s, entry.compute_s, entry.wait_s, entry.created_at,
                entry.outcome)

    async def speech_seconds(self, platform: str, server_id: str, since: float, user_id: Optional[int] = None) -> float:
        """Seconds of speech made in this server since ``since`` (by one member, or by everyone)."""
        sql = "SELECT COALESCE(SUM(audio_s), 0) FROM usage_records WHERE platform=? AND server_id=? AND created_at >= ?"
        args: list[Any] = [platform, server_id, since]
        if user_id is not None:
            sql += " AND user_id=?"
            args.append(user_id)
        return float((await self.db.fetchone(sql, *args))[0])

    async def usage_by_day(self, platform: str, server_id: str, since: float) -> list[tuple[float, str, float]]:
        """(UTC day start, engine, seconds of speech) of this server's notes since ``since``.

        Days are cut in Python: SQLite truncates and PostgreSQL rounds a float cast to integer."""
        rows = await self.db.fetchall("SELECT created_at, engine, audio_s FROM usage_records "
                                      "WHERE platform=? AND server_id=? AND created_at >= ?", platform, server_id, since)
        totals: dict[tuple[float, str], float] = {}
        for created, engine, seconds in rows:
            key = (float(created) // 86400 * 86400, str(engine))
            totals[key] = totals.get(key, 0.0) + float(seconds)
        return sorted((day, engine, seconds) for (day, engine), seconds in totals.items())

    async def user_usage(self, user_id: int, since: float) -> UsageRow:
        """One person's notes since ``since``, in every place."""
        sent = "CASE WHEN outcome = 'sent' THEN {} ELSE {} END"
        r = await self.db.fetchone(
            f"SELECT COALESCE(SUM({sent.format(1, 0)}), 0), COALESCE(SUM({sent.format('characters', 0)}), 0), "
            f"COALESCE(SUM(audio_s), 0), COALESCE(SUM(compute_s), 0), COALESCE(AVG({sent.format('wait_s', 'NULL')}), 0), "
            f"COALESCE(SUM({sent.format(0, 1)}), 0) FROM usage_records WHERE user_id=? AND created_at >= ?", user_id, since)
        return UsageRow("", int(r[0]), int(r[1]), float(r[2]), float(r[3]), float(r[4]), int(r[5]))

    async def usage(self, platform: str, server_id: str, since: float) -> tuple[list[UsageRow], list[UsageRow]]:
        """This server's notes since ``since``: (per member, most audio first; per engine), with the
        compute of jobs that made no note counted, and those jobs apart."""
        sent = "CASE WHEN r.outcome = 'sent' THEN {} ELSE {} END"
        totals = (f"SUM({sent.format(1, 0)}), SUM({sent.format('r.characters', 0)}), SUM(r.audio_s), SUM(r.compute_s), "
                  f"COALESCE(AVG({sent.format('r.wait_s', 'NULL')}), 0), SUM({sent.format(0, 1)})")
        members = await self.db.fetchall(
            f"SELECT COALESCE(u.platform_user_id, ''), {totals} FROM usage_records r LEFT JOIN users u ON u.id = r.user_id "
            "WHERE r.platform=? AND r.server_id=? AND r.created_at >= ? GROUP BY COALESCE(u.platform_user_id, '') "
            "ORDER BY SUM(r.audio_s) DESC", platform, server_id, since)
        engines = await self.db.fetchall(
            f"SELECT r.engine, {totals} FROM usage_records r WHERE r.platform=? AND r.server_id=? AND r.created_at >= ? "
            "GROUP BY r.engine ORDER BY SUM(r.audio_s) DESC", platform, server_id, since)

        def rows(found) -> list[UsageRow]:
            return [UsageRow(r[0], int(r[1]), int(r[2]), float(r[3]), float(r[4]), float(r[5]), int(r[6])) for r in found]

        return rows(members), rows(engines)

    # ---------------------------------------------------------------- provenance
    async def watermark_keys(self) -> list[WatermarkKey]:
        """This deployment's watermark keys kept in the database, newest first; the first is made
        here on first use (a deployment whose keys come from the environment never calls this)."""
        rows = await self.db.fetchall("SELECT secret FROM watermark_keys ORDER BY created_at DESC, fingerprint")
        if not rows:
            await self.add_watermark_key(WatermarkKey.generate(), only_if_none=True)
            rows = await self.db.fetchall("SELECT secret FROM watermark_keys ORDER BY created_at DESC, fingerprint")
        return [WatermarkKey(bytes(r[0])) for r in rows]

    async def add_watermark_key(self, key: WatermarkKey, only_if_none: bool = False) -> None:
        """A new newest key (rotation); ``only_if_none``: the first key, unless another process
        made one first."""
        async with self.db.transaction() as tx:
            if only_if_none and await tx.fetchone("SELECT 1 FROM watermark_keys") is not None:
                return
            newest = await tx.fetchone("SELECT MAX(created_at) FROM watermark_keys")
            created = max(time.time(), float(newest[0]) + 1e-3) if newest and newest[0] is not None else time.time()
            await tx.execute("INSERT INTO watermark_keys (fingerprint, secret, created_at) VALUES (?,?,?) "
                             "ON CONFLICT DO NOTHING", key.fingerprint, key.secret, created)

    async def next_note_mark(self, key: str, limit: int) -> NoteMark:
        """The next note id under watermark key ``key`` (its fingerprint), committed before the
        note is made: ids are never handed out twice, whoever deletes what.  :class:`MarksExhausted`
        once ``limit`` ids are spent."""
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO note_sequences (key_fp, next_id) VALUES (?, 0) ON CONFLICT DO NOTHING", key)
            await tx.execute("UPDATE note_sequences SET next_id = next_id + 1 WHERE key_fp=? AND next_id < ?", key, limit + 1)
            row = await tx.fetchone("SELECT next_id FROM note_sequences WHERE key_fp=?", key)
        taken = int(row[0])
        if taken > limit:
            raise MarksExhausted(f"watermark key {key} has no note ids left")
        return NoteMark(key, taken - 1)

    async def outstanding_consent_codes(self, now: float) -> list[str]:
        """The codes of every /clone consent not finished and not expired, anyone's: /say never
        speaks one."""
        rows = await self.db.fetchall("SELECT code FROM pending_actions WHERE kind='consent' AND status IN ('open', 'agreed') "
                                      "AND expires_at > ? AND code IS NOT NULL", now)
        return [str(r[0]) for r in rows if r[0]]

    # ---------------------------------------------------------------- /clone attempts (kept by platform id:
    # /forget must not reset them, or an attacker would start over after every refusal)
    async def take_clone_attempt(self, platform: str, platform_user_id: str, per_day: int, now: float) -> bool:
        """Count one /clone recording; False, and nothing counted, when /clone is closed to this
        person: a lockout in force, or ``per_day`` recordings in the last 24 hours."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM clone_attempts WHERE created_at < ?", now - 86400)
            locked = await tx.fetchone("SELECT 1 FROM clone_lockouts WHERE platform=? AND platform_user_id=? AND "
                                       "locked_until > ?", platform, platform_user_id, now)
            taken = await tx.fetchone("SELECT COUNT(*) FROM clone_attempts WHERE platform=? AND platform_user_id=?",
                                      platform, platform_user_id)
            if locked is not None or int(taken[0]) >= per_day:
                return False
            await tx.execute("INSERT INTO clone_attempts (platform, platform_user_id, created_at) VALUES (?,?,?)",
                             platform, platform_user_id, now)
        return True

    async def lock_clone(self, platform: str, platform_user_id: str, reason: str, until: float, now: float) -> None:
        """Close /clone to this person until ``until``, and keep the record (the moderation trail)."""
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO clone_lockouts (platform, platform_user_id, reason, locked_until, created_at) "
                             "VALUES (?,?,?,?,?)", platform, platform_user_id, reason, until, now)

    async def clone_lockouts(self, platform: str, platform_user_id: str) -> list[tuple[str, float, float]]:
        """This person's /clone lockouts, newest first: (reason, when, until)."""
        rows = await self.db.fetchall("SELECT reason, created_at, locked_until FROM clone_lockouts WHERE platform=? AND "
                                      "platform_user_id=? ORDER BY created_at DESC", platform, platform_user_id)
        return [(str(r[0]), float(r[1]), float(r[2])) for r in rows]

    async def provenance(self, mark: NoteMark) -> Optional[Provenance]:
        """The audit row of the note carrying ``mark``; when the requester has deleted theirs, the
        server's kept record of the use of someone else's voice."""
        row = await self.db.fetchone(
            "SELECT user_id, voice_owner_id, platform, server_id, created_at FROM audit_log WHERE mark_key=? AND mark=? "
            "ORDER BY created_at DESC LIMIT 1", mark.key, mark.id)
        if row is None:
            kept = await self.db.fetchone("SELECT platform, server_id, requester, owner, created_at FROM voice_use_records "
                                          "WHERE mark_key=? AND mark=? ORDER BY created_at DESC LIMIT 1", mark.key, mark.id)
            if kept is None:
                return None
            platform = kept[0]

            async def person(platform_user_id: str) -> User:  # id 0: nobody's row (they used /forget)
                return await self.find_user(platform, platform_user_id) or User(0, platform, platform_user_id, "en")

            return Provenance(await person(kept[2]), await person(kept[3]), platform, kept[1], kept[4])
        requester = await self.user_by_id(row["user_id"])
        if requester is None:
            return None
        owner = await self.user_by_id(row["voice_owner_id"]) if row["voice_owner_id"] is not None else None
        return Provenance(requester, owner, row["platform"], row["server_id"], row["created_at"])

    async def user_by_id(self, user_id: int) -> Optional[User]:
        row = await self.db.fetchone("SELECT * FROM users WHERE id=?", user_id)
        return None if row is None else User(row["id"], row["platform"], row["platform_user_id"], row["language"])

    # ---------------------------------------------------------------- rendered voices (provenance)
    async def save_rendered_voice(self, user_id: int, embedding: bytes) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("INSERT INTO rendered_voices (user_id, embedding, created_at) VALUES (?,?,?) "
                             "ON CONFLICT (user_id) DO UPDATE SET embedding=excluded.embedding, created_at=excluded.created_at",
                             user_id, embedding, time.time())

    async def rendered_voices(self, except_user: int) -> list[bytes]:
        """Every stored user's voice as the bot renders it, but ``except_user``'s own."""
        rows = await self.db.fetchall("SELECT embedding FROM rendered_voices WHERE user_id<>?", except_user)
        return [bytes(r["embedding"]) for r in rows]

    async def reserve_cooldown(self, user_id: int, platform: str, server_id: str, seconds: int) -> float:
        """Take this member's speaking slot atomically: 0 when taken, else seconds left to wait.

        One conditional upsert, so two simultaneous requests cannot both pass.
        """
        now = time.time()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "INSERT INTO cooldowns (user_id, platform, server_id, reserved_at) VALUES (?,?,?,?) "
                "ON CONFLICT(user_id, platform, server_id) DO UPDATE SET reserved_at=excluded.reserved_at "
                "WHERE cooldowns.reserved_at <= ?",
                user_id, platform, server_id, now, now - seconds)
            if changed == 1:
                return 0.0
            row = await tx.fetchone("SELECT reserved_at FROM cooldowns WHERE user_id=? AND platform=? AND server_id=?",
                                    user_id, platform, server_id)
        return max(0.001, float(row[0]) + seconds - now)

    async def release_cooldown(self, user_id: int, platform: str, server_id: str) -> None:
        """Give the slot back (the request failed, so it should not count)."""
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM cooldowns WHERE user_id=? AND platform=? AND server_id=?",
                             user_id, platform, server_id)

    async def last_generation(self, user_id: int, platform: str, server_id: str) -> Optional[float]:
        row = await self.db.fetchone("SELECT MAX(created_at) FROM audit_log WHERE user_id=? AND platform=? AND server_id=?", user_id, platform, server_id)
        return row[0] if row and row[0] is not None else None

    async def user_columns(self) -> list[tuple[str, str]]:
        """Every (table, column) that holds a user's row id: ``users.id`` and each foreign key to
        it, read from the schema itself, so a new table cannot be missed by /forget's proof."""
        if isinstance(self.db, PostgresDatabase):
            rows = await self.db.fetchall(
                "SELECT k.table_name, k.column_name FROM information_schema.referential_constraints r "
                "JOIN information_schema.key_column_usage k ON k.constraint_name = r.constraint_name "
                "JOIN information_schema.constraint_column_usage u ON u.constraint_name = r.unique_constraint_name "
                "WHERE u.table_name = 'users' AND u.column_name = 'id' AND k.table_schema = current_schema()")
            found = {(r[0], r[1]) for r in rows}
        else:
            tables = [r[0] for r in await self.db.fetchall("SELECT name FROM sqlite_master WHERE type='table'")]
            found = set()
            for table in tables:
                for fk in await self.db.fetchall(f"PRAGMA foreign_key_list({table})"):
                    if fk[2] == "users" and fk[4] == "id":  # (id, seq, table, from, to, ...)
                        found.add((table, fk[3]))
        return [("users", "id"), *sorted(found)]

    async def count_rows(self, user_id: int) -> int:
        """Rows anywhere that refer to this user (for /forget checks and tests)."""
        total = 0
        for table, col in await self.user_columns():
            total += (await self.db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE {col}=?", user_id))[0]
        return total
