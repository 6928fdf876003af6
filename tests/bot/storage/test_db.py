import sqlite3

import pytest

from bot.storage import Consent, Database, Policy, SchemaTooNewError, Store
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


def _consent(user_id):
    return Consent(user_id, "spoken", "I agree ...", "i agree", 0.97, "ab" * 32, 1.0)


async def test_voice_and_consent_are_saved_together_or_not_at_all(store):
    user = await store.user("tg", "1")
    bad = Consent(user.id, "telepathy", "x", None, None, None, 1.0)  # violates the CHECK constraint
    with pytest.raises(sqlite3.IntegrityError):
        await store.save_voice(user.id, b"profile", "default", "1.0", {}, bad)
    assert await store.voice(user.id) is None and await store.consents(user.id) == []
    await store.save_voice(user.id, b"profile", "default", "1.0", {"a": 1}, _consent(user.id))
    stored = await store.voice(user.id)
    assert stored.profile == b"profile" and stored.meta == {"a": 1}
    assert len(await store.consents(user.id)) == 1


async def test_forget_removes_every_row_of_the_user(store):
    from bot.storage import AuditEntry

    me, other = await store.user("tg", "1"), await store.user("tg", "2")
    await store.save_voice(me.id, b"p", "default", "1.0", {}, _consent(me.id))
    await store.set_shared(me.id, "tg", "g", True)
    await store.set_blocked("tg", "g", "1", True, "admin")
    await store.set_trusted("tg", "g", me.id, True)
    assert await store.reserve_cooldown(me.id, "tg", "g", 60) == 0
    await store.audit(AuditEntry(me.id, "tg", "g", "h", "happy 1", 1.0))
    await store.audit(AuditEntry(other.id, "tg", "g", "h", "neutral", 1.0, voice_owner_id=me.id))
    await store.set_read_aloud_opt_out(me.id, "tg", "g", True)
    assert await store.count_rows(me.id) > 6
    await store.forget(me.id)
    assert await store.count_rows(me.id) == 0
    assert await store.find_user("tg", "2") is not None
    assert await store.is_blocked("tg", "g", ("1",))  # the server's moderation record stays


async def test_policy_defaults_and_update(store):
    p = await store.policy("tg", "g")
    assert p == Policy("tg", "g")
    await store.set_policy(Policy("tg", "g", clone_allowed=False, say_mode="admins", cooldown_s=5, max_chars=100))
    q = await store.policy("tg", "g")
    assert (q.clone_allowed, q.say_mode, q.cooldown_s, q.max_chars) == (False, "admins", 5, 100)
    await store.set_policy(Policy("tg", "g", read_aloud_channel="7001"))
    assert (await store.policy("tg", "g")).read_aloud_channel == "7001"


async def test_read_aloud_opt_out_is_per_server_and_reversible(store):
    me = await store.user("dc", "1")
    await store.set_read_aloud_opt_out(me.id, "dc", "g", True)
    await store.set_read_aloud_opt_out(me.id, "dc", "g", True)  # twice is the same as once
    assert await store.read_aloud_opted_out(me.id, "dc", "g") and not await store.read_aloud_opted_out(me.id, "dc", "h")
    await store.set_read_aloud_opt_out(me.id, "dc", "g", False)
    assert not await store.read_aloud_opted_out(me.id, "dc", "g")


async def test_purge_member_only_touches_that_server(store):
    from bot.storage import AuditEntry

    me = await store.user("tg", "1")
    await store.set_shared(me.id, "tg", "g", True)
    await store.set_shared(me.id, "tg", "h", True)
    await store.audit(AuditEntry(me.id, "tg", "g", "h", "neutral", 1.0))
    await store.audit(AuditEntry(me.id, "tg", "h", "h", "neutral", 1.0))
    await store.purge_member("tg", "g", me.id)
    assert await store.shares(me.id) == [("tg", "h")]
    assert await store.last_generation(me.id, "tg", "g") is None
    assert await store.last_generation(me.id, "tg", "h") is not None


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


async def test_cooldown_reservation_is_atomic(store):
    import asyncio

    me = await store.user("tg", "1")
    waits = await asyncio.gather(*[store.reserve_cooldown(me.id, "tg", "g", 60) for _ in range(5)])
    assert sorted(w == 0 for w in waits) == [False] * 4 + [True]
    assert all(55 < w <= 60 for w in waits if w)
    await store.release_cooldown(me.id, "tg", "g")
    assert await store.reserve_cooldown(me.id, "tg", "g", 60) == 0
    assert await store.reserve_cooldown(me.id, "tg", "other", 60) == 0  # per server


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
