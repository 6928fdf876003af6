"""The storage contract: every repository query, run on SQLite and on a real PostgreSQL server."""

import asyncio
import sqlite3

import pytest

from bot.storage import AuditEntry, Consent, NoteMark, PendingAction, Policy, Store, StoredProfile, connect

try:
    from asyncpg import IntegrityConstraintViolationError
except ImportError:  # the scale extra is not installed: the PostgreSQL half is skipped
    IntegrityConstraintViolationError = sqlite3.IntegrityError
INTEGRITY_ERRORS = (sqlite3.IntegrityError, IntegrityConstraintViolationError)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request, tmp_path):
    url = f"sqlite:///{tmp_path / 'b.sqlite3'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    db = connect(url)
    await db.open()
    yield Store(db)
    await db.close()


def _consent(user_id):
    return Consent(user_id, "spoken", "I agree ...", "i agree", 0.97, "ab" * 32, 1.0)


async def test_voice_and_consent_are_saved_together_or_not_at_all(store):
    user = await store.user("tg", "1")
    bad = Consent(user.id, "telepathy", "x", None, None, None, 1.0)  # violates the CHECK constraint
    with pytest.raises(INTEGRITY_ERRORS):
        await store.save_voice(user.id, [StoredProfile("default", "1.0", b"profile")], {}, bad)
    assert await store.voice(user.id) is None and await store.consents(user.id) == []
    await store.save_voice(user.id, [StoredProfile("default", "1.0", b"profile")], {"a": 1}, _consent(user.id))
    stored = await store.voice(user.id)
    assert stored.profile == b"profile" and stored.meta == {"a": 1}
    assert len(await store.consents(user.id)) == 1


async def test_forget_removes_every_row_of_the_user(store):
    me, other = await store.user("tg", "1"), await store.user("tg", "2")
    await store.save_voice(me.id, [StoredProfile("default", "1.0", b"p")], {}, _consent(me.id))
    await store.set_shared(me.id, "tg", "g", True)
    await store.set_blocked("tg", "g", "1", True, "admin")
    await store.set_trusted("tg", "g", me.id, True)
    assert await store.reserve_cooldown(me.id, "tg", "g", 60) == 0
    await store.audit(AuditEntry(me.id, "tg", "g", "h", "happy 1", 1.0))
    await store.audit(AuditEntry(other.id, "tg", "g", "h", "neutral", 1.0, voice_owner_id=me.id))
    await store.set_read_aloud_opt_out(me.id, "tg", "g", True)
    await store.set_share_notices(me.id, True)
    assert await store.count_rows(me.id) > 7
    await store.forget(me.id)
    assert await store.count_rows(me.id) == 0
    assert await store.find_user("tg", "2") is not None
    assert await store.is_blocked("tg", "g", ("1",))  # the server's moderation record stays


async def test_forgets_proof_covers_every_table_that_refers_to_a_user(store):
    columns = await store.user_columns()
    # read from the schema: every table with a user's id in it, whoever adds the next one
    assert {("voices", "user_id"), ("audit_log", "voice_owner_id"), ("voice_shares", "owner_id"),
            ("share_notices", "user_id"), ("rendered_voices", "user_id")} <= set(columns)
    assert len(columns) >= 12 and not any(t == "voice_use_records" for t, _ in columns)  # kept by design: no key


async def test_policy_defaults_and_update(store):
    p = await store.policy("tg", "g")
    assert p == Policy("tg", "g")
    await store.set_policy(Policy("tg", "g", clone_allowed=False, say_mode="admins", cooldown_s=5, max_chars=100))
    q = await store.policy("tg", "g")
    assert (q.clone_allowed, q.say_mode, q.cooldown_s, q.max_chars) == (False, "admins", 5, 100)
    await store.set_policy(Policy("tg", "g", read_aloud_channel="7001"))
    assert (await store.policy("tg", "g")).read_aloud_channel == "7001"
    await store.set_policy(Policy("tg", "g", quota_server_s=600, quota_member_s=60))
    assert (await store.policy("tg", "g")) == Policy("tg", "g", quota_server_s=600, quota_member_s=60)


async def test_read_aloud_opt_out_is_per_server_and_reversible(store):
    me = await store.user("dc", "1")
    await store.set_read_aloud_opt_out(me.id, "dc", "g", True)
    await store.set_read_aloud_opt_out(me.id, "dc", "g", True)  # twice is the same as once
    assert await store.read_aloud_opted_out(me.id, "dc", "g") and not await store.read_aloud_opted_out(me.id, "dc", "h")
    await store.set_read_aloud_opt_out(me.id, "dc", "g", False)
    assert not await store.read_aloud_opted_out(me.id, "dc", "g")


async def test_purge_member_only_touches_that_server(store):
    me = await store.user("tg", "1")
    await store.set_shared(me.id, "tg", "g", True)
    await store.set_shared(me.id, "tg", "h", True)
    await store.audit(AuditEntry(me.id, "tg", "g", "h", "neutral", 1.0))
    await store.audit(AuditEntry(me.id, "tg", "h", "h", "neutral", 1.0))
    await store.purge_member("tg", "g", me.id)
    assert await store.shares(me.id) == [("tg", "h")]
    assert await store.last_generation(me.id, "tg", "g") is None
    assert await store.last_generation(me.id, "tg", "h") is not None


async def test_cooldown_reservation_is_atomic(store):
    me = await store.user("tg", "1")
    waits = await asyncio.gather(*[store.reserve_cooldown(me.id, "tg", "g", 60) for _ in range(5)])
    assert sorted(w == 0 for w in waits) == [False] * 4 + [True]
    assert all(55 < w <= 60 for w in waits if w)
    await store.release_cooldown(me.id, "tg", "g")
    assert await store.reserve_cooldown(me.id, "tg", "g", 60) == 0
    assert await store.reserve_cooldown(me.id, "tg", "other", 60) == 0  # per server


async def test_users_are_made_once_and_keep_their_language(store):
    first = await asyncio.gather(*[store.user("tg", "42", "zh") for _ in range(5)])
    assert len({u.id for u in first}) == 1 and first[0].language == "zh"
    assert (await store.user("tg", "42", "en")).language == "en"
    assert (await store.find_user("tg", "42")).language == "en" and await store.find_user("tg", "43") is None


async def test_a_confirmation_step_moves_on_once(store):
    me = await store.user("tg", "1")
    step = PendingAction("tok", me.id, "consent", "open", 100.0, 200.0, "spoken", "1234", "I agree")
    await store.add_pending(step)
    assert (await store.pending("tok")).code == "1234"
    results = await asyncio.gather(*[store.set_pending_status("tok", "agreed", ("open",)) for _ in range(3)])
    assert sorted(results) == [False, False, True]
    await store.add_pending(PendingAction("tok2", me.id, "consent", "open", 150.0, 250.0, "button"))
    assert await store.pending("tok") is None  # an open step of the same kind is replaced
    assert (await store.latest_pending(me.id, "consent")).token == "tok2"
    assert await store.cancel_pending(me.id) == 1 and (await store.pending("tok2")).status == "cancelled"
    await store.drop_stale_pending(300.0)
    assert await store.pending("tok2") is None


async def test_blocks_roles_and_shares(store):
    me = await store.user("dc", "1")
    await store.set_blocked("dc", "g", "@mallory", True, "admin")
    await store.set_blocked("dc", "g", "@mallory", True, "admin")
    assert await store.is_blocked("dc", "g", ("99", "@mallory")) and not await store.is_blocked("dc", "h", ("@mallory",))
    await store.set_blocked("dc", "g", "@mallory", False, "admin")
    assert not await store.is_blocked("dc", "g", ("@mallory",))
    await store.set_trusted("dc", "g", me.id, True)
    await store.set_trusted("dc", "g", me.id, True)
    assert await store.is_trusted("dc", "g", me.id) and not await store.is_trusted("dc", "h", me.id)
    await store.set_shared(me.id, "dc", "g", True)
    assert await store.is_shared(me.id, "dc", "g") and await store.shares(me.id) == [("dc", "g")]


async def test_profiles_keep_every_byte_and_timestamps_keep_their_precision(store):
    me = await store.user("tg", "1")
    profile = bytes(range(256)) * 40
    await store.save_voice(me.id, [StoredProfile("indextts", "2.5-onnx/x/abc", profile)], {"english_voice": "heart"}, _consent(me.id))
    await store.save_voice(me.id, [StoredProfile("indextts", "2.5-onnx/x/abd", profile[::-1])], {}, _consent(me.id))  # /clone again
    stored = await store.voice(me.id)
    assert stored.profile == profile[::-1] and stored.version.endswith("abd") and len(await store.consents(me.id)) == 2
    await store.audit(AuditEntry(me.id, "tg", "g", "h", "neutral", 1.0, created_at=1_790_000_000.123456))
    assert await store.last_generation(me.id, "tg", "g") == pytest.approx(1_790_000_000.123456, abs=1e-6)


async def test_the_servers_record_of_voice_use_outlives_forget_and_purge_and_ends_with_retention(store):
    from bot.storage import VoiceUse

    requester, owner = await store.user("tg", "10"), await store.user("tg", "20")
    old = VoiceUse("tg", "g", "10", "20", mark=NoteMark("k", 5), created_at=1_000.0)
    await store.record_voice_use(old, "an old text", retention_days=30)
    await store.audit(AuditEntry(requester.id, "tg", "g", "h", "neutral", 1.0, voice_owner_id=owner.id, mark=NoteMark("k", 7)))
    await store.record_voice_use(VoiceUse("tg", "g", "10", "20", mark=NoteMark("k", 7)), "say this in her voice", retention_days=30)
    await store.purge_member("tg", "g", requester.id)
    await store.forget(requester.id)
    await store.forget(owner.id)
    kept = await store.voice_uses("tg", "g")
    # the one past 30 days went when the next was written; the fresh one stays, without its text
    assert [(u.requester, u.owner, u.mark) for u in kept] == [("10", "20", NoteMark("k", 7))]
    assert "say this" not in kept[0].text_hmac and len(kept[0].text_hmac) == 64
    assert await store.text_matches("say this in her voice", kept[0].text_hmac)
    assert not await store.text_matches("something else", kept[0].text_hmac)
    assert await store.provenance(NoteMark("other key", 7)) is None  # an id names a note only under its key
    facts = await store.provenance(NoteMark("k", 7))  # /verify still finds who asked, from the kept record
    assert (facts.requester.platform_user_id, facts.voice_owner.platform_user_id, facts.server_id) == ("10", "20", "g")
    assert await store.voice_uses("tg", "other") == []


async def test_text_hashes_are_keyed_per_deployment(tmp_path):
    from bot.storage import VoiceUse

    digests = []
    for name in ("a", "b"):
        db = connect(f"sqlite:///{tmp_path / name}.sqlite3")
        await db.open()
        store = Store(db)
        await store.record_voice_use(VoiceUse("tg", "g", "1", "2"), "the same text", retention_days=30)
        digests.append((await store.voice_uses("tg", "g"))[0].text_hmac)
        await db.close()
    assert digests[0] != digests[1]  # a hash from one deployment says nothing in another


async def test_one_voice_keeps_a_profile_per_engine_and_a_new_recording_replaces_them_all(store):
    me = await store.user("tg", "7")
    await store.save_voice(me.id, [StoredProfile("default", "2.0", b"a"), StoredProfile("indextts", "2.5/x", b"b")],
                           {"f0": 120}, _consent(me.id))
    stored = await store.voice(me.id)
    assert (stored.engine, stored.profile) == ("default", b"a")  # the first engine's, as before
    assert (await store.db.fetchone("SELECT length(profile) FROM voices"))[0] == 0  # kept once, per engine
    assert {e: (p.version, p.profile) for e, p in stored.profiles.items()} == {"default": ("2.0", b"a"),
                                                                              "indextts": ("2.5/x", b"b")}
    assert await store.first_notice(me.id, "stale_voice") and not await store.first_notice(me.id, "stale_voice")
    await store.save_voice(me.id, [StoredProfile("default", "2.1", b"c")], {}, _consent(me.id))
    assert set((await store.voice(me.id)).profiles) == {"default"}  # the old recording's other profile is gone
    assert await store.first_notice(me.id, "stale_voice")  # a new voice: the notice may come again
    with pytest.raises(ValueError):
        await store.save_voice(me.id, [], {}, _consent(me.id))


async def test_an_engine_choice_is_the_users_own_and_goes_with_forget(store):
    me, other = await store.user("tg", "8"), await store.user("tg", "9")
    await store.set_engine_choice(me.id, "indextts")
    assert await store.engine_choice(me.id) == "indextts" and await store.engine_choice(other.id) is None
    await store.set_engine_choice(me.id, None)
    assert await store.engine_choice(me.id) is None
    await store.set_engine_choice(me.id, "indextts")
    await store.forget(me.id)
    assert (await store.db.fetchone("SELECT COUNT(*) FROM engine_choices"))[0] == 0


async def test_note_ids_come_from_a_sequence_per_key_and_are_never_handed_out_twice(store):
    from bot.storage import MarksExhausted

    taken = [await store.next_note_mark("key-a", 4) for _ in range(4)]
    assert [m.id for m in taken] == [0, 1, 2, 3] and {m.key for m in taken} == {"key-a"}
    # /forget deleting every row that pointed at them does not free them: the sequence only goes on
    with pytest.raises(MarksExhausted):
        await store.next_note_mark("key-a", 4)
    with pytest.raises(MarksExhausted):  # nor does asking again
        await store.next_note_mark("key-a", 4)
    assert (await store.next_note_mark("key-b", 4)).id == 0  # a rotated key starts its own
    # at once from many tasks: each id once
    many = await asyncio.gather(*(store.next_note_mark("key-c", 100) for _ in range(20)))
    assert sorted(m.id for m in many) == list(range(20))


async def test_watermark_keys_are_made_once_and_rotation_puts_the_new_one_first(store):
    from indextts_core.watermark import WatermarkKey

    first = await store.watermark_keys()
    assert len(first) == 1 and await store.watermark_keys() == first  # made once, then read
    newer = WatermarkKey.generate()
    await store.add_watermark_key(newer)
    assert await store.watermark_keys() == [newer, first[0]]
    await store.add_watermark_key(WatermarkKey.generate(), only_if_none=True)  # a second "first" start
    assert len(await store.watermark_keys()) == 2


async def test_clone_attempts_are_counted_by_platform_id_and_survive_forget(store):
    user = await store.user("tg", "7")
    assert [await store.take_clone_attempt("tg", "7", 3, 1000.0) for _ in range(4)] == [True, True, True, False]
    await store.forget(user.id)  # starting over as a "new" user does not reset the count
    assert not await store.take_clone_attempt("tg", "7", 3, 1001.0)
    assert await store.take_clone_attempt("tg", "7", 3, 1000.0 + 86401)  # a day later
    assert await store.take_clone_attempt("tg", "8", 3, 1000.0)  # someone else


async def test_a_clone_lockout_closes_clone_until_it_ends_and_stays_on_record(store):
    await store.lock_clone("tg", "9", "synthetic", until=5000.0, now=1000.0)
    assert not await store.take_clone_attempt("tg", "9", 5, 4999.0)
    assert await store.take_clone_attempt("tg", "9", 5, 5001.0)
    assert await store.clone_lockouts("tg", "9") == [("synthetic", 1000.0, 5000.0)]
