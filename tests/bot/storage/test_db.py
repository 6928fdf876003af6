import asyncio
import sqlite3

import pytest

from bot.storage import Database, SchemaTooNewError, Store
from bot.storage.migrations import MIGRATIONS


@pytest.fixture
async def store(tmp_path):
    db = Database(tmp_path / "b.sqlite3")
    await db.open()
    yield Store(db)
    await db.close()


async def test_migrations_wal_foreign_keys(store, tmp_path):
    assert await store.db.schema_version() == len(MIGRATIONS)
    async with store.db.conn.execute("PRAGMA journal_mode") as cur:
        assert (await cur.fetchone())[0] == "wal"
    async with store.db.conn.execute("PRAGMA foreign_keys") as cur:
        assert (await cur.fetchone())[0] == 1


async def test_refuses_newer_schema(tmp_path):
    path = tmp_path / "new.sqlite3"
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    con.close()
    db = Database(path)
    with pytest.raises(SchemaTooNewError, match="newer"):
        await db.open()
    await db.close()


async def test_reopen_does_not_reapply(tmp_path):
    for _ in range(2):
        db = Database(tmp_path / "x.sqlite3")
        await db.open()
        assert await db.schema_version() == len(MIGRATIONS)
        await db.close()


async def test_version_1_blocks_are_kept_by_platform_id(tmp_path):
    """A database written by the first release keeps its blocks through migration 2."""
    path = tmp_path / "v1.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(MIGRATIONS[0] + ";PRAGMA user_version=1;")
    con.execute("INSERT INTO users (id, platform, platform_user_id, language, created_at) VALUES (5, 'tg', '777', 'en', 0)")
    con.execute("INSERT INTO member_blocks VALUES ('tg', 'g', 5, 'admin', 0)")
    con.commit()
    con.close()
    db = Database(path)
    await db.open()
    store = Store(db)
    assert await db.schema_version() == len(MIGRATIONS)
    assert await store.is_blocked("tg", "g", ("777",)) and not await store.is_blocked("tg", "g", ("5",))
    await db.close()


async def test_a_voice_made_before_engines_side_by_side_moves_to_its_engines_profile_once(tmp_path):
    """Migration 6: the one profile of an older voice becomes its engine's profile, and the voices
    row no longer keeps a second copy of it."""
    path = tmp_path / "v5.sqlite3"
    con = sqlite3.connect(path)
    con.executescript(";".join(MIGRATIONS[:5]) + f";PRAGMA user_version={5};")
    con.execute("INSERT INTO users (id, platform, platform_user_id, language, created_at) VALUES (5, 'tg', '777', 'en', 0)")
    con.execute("INSERT INTO voices VALUES (5, ?, 'default', '2.0', '{}', 1.5)", (b"PROFILE" * 1000,))
    con.commit()
    con.close()
    db = Database(path)
    await db.open()
    try:
        stored = await Store(db).voice(5)
        assert (stored.engine, stored.version, stored.profile) == ("default", "2.0", b"PROFILE" * 1000)
        assert (await db.fetchone("SELECT length(profile) FROM voices"))[0] == 0
    finally:
        await db.close()


@pytest.mark.parametrize("make", ["directory", "garbage"])
async def test_an_unusable_database_file_is_one_clear_error(tmp_path, make):
    from bot.storage import StorageError

    path = tmp_path / "bad.sqlite3"
    if make == "directory":
        path.mkdir()
    else:
        path.write_bytes(b"this is not a database" * 100)
    db = Database(path)
    with pytest.raises(StorageError, match="bad.sqlite3"):
        await db.open()
    assert db._conn is None  # nothing left open


async def test_postgres_two_bots_starting_together_migrate_once(postgres_url):
    from bot.storage import PostgresDatabase

    dbs = [PostgresDatabase(postgres_url) for _ in range(3)]
    await asyncio.gather(*[db.open() for db in dbs])
    try:
        assert [await db.schema_version() for db in dbs] == [len(MIGRATIONS)] * 3
        rows = await dbs[0].fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for db in dbs:
            await db.close()


async def test_postgres_refuses_a_newer_schema(postgres_url):
    from bot.storage import PostgresDatabase

    db = PostgresDatabase(postgres_url)
    await db.open()
    await db.execute("INSERT INTO schema_version VALUES (?)", len(MIGRATIONS) + 1)
    await db.close()
    with pytest.raises(SchemaTooNewError, match="newer than this bot"):
        await PostgresDatabase(postgres_url).open()


async def test_an_unreachable_postgres_is_one_clear_error_without_the_password(postgres_server):
    from bot.storage import PostgresDatabase, StorageError
    from tests.servers import free_port

    db = PostgresDatabase(f"postgresql://voicebot:s3cret-pw@127.0.0.1:{free_port()}/voicebot")
    with pytest.raises(StorageError) as err:
        await db.open()
    assert "127.0.0.1" in str(err.value) and "s3cret-pw" not in str(err.value)
    assert db._pool is None
