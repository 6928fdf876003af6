"""The command layer end to end on a real database, the real engine and real Whisper."""

import numpy as np
import pytest

from bot.storage import Policy
from indextts_core.audio import ogg_opus_info
from tests.bot.conftest import RecordingResponder, audio_in, clone, invocation, spoken


async def _say(app, args, **kw):
    out = RecordingResponder()
    await app.commands.handle(invocation("say", args, **kw), out)
    return out


async def test_spoken_consent_clone_stores_profile_and_consent_and_no_audio(app, engine):
    out = await clone(app, engine)
    assert out.replies[-1].kind == "voice", [r.text for r in out.replies]
    assert "ready" in out.replies[-2].text
    user = await app.store.find_user("test", "u1")
    stored = await app.store.voice(user.id)
    assert stored.engine == "default" and stored.meta["f0_median_hz"] > 140
    (consent,) = await app.store.consents(user.id)
    assert consent.method == "spoken" and consent.score >= 0.75 and len(consent.audio_sha256) == 64
    assert "Code" in consent.text_shown and consent.transcript
    assert list((app.config.bot.data_dir / "uploads").glob("*")) == []  # raw upload deleted


async def test_wrong_code_is_refused_and_nothing_stored(app, engine):
    out = RecordingResponder()
    await app.commands.handle(invocation("clone", private=True), out)
    await app.commands.handle(invocation("button", "consent:yes", private=True), out)
    wrong = "I agree that my voice can be used by this bot to make a synthetic copy. Code one one one one."
    if out.last.text.endswith("one one one one."):
        wrong = wrong.replace("one one one one", "two two two two")
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(spoken(engine, wrong))), out)
    assert "code" in out.last.text.lower()
    user = await app.store.find_user("test", "u1")
    assert await app.store.voice(user.id) is None and await app.store.consents(user.id) == []


@pytest.mark.parametrize("kw,message", [
    (dict(forwarded=True), "forwarded"),
    (dict(voice_note=False), "microphone button"),
    (dict(duration=600.0), "600 s long"),
    (dict(duration=0.3), "only 0.3 s"),
])
async def test_clone_recording_prechecks(app, kw, message):
    out = RecordingResponder()
    await app.commands.handle(invocation("clone", private=True), out)
    await app.commands.handle(invocation("button", "consent:yes", private=True), out)
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"x" * 100, **kw)), out)
    assert message in out.last.text


async def test_corrupt_and_silent_recordings_get_the_core_reason(app):
    from tests.conftest import wav_bytes

    out = RecordingResponder()
    await app.commands.handle(invocation("clone", private=True), out)
    await app.commands.handle(invocation("button", "consent:yes", private=True), out)
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(b"OggS" + b"\0" * 300)), out)
    assert "could not be read" in out.last.text
    await app.commands.handle(invocation("audio", private=True, audio=audio_in(wav_bytes(np.zeros(48000 * 5, np.float32), 48000))), out)
    assert "could not hear any speech" in out.last.text


async def test_say_with_emotion_and_duration_gives_a_valid_voice_note_and_audit_row(app):
    out = await _say(app, "angry 0.7 x1.1 I can not believe this happened again")
    reply = out.last
    assert reply.kind == "voice" and "/clone" in reply.text  # default voice hint
    info = ogg_opus_info(reply.ogg)
    assert info.channels == 1 and info.input_rate == 48000 and abs(info.duration - reply.duration) < 1e-6
    assert len(reply.waveform) <= 256 and reply.cache_key
    user = await app.store.find_user("test", "u1")
    assert await app.store.last_generation(user.id, "test", "g1") is not None


async def test_say_reply_to_text_voices_that_message(app):
    out = await _say(app, "", reply_text="This is the message being replied to.")
    assert out.last.kind == "voice"


@pytest.mark.parametrize("args,message", [
    ("", "What should I say"),
    ("😀😀😀 🎉", "nothing left to say"),
    ("<@1> <@2> <@3> @everyone @here", "nothing left to say"),
    ("a" * 10_000, "far too long"),
    ("a " * 400, "the limit here is 500"),
    ("x3 hello", "between 0.75 and 1.25"),
    ('"the brown table" hello', "could not find an emotion"),
    ("10s hi", "can be set between"),
])
async def test_bad_say_input_gets_a_clear_reply_and_no_audit(app, args, message):
    out = await _say(app, args)
    assert out.last.kind == "text" and message in out.last.text
    user = await app.store.find_user("test", "u1")
    assert await app.store.last_generation(user.id, "test", "g1") is None


async def test_control_characters_are_removed_not_spoken(app):
    import hashlib

    out = await _say(app, "hello\x00\x07 there\x1b")
    assert out.last.kind == "voice"
    user = await app.store.find_user("test", "u1")
    async with app.db.conn.execute("SELECT text_sha256 FROM audit_log WHERE user_id=?", (user.id,)) as cur:
        (spoken_hash,) = await cur.fetchone()
    assert spoken_hash == hashlib.sha256(b"hello there").hexdigest()  # what was spoken: cleaned text


async def test_forget_leaves_no_rows(app, engine):
    await clone(app, engine)
    await _say(app, "hello there")
    user = await app.store.find_user("test", "u1")
    assert await app.store.count_rows(user.id) >= 3
    out = RecordingResponder()
    await app.commands.handle(invocation("forget"), out)
    assert out.last.buttons[0].data == "forget:yes"
    assert await app.store.count_rows(user.id) > 0  # nothing deleted before confirming
    await app.commands.handle(invocation("button", "forget:yes"), out)
    assert await app.store.count_rows(user.id) == 0 and "deleted" in out.last.text


async def test_group_policy_enforced_and_admin_managed(app):
    out = RecordingResponder()
    await app.commands.handle(invocation("policy", "set say admins"), out)
    assert "Only admins" in out.last.text
    await app.commands.handle(invocation("policy", "set say admins", user="boss", admin=True), out)
    assert "say: admins" in out.last.text
    assert "Only admins can make the bot speak" in (await _say(app, "hello")).last.text.replace("Here only admins", "Only admins")
    assert (await _say(app, "hello", user="boss", admin=True)).last.kind == "voice"
    await app.commands.handle(invocation("policy", "set cooldown 99999", user="boss", admin=True), out)
    assert "between 0 and 3600" in out.last.text


async def test_block_and_cooldown(app):
    out = RecordingResponder()
    await app.store.set_policy(Policy("test", "g1", cooldown_s=60))
    await app.commands.handle(invocation("block", "@u2", user="boss", admin=True, mentions={"@u2": "u2"}), out)
    assert "blocked" in out.last.text
    assert "blocked you" in (await _say(app, "hello", user="u2")).last.text
    assert (await _say(app, "hello", user="u3")).last.kind == "voice"
    assert "Slow down" in (await _say(app, "hello again", user="u3")).last.text
    await app.commands.handle(invocation("unblock", "@u2", user="boss", admin=True, mentions={"@u2": "u2"}), out)
    assert (await _say(app, "hello", user="u2")).last.kind == "voice"


async def test_shared_voice_only_where_shared_and_allowed(app, engine):
    await clone(app, engine, user="alice")
    mentions = {"@alice": "alice"}
    assert "turned off" in (await _say(app, "as @alice hello", user="bob", mentions=mentions)).last.text
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    assert "not shared" in (await _say(app, "as @alice hello", user="bob", mentions=mentions)).last.text
    out = RecordingResponder()
    await app.commands.handle(invocation("share", user="alice"), out)
    assert "now shared" in out.last.text
    ok = await _say(app, "as @alice hello", user="bob", mentions=mentions)
    assert ok.last.kind == "voice"
    assert (await _say(app, "as @alice hello", user="bob", server="other", mentions=mentions)).last.kind == "text"
    await app.commands.handle(invocation("share", "off", user="alice"), out)
    assert "not shared" in (await _say(app, "as @alice hello", user="bob", mentions=mentions)).last.text


async def test_help_in_chinese(app):
    out = RecordingResponder()
    await app.commands.handle(invocation("help", language="zh"), out)
    assert "朗读文本" in out.last.text


async def test_unknown_command(app):
    out = RecordingResponder()
    await app.commands.handle(invocation("frobnicate"), out)
    assert "Unknown command" in out.last.text


async def test_say_replying_to_a_voice_note_copies_its_emotion(app, engine):
    from indextts_core.engine import EmotionSpec

    sad = engine.synthesize("I really miss the old days, you know.", emotion=EmotionSpec(preset="melancholic"))
    from indextts_core.audio import encode_ogg_opus

    clip = encode_ogg_opus(sad.samples, sad.sample_rate)
    out = await _say(app, "We are going to the beach tomorrow.", reply_audio=audio_in(clip, duration=3.0))
    assert out.last.kind == "voice" and out.last.cache_key is None  # emotion from a clip: never resent from cache
    plain = await _say(app, "We are going to the beach tomorrow.")
    assert out.last.duration > plain.last.duration  # melancholic prosody is slower
    too_long = await _say(app, "hello", reply_audio=audio_in(clip, duration=600.0))
    assert "too long to copy its emotion" in too_long.last.text


async def test_admins_cannot_be_blocked(app):
    out = RecordingResponder()
    await app.commands.handle(invocation("block", "@mod", user="boss", admin=True, mentions={"@mod": "mod"},
                                         ), out)
    assert "blocked from" in out.last.text
    inv = invocation("block", "@mod2", user="boss", admin=True, mentions={"@mod2": "mod2"})
    inv.admin_mentions = frozenset({"@mod2"})
    await app.commands.handle(inv, out)
    assert "can't be blocked" in out.last.text
    mod2 = await app.store.find_user("test", "mod2")
    assert not await app.store.is_blocked("test", "g1", mod2.id)
