"""The database: SQLite through aiosqlite (the default), or PostgreSQL through asyncpg.

Both run the same repositories (:mod:`.repositories`) through one small interface —
:meth:`fetchone`, :meth:`fetchall`, :meth:`execute` and :meth:`transaction` with ``?``
placeholders — and the same numbered migrations (:mod:`.migrations`).  :func:`connect` picks one
from ``[storage] url``.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re
import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Optional, Union

import aiosqlite

from ..logsafe import without_credentials
from .migrations import MIGRATIONS

if TYPE_CHECKING:  # optional: only a PostgreSQL deployment installs it
    import asyncpg

log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """The database cannot be opened or written (permissions, full disk, damaged file)."""


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot."""


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///relative`` or ``sqlite:////absolute`` URL."""
    if not url.startswith("sqlite:///"):
        raise StorageError(f"not a SQLite URL: {without_credentials(url)}")
    return url[len("sqlite:///"):]


class _Queries:
    """Reads and single writes, for both engines: ``?`` placeholders, rows indexable by name and position."""

    async def fetchone(self, sql: str, *args: Any) -> Any:
        rows = await self.fetchall(sql, *args)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        raise NotImplementedError

    async def execute(self, sql: str, *args: Any) -> int:
        """One write in its own transaction; returns the rows it changed."""
        async with self.transaction() as tx:
            return await tx.execute(sql, *args)

    def transaction(self):
        raise NotImplementedError


class _SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        cur = await self.conn.execute(sql, args)
        return cur.rowcount

    async def fetchone(self, sql: str, *args: Any) -> Any:
        async with self.conn.execute(sql, args) as cur:
            return await cur.fetchone()

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        async with self.conn.execute(sql, args) as cur:
            return list(await cur.fetchall())


class Database(_Queries):
    """SQLite: one connection; writes are grouped in :meth:`transaction` so a failure leaves no half rows."""

    dialect = "sqlite"

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
        return int(row[0]) if row is not None else 0

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

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        async with self.conn.execute(sql, args) as cur:
            return list(await cur.fetchall())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SqliteTx]:
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")


# --- PostgreSQL -----------------------------------------------------------------------------------

#: SQLite's column types in the migrations, as PostgreSQL spells them (timestamps are floats of
#: seconds: REAL would be 4-byte floats in PostgreSQL).
_PG_TYPES = ((re.compile(r"\bid INTEGER PRIMARY KEY\b"), "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
             (re.compile(r"\bINTEGER\b"), "BIGINT"), (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
             (re.compile(r"\bBLOB\b"), "BYTEA"))


def postgres_schema(migration: str) -> str:
    for pattern, replacement in _PG_TYPES:
        migration = pattern.sub(replacement, migration)
    return migration


@functools.lru_cache(maxsize=512)
def postgres_sql(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, …`` (the repositories never put ``?`` inside a literal)."""
    numbers = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


def _changed(status: str) -> int:
    """Rows changed, from asyncpg's command tag ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class _PostgresTx:
    def __init__(self, conn) -> None:
        self.conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        return _changed(await self.conn.execute(postgres_sql(sql), *args))

    async def fetchone(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchrow(postgres_sql(sql), *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        return list(await self.conn.fetch(postgres_sql(sql), *args))


class PostgresDatabase(_Queries):
    """PostgreSQL through an asyncpg pool: several bot processes can share it."""

    dialect = "postgresql"

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: Optional["asyncpg.Pool"] = None

    @property
    def where(self) -> str:
        return without_credentials(self.url)

    async def open(self) -> None:
        try:
            import asyncpg
        except ImportError as exc:
            raise StorageError("[storage] url = 'postgresql://…' needs asyncpg: pip install '.[scale]'") from exc
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size, timeout=10)
            await self.migrate()
        except SchemaTooNewError:
            await self.close()
            raise
        except (OSError, asyncpg.PostgresError, asyncio.TimeoutError, ValueError) as exc:
            await self.close()
            raise StorageError(f"cannot use the database {self.where}: {exc}") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @property
    def pool(self) -> "asyncpg.Pool":
        if self._pool is None:
            raise RuntimeError("database is not open")
        return self._pool

    async def scrub(self) -> None:
        """Nothing to fold in: PostgreSQL reuses the space of deleted rows after autovacuum."""

    async def schema_version(self) -> int:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT to_regclass('schema_version') IS NOT NULL"):
                return 0
            return int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

    async def migrate(self) -> None:
        """The same migrations as SQLite, each in its own transaction, under a lock so that two
        bot processes starting together apply them once."""
        async with self.pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(727274)")  # any constant: "the migration lock"
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                current = int(await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))
                if current > len(MIGRATIONS):
                    raise SchemaTooNewError(
                        f"The database {self.where} has schema version {current}, newer than this bot understands "
                        f"({len(MIGRATIONS)}). Upgrade the bot or use another database.")
                for number in range(current + 1, len(MIGRATIONS) + 1):
                    async with conn.transaction():
                        await conn.execute(postgres_schema(MIGRATIONS[number - 1]))
                        await conn.execute("INSERT INTO schema_version VALUES ($1)", number)
                    log.info("database migrated to schema %d", number)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(727274)")

    async def fetchall(self, sql: str, *args: Any) -> list[Any]:
        async with self.pool.acquire() as conn:
            return await conn.fetch(postgres_sql(sql), *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresTx]:
        async with self.pool.acquire() as conn:
            async with conn.transaction():
                yield _PostgresTx(conn)


def connect(url: str) -> Union[Database, PostgresDatabase]:
    """The database of ``[storage] url`` (not opened yet)."""
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresDatabase(url)
    return Database(sqlite_path(url))
