"""Storage: SQLite via aiosqlite."""

from .db import Database, SchemaTooNewError
from .repositories import AuditEntry, Consent, Policy, Store, StoredVoice, User

__all__ = ["AuditEntry", "Consent", "Database", "Policy", "SchemaTooNewError", "Store", "StoredVoice", "User"]
