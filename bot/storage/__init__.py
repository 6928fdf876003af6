"""Storage: SQLite via aiosqlite (default) or PostgreSQL via asyncpg, one set of repositories."""

from .db import Database, PostgresDatabase, SchemaTooNewError, StorageError, connect, sqlite_path
from .repositories import AuditEntry, Consent, MarksExhausted, NoteMark, PendingAction, Policy, Provenance, STALE_VOICE_NOTICE, Store, StoredProfile, StoredVoice, UsageEntry, UsageRow, User, VoiceUse

__all__ = ["AuditEntry", "Consent", "MarksExhausted", "NoteMark", "Database", "PostgresDatabase", "connect", "PendingAction", "Policy", "Provenance", "SchemaTooNewError", "STALE_VOICE_NOTICE", "StorageError", "Store", "sqlite_path", "StoredProfile", "StoredVoice", "UsageEntry", "UsageRow", "User", "VoiceUse"]
