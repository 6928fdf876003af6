"""Repositories: small async methods over :class:`Database` returning dataclasses."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .db import Database


@dataclass(frozen=True)
class User:
    id: int
    platform: str
    platform_user_id: str
    language: str


@dataclass(frozen=True)
class StoredVoice:
    user_id: int
    profile: bytes
    engine: str
    version: str
    meta: dict[str, Any]
    created_at: float


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


POLICY_FIELDS = ("clone_allowed", "say_mode", "say_role", "cooldown_s", "max_chars", "shared_voices_allowed")


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


class Store:
    """Every query of the bot, grouped by table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ---------------------------------------------------------------- users
    async def user(self, platform: str, platform_user_id: str, language: Optional[str] = None) -> User:
        """Get or create the user row."""
        async with self.db.conn.execute(
            "SELECT * FROM users WHERE platform=? AND platform_user_id=?", (platform, platform_user_id)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            async with self.db.transaction() as conn:
                await conn.execute(
                    "INSERT OR IGNORE INTO users (platform, platform_user_id, language, created_at) VALUES (?,?,?,?)",
                    (platform, platform_user_id, language or "en", time.time()),
                )
            return await self.user(platform, platform_user_id)
        user = User(row["id"], row["platform"], row["platform_user_id"], row["language"])
        if language and language != user.language:
            async with self.db.transaction() as conn:
                await conn.execute("UPDATE users SET language=? WHERE id=?", (language, user.id))
            user = User(user.id, user.platform, user.platform_user_id, language)
        return user

    async def find_user(self, platform: str, platform_user_id: str) -> Optional[User]:
        async with self.db.conn.execute(
            "SELECT * FROM users WHERE platform=? AND platform_user_id=?", (platform, platform_user_id)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else User(row["id"], row["platform"], row["platform_user_id"], row["language"])

    async def forget(self, user_id: int) -> None:
        """Delete the user and, through ON DELETE CASCADE, every row that refers to them."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM users WHERE id=?", (user_id,))

    # ---------------------------------------------------------------- voices + consent
    async def save_voice(self, user_id: int, profile: bytes, engine: str, version: str, meta: dict[str, Any], consent: Consent) -> None:
        """Store the profile and the consent record together, or neither."""
        now = time.time()
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO consents (user_id, method, text_shown, transcript, score, audio_sha256, created_at) VALUES (?,?,?,?,?,?,?)",
                (user_id, consent.method, consent.text_shown, consent.transcript, consent.score, consent.audio_sha256, consent.created_at),
            )
            await conn.execute(
                "INSERT INTO voices (user_id, profile, engine, version, meta, created_at) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(user_id) DO UPDATE SET profile=excluded.profile, engine=excluded.engine, "
                "version=excluded.version, meta=excluded.meta, created_at=excluded.created_at",
                (user_id, profile, engine, version, json.dumps(meta), now),
            )

    async def voice(self, user_id: int) -> Optional[StoredVoice]:
        async with self.db.conn.execute("SELECT * FROM voices WHERE user_id=?", (user_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return StoredVoice(row["user_id"], bytes(row["profile"]), row["engine"], row["version"], json.loads(row["meta"]), row["created_at"])

    async def consents(self, user_id: int) -> list[Consent]:
        async with self.db.conn.execute("SELECT * FROM consents WHERE user_id=? ORDER BY id", (user_id,)) as cur:
            rows = await cur.fetchall()
        return [Consent(r["user_id"], r["method"], r["text_shown"], r["transcript"], r["score"], r["audio_sha256"], r["created_at"]) for r in rows]

    # ---------------------------------------------------------------- policies
    async def policy(self, platform: str, server_id: str) -> Policy:
        async with self.db.conn.execute(
            "SELECT * FROM server_policies WHERE platform=? AND server_id=?", (platform, server_id)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return Policy(platform, server_id)
        return Policy(platform, server_id, bool(row["clone_allowed"]), row["say_mode"], row["say_role"],
                      int(row["cooldown_s"]), int(row["max_chars"]), bool(row["shared_voices_allowed"]))

    async def set_policy(self, policy: Policy) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO server_policies (platform, server_id, clone_allowed, say_mode, say_role, cooldown_s, "
                "max_chars, shared_voices_allowed, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(platform, server_id) DO UPDATE SET clone_allowed=excluded.clone_allowed, "
                "say_mode=excluded.say_mode, say_role=excluded.say_role, cooldown_s=excluded.cooldown_s, "
                "max_chars=excluded.max_chars, shared_voices_allowed=excluded.shared_voices_allowed, updated_at=excluded.updated_at",
                (policy.platform, policy.server_id, int(policy.clone_allowed), policy.say_mode, policy.say_role,
                 policy.cooldown_s, policy.max_chars, int(policy.shared_voices_allowed), time.time()),
            )

    # ---------------------------------------------------------------- members
    async def is_blocked(self, platform: str, server_id: str, user_id: int) -> bool:
        async with self.db.conn.execute(
            "SELECT 1 FROM member_blocks WHERE platform=? AND server_id=? AND user_id=?", (platform, server_id, user_id)
        ) as cur:
            return await cur.fetchone() is not None

    async def set_blocked(self, platform: str, server_id: str, user_id: int, blocked: bool, by: str) -> None:
        async with self.db.transaction() as conn:
            if blocked:
                await conn.execute(
                    "INSERT OR IGNORE INTO member_blocks (platform, server_id, user_id, blocked_by, created_at) VALUES (?,?,?,?,?)",
                    (platform, server_id, user_id, by, time.time()),
                )
            else:
                await conn.execute("DELETE FROM member_blocks WHERE platform=? AND server_id=? AND user_id=?", (platform, server_id, user_id))

    async def is_trusted(self, platform: str, server_id: str, user_id: int) -> bool:
        async with self.db.conn.execute(
            "SELECT 1 FROM member_roles WHERE platform=? AND server_id=? AND user_id=? AND role='trusted'", (platform, server_id, user_id)
        ) as cur:
            return await cur.fetchone() is not None

    async def set_trusted(self, platform: str, server_id: str, user_id: int, trusted: bool) -> None:
        async with self.db.transaction() as conn:
            if trusted:
                await conn.execute("INSERT OR IGNORE INTO member_roles VALUES (?,?,?,'trusted')", (platform, server_id, user_id))
            else:
                await conn.execute("DELETE FROM member_roles WHERE platform=? AND server_id=? AND user_id=?", (platform, server_id, user_id))

    # ---------------------------------------------------------------- shares
    async def set_shared(self, owner_id: int, platform: str, server_id: str, shared: bool) -> None:
        async with self.db.transaction() as conn:
            if shared:
                await conn.execute("INSERT OR IGNORE INTO voice_shares VALUES (?,?,?,?)", (owner_id, platform, server_id, time.time()))
            else:
                await conn.execute("DELETE FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", (owner_id, platform, server_id))

    async def is_shared(self, owner_id: int, platform: str, server_id: str) -> bool:
        async with self.db.conn.execute(
            "SELECT 1 FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", (owner_id, platform, server_id)
        ) as cur:
            return await cur.fetchone() is not None

    async def shares(self, owner_id: int) -> list[tuple[str, str]]:
        async with self.db.conn.execute("SELECT platform, server_id FROM voice_shares WHERE owner_id=?", (owner_id,)) as cur:
            return [(r[0], r[1]) for r in await cur.fetchall()]

    async def purge_member(self, platform: str, server_id: str, user_id: int) -> None:
        """Remove a member's shares and generation history in one server."""
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM voice_shares WHERE owner_id=? AND platform=? AND server_id=?", (user_id, platform, server_id))
            await conn.execute("DELETE FROM audit_log WHERE user_id=? AND platform=? AND server_id=?", (user_id, platform, server_id))

    # ---------------------------------------------------------------- audit
    async def audit(self, entry: AuditEntry) -> None:
        async with self.db.transaction() as conn:
            await conn.execute(
                "INSERT INTO audit_log (user_id, voice_owner_id, platform, server_id, text_sha256, emotion, duration_s, created_at) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (entry.user_id, entry.voice_owner_id, entry.platform, entry.server_id, entry.text_sha256, entry.emotion,
                 entry.duration_s, entry.created_at),
            )

    async def last_generation(self, user_id: int, platform: str, server_id: str) -> Optional[float]:
        async with self.db.conn.execute(
            "SELECT MAX(created_at) FROM audit_log WHERE user_id=? AND platform=? AND server_id=?", (user_id, platform, server_id)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row and row[0] is not None else None

    async def count_rows(self, user_id: int) -> int:
        """Rows anywhere that refer to this user (for /forget checks and tests)."""
        total = 0
        for table, col in (("users", "id"), ("voices", "user_id"), ("consents", "user_id"), ("member_blocks", "user_id"),
                           ("member_roles", "user_id"), ("voice_shares", "owner_id"), ("audit_log", "user_id"),
                           ("audit_log", "voice_owner_id")):
            async with self.db.conn.execute(f"SELECT COUNT(*) FROM {table} WHERE {col}=?", (user_id,)) as cur:
                total += (await cur.fetchone())[0]
        return total
