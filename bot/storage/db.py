"""SQLite through aiosqlite: WAL, foreign keys, busy timeout, numbered migrations."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator, Union

import aiosqlite

from .migrations import MIGRATIONS

log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """The database cannot be opened or written (permissions, full disk, damaged file)."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot."""


class Database:
    """One connection; writes are grouped in :meth:`transaction` so a failure leaves no half rows."""

    def __init__(self, path: Union[str, Path]) -> None:
        self.path = str(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()  # one connection: transactions must not interleave

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not open")
        return self._conn

    async def open(self) -> None:
        """Open, configure and migrate; any OS or SQLite failure becomes one :class:`StorageError` line."""
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = await aiosqlite.connect(self.path, isolation_level=None)
            self._conn.row_factory = aiosqlite.Row
            await self._conn.execute("PRAGMA journal_mode=WAL")
            await self._conn.execute("PRAGMA foreign_keys=ON")
            await self._conn.execute("PRAGMA busy_timeout=5000")
            # Deleted rows are overwritten with zeros, so /forget leaves no readable trace in the file.
            await self._conn.execute("PRAGMA secure_delete=ON")
            await self.migrate()
            # A write at start-up finds a read-only file or a full disk now, not mid-conversation.
            await self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            async with self.transaction() as conn:
                await conn.execute("CREATE TABLE IF NOT EXISTS _write_probe (x)")
                await conn.execute("DROP TABLE _write_probe")
        except SchemaTooNewError:
            raise
        except (OSError, sqlite3.Error) as exc:
            await self.close()
            raise StorageError(f"cannot use the database {self.path}: {exc}") from exc

    async def scrub(self) -> None:
        """Fold the write-ahead log into the database and truncate it, so deleted rows do not
        survive in ``-wal`` (``secure_delete`` has already zeroed them in the main file)."""
        async with self._write_lock:
            await self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0])

    async def migrate(self) -> None:
        """Apply missing migrations, each in its own transaction; refuse a newer schema."""
        current = await self.schema_version()
        if current > len(MIGRATIONS):
            raise SchemaTooNewError(
                f"The database {self.path} has schema version {current}, newer than this bot "
                f"understands ({len(MIGRATIONS)}). Upgrade the bot or use another database file."
            )
        for number in range(current + 1, len(MIGRATIONS) + 1):
            async with self.transaction():
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        await self.conn.execute(statement)
                await self.conn.execute(f"PRAGMA user_version={number}")
            log.info("database migrated to schema %d", number)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")
