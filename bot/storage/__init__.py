"""Storage: SQLite via aiosqlite."""

from .db import Database, SchemaTooNewError, StorageError
from .repositories import AuditEntry, Consent, PendingAction, Policy, Store, StoredVoice, User

__all__ = ["AuditEntry", "Consent", "Database", "PendingAction", "Policy", "SchemaTooNewError", "StorageError", "Store", "StoredVoice", "User"]
