"""The spend ledger on SQLite and a real PostgreSQL: reservations that hold in every scope or none,
concurrent requests that cannot both take the last seconds, and holds that end."""

import asyncio

import pytest

from bot.storage import Store, connect
from bot.storage.spend import DAY_S, HOLD_TTL_S, Limit, Shortfall, today

NOW = 1_800_000_000.0 // DAY_S * DAY_S + 3600  # a fixed moment: 01:00 UTC


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request, tmp_path):
    return f"sqlite:///{tmp_path / 'b.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")


@pytest.fixture
async def store(url):
    db = connect(url)
    await db.open()
    yield Store(db)
    await db.close()


async def test_a_hold_fits_every_scope_or_is_taken_in_none(store):
    ledger = store.spend
    limits = [Limit("user:t:1", 100, 100), Limit("server:t:g", 5), Limit("member:t:g:1", None)]
    hold = await ledger.reserve(limits, 4.0, 4.0, now=NOW)
    assert isinstance(hold, str)
    short = await ledger.reserve(limits, 2.0, 2.0, now=NOW)  # the server has 1 s left
    assert short == Shortfall("server:t:g", "audio", 5.0, 1.0)
    # nothing of the refused request was held anywhere: the user scope still takes its 96 s
    assert isinstance(await ledger.reserve([Limit("user:t:1", 100)], 96.0, 0.0, now=NOW), str)
    assert isinstance(await ledger.reserve([Limit("user:t:1", 100)], 1.0, 0.0, now=NOW), Shortfall)


async def test_compute_is_bounded_as_well_as_speech(store):
    ledger = store.spend
    limits = [Limit("user:t:1", 100, 10)]
    hold = await ledger.reserve(limits, 1.0, 1.0, now=NOW)
    await ledger.charge(hold, 0.0, 9.5)  # a job that failed after 9.5 s of compute
    await ledger.release(hold)
    assert (await ledger.spent("user:t:1", today(NOW))).compute_s == pytest.approx(9.5)
    assert await ledger.reserve(limits, 1.0, 1.0, now=NOW) == Shortfall("user:t:1", "compute", 10.0, 0.5)


async def test_what_a_request_did_not_use_is_free_again_and_what_it_used_stays(store):
    ledger = store.spend
    limits = [Limit("member:t:g:1", 10)]
    hold = await ledger.reserve(limits, 8.0, 8.0, now=NOW)
    await ledger.charge(hold, 3.0, 1.0)  # one note of 3 s out of the 8 estimated
    assert isinstance(await ledger.reserve(limits, 3.0, 0.0, now=NOW), Shortfall)  # 3 booked + 5 still held
    await ledger.release(hold)
    assert (await ledger.spent("member:t:g:1", today(NOW))).audio_s == pytest.approx(3.0)
    assert isinstance(await ledger.reserve(limits, 7.0, 0.0, now=NOW), str)


async def test_a_hold_left_by_a_stopped_process_ends_and_a_new_day_starts_afresh(store):
    ledger = store.spend
    limits = [Limit("user:t:1", 10)]
    assert isinstance(await ledger.reserve(limits, 10.0, 0.0, now=NOW), str)  # never released: the process died
    assert isinstance(await ledger.reserve(limits, 1.0, 0.0, now=NOW + 60), Shortfall)
    assert isinstance(await ledger.reserve(limits, 10.0, 0.0, now=NOW + HOLD_TTL_S + 1), str)
    hold = await ledger.reserve(limits, 10.0, 0.0, now=NOW + DAY_S)  # tomorrow
    await ledger.charge(hold, 10.0, 0.0)
    await ledger.release(hold)
    assert isinstance(await ledger.reserve(limits, 1.0, 0.0, now=NOW + DAY_S), Shortfall)
    await ledger.reserve(limits, 1.0, 0.0, now=NOW + 3 * DAY_S)  # and the day before yesterday is gone
    assert (await ledger.spent("user:t:1", today(NOW + DAY_S))).audio_s == 0


async def test_concurrent_requests_cannot_both_take_the_last_seconds(url):
    """Twelve requests of 2 s at once against 5 s left, from two bot processes (two connections
    or pools to one database): exactly two fit."""
    dbs = [connect(url) for _ in range(2)]
    for db in dbs:
        await db.open()
    try:
        stores = [Store(db) for db in dbs]
        limits = [Limit("member:t:g:1", 5), Limit("user:t:1", 1000, 1000)]
        found = await asyncio.gather(*(stores[i % 2].spend.reserve(limits, 2.0, 2.0, now=NOW) for i in range(12)))
        assert sum(isinstance(f, str) for f in found) == 2
        assert all(f.left == pytest.approx(1.0) for f in found if isinstance(f, Shortfall))
    finally:
        for db in dbs:
            await db.close()
