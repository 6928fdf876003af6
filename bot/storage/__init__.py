"""Storage: SQLite via aiosqlite (default) or PostgreSQL via asyncpg, one set of repositories."""

from .db import Database, PostgresDatabase, SchemaTooNewError, StorageError, connect, sqlite_path
from .repositories import AuditEntry, Consent, PendingAction, Policy, Provenance, Store, StoredVoice, UsageEntry, UsageRow, User, VoiceUse

__all__ = ["AuditEntry", "Consent", "Database", "PostgresDatabase", "connect", "PendingAction", "Policy", "Provenance", "SchemaTooNewError", "StorageError", "Store", "sqlite_path", "StoredVoice", "UsageEntry", "UsageRow", "User", "VoiceUse"]
