"""/voice, /share, /forget and /cancel: a user's own data, and confirmations bound to them."""

from pathlib import Path

from bot.storage import Policy
from tests.bot.conftest import RecordingResponder, clone, invocation
from tests.bot.core.commands.helpers import press, run, say


async def test_forget_leaves_no_rows_and_nothing_readable_on_disk(app, engine):
    out = await clone(app, engine)
    await say(app, "hello there")
    user = await app.store.find_user("test", "u1")
    (consent,) = await app.store.consents(user.id)
    profile = (await app.store.voice(user.id)).profile
    assert await app.store.count_rows(user.id) >= 3
    out = await run(app, "forget")
    assert out.last.buttons[0].data.startswith("forget:yes:")
    assert await app.store.count_rows(user.id) > 0  # nothing deleted before confirming
    await press(app, out)
    assert await app.store.count_rows(user.id) == 0 and "deleted" in out.last.text
    db = Path(app.db.path)
    on_disk = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    assert consent.text_shown.encode() not in on_disk  # the sentence with its code
    assert consent.transcript.encode() not in on_disk
    assert profile[:48] not in on_disk


async def test_someone_else_pressing_forget_deletes_nothing(app, engine):
    await say(app, "hello there", user="victim")
    await say(app, "hello there", user="presser")
    out = await run(app, "forget", user="victim")
    await press(app, out, user="presser")
    assert "not for you" in out.last.text
    for name in ("victim", "presser"):
        row = await app.store.find_user("test", name)
        assert row is not None and await app.store.last_generation(row.id, "test", "g1") is not None
    await press(app, out, user="victim", reply_index=-2)
    assert "deleted" in out.last.text and await app.store.find_user("test", "victim") is None


async def test_a_forged_or_old_style_button_does_nothing(app):
    await say(app, "hello there")
    out = RecordingResponder()
    for data in ("forget:yes", "forget:yes:nosuchtoken", "consent:yes:abc", "cancel"):
        await app.commands.handle(invocation("button", data), out)
        assert "no longer active" in out.last.text
    row = await app.store.find_user("test", "u1")
    assert await app.store.last_generation(row.id, "test", "g1") is not None


async def test_forget_pressed_twice_answers_once(app):
    out = await run(app, "forget")
    await press(app, out, reply_index=-1)
    await press(app, out, reply_index=-2)  # the request went with everything else
    assert "deleted" in out.replies[-2].text and "no longer active" in out.last.text


async def test_forget_does_not_lift_a_block(app):
    await run(app, "block", "@u2", user="boss", admin=True, mentions={"@u2": "u2"})
    out = await run(app, "forget", user="u2")
    assert "moderation records" in out.last.text  # the privacy text says blocks stay
    await press(app, out, user="u2")
    assert "deleted" in out.last.text
    assert "blocked you" in (await say(app, "hello", user="u2")).last.text


async def test_cancel_says_whether_there_was_anything(app):
    assert "nothing to cancel" in (await run(app, "cancel")).last.text
    await run(app, "clone", private=True)
    assert "Cancelled" in (await run(app, "cancel")).last.text


async def test_voice_describes_the_profile(app, engine):
    assert "no voice yet" in (await run(app, "voice")).last.text
    await clone(app, engine)
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    await run(app, "share")
    assert "Shared in 1 place" in (await run(app, "voice")).last.text
