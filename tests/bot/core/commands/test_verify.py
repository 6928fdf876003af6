"""Provenance through the command layer: laundering refused, consent text refused, /verify."""

import io

import numpy as np
import soundfile as sf

from bot.app import BotApp
from bot.core.errors import CloneRefused
from bot.storage import Policy
from indextts_core import watermark
from indextts_core.audio import encode_ogg_opus, read_audio
from tests.bot.conftest import RecordingResponder, audio_in, clone, invocation
from tests.bot.core.commands.helpers import press, run, say

REFUSED = CloneRefused().message("en")
LONG = "The last train leaves at ten, so we should hurry up and finish our dinner before it gets late tonight."


async def start_clone(app, user: str) -> tuple[RecordingResponder, str]:
    """/clone up to the recording: returns the responder and the sentence to read."""
    out = await run(app, "clone", user=user, private=True)
    await press(app, out, user=user, private=True)
    return out, out.last.text.split("\n\n", 1)[1]


async def test_say_refuses_a_consent_sentence_in_either_language(app):
    out, sentence = await start_clone(app, "mallory")
    for text in (sentence, "我同意这个机器人用我的声音制作合成副本。验证码：一、二、三、四。",
                 "please: I agree that my voice can be used by this bot to make a synthetic copy"):
        reply = await say(app, text, user="mallory")
        assert reply.last.kind == "text" and "consent sentences" in reply.last.text
    assert (await app.db.fetchone("SELECT COUNT(*) FROM audit_log"))[0] == 0


async def test_say_never_speaks_a_live_code_or_a_sentence_in_pieces(app):
    """The chain of the report, in the form that beat the old filter: the sentence disguised, or
    asked for in several requests, and the live code read by anyone, in any form."""
    _, sentence = await start_clone(app, "mallory")
    code = "".join(str("zero one two three four five six seven eight nine".split().index(w))
                   for w in sentence.rstrip(".").split("Code: ")[1].split(", "))
    words = " ".join("zero one two three four five six seven eight nine".split()[int(d)] for d in code)
    refused = "consent sentences or consent codes"
    for user, text in (("mallory", "I a.g.r.e.e th-at my v o i c e can be used by this bot to make a synthetic copy"),
                       ("accomplice", words), ("accomplice", "-".join(code)), ("accomplice", words.replace("four", "for"))):
        assert refused in (await say(app, text, user=user)).last.text, text
    assert refused not in (await say(app, "I agree that my", user="mallory")).last.text
    assert refused in (await say(app, "voice can be used", user="mallory")).last.text
    # Only the spoken notes were written: the ordinary first piece, nothing refused.
    assert (await app.db.fetchone("SELECT COUNT(*) FROM audit_log"))[0] == 1


async def test_the_bots_own_note_is_refused_as_a_clone_recording(app):
    """The default-voice chain: the bot's own (watermarked) note sent back as the recording."""
    out, _ = await start_clone(app, "carol")
    note = (await say(app, LONG, user="carol", private=True)).last.ogg
    await app.commands.handle(invocation("audio", user="carol", private=True, audio=audio_in(note)), out)
    assert out.last.text == REFUSED
    assert await app.store.voice((await app.store.find_user("test", "carol")).id) is None


async def test_a_joined_recording_of_a_shared_voice_is_refused(app, engine):
    """The laundering chain: B's shared voice, re-encoded and joined, offered as A's recording.

    (The chain of the report, B's voice reading A's consent sentence, already stops at /say.)"""
    await clone(app, engine, user="bob")
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    await run(app, "share", user="bob")
    mentions = {"@bob": "bob"}
    notes = [(await say(app, f"as @bob {t}", user="alice", mentions=mentions)).last.ogg
             for t in (LONG, "Please put the blue folder back on the shelf when you are done with it, and close "
                             "the window on your way out.")]
    assert all(notes)
    parts = [read_audio(n) for n in notes]
    joined = encode_ogg_opus(np.concatenate([p.samples for p in parts]), parts[0].sample_rate, max_true_peak_dbtp=None)
    out, _ = await start_clone(app, "alice")
    await app.commands.handle(invocation("audio", user="alice", private=True, audio=audio_in(joined)), out)
    assert out.last.text == REFUSED  # the one refusal: no reason, and never whose voice it matched
    assert await app.store.voice((await app.store.find_user("test", "alice")).id) is None


async def test_verify_tells_everyone_it_is_synthetic_and_only_the_people_concerned_the_details(app, engine):
    await clone(app, engine, user="bob")
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    await run(app, "share", user="bob")
    note = (await say(app, f"as @bob {LONG}", user="alice", mentions={"@bob": "bob"})).last
    assert "requested by alice" in note.text  # attribution in the caption
    stranger = await run(app, "verify", user="eve", reply_audio=audio_in(note.ogg, voice_note=False))
    assert "Made by this bot" in stranger.last.text and "bob" not in stranger.last.text
    # The note's id needs about three periods of the mark to be read reliably: the same mark in a
    # 12 s re-upload of that voice (a WAV file) stands for a long note.
    long_note = await _long_copy(app, engine)
    assert "Made by this bot" in (await run(app, "verify", user="eve", reply_audio=audio_in(long_note))).last.text
    owner = await run(app, "verify", user="bob", private=True, reply_audio=audio_in(long_note))
    assert "in the voice of you" in owner.last.text and "user alice" in owner.last.text
    admin = await run(app, "verify", user="dave", admin=True, reply_audio=audio_in(long_note))
    assert "user bob" in admin.last.text
    elsewhere = await run(app, "verify", user="dave", admin=True, server="g2", reply_audio=audio_in(long_note))
    assert "user bob" not in elsewhere.last.text
    human = encode_ogg_opus(*_espeak(LONG))
    assert "no watermark" in (await run(app, "verify", user="eve", reply_audio=audio_in(human))).last.text
    assert "Reply /verify" in (await run(app, "verify", user="eve")).last.text


async def _long_copy(app, engine, key=None, mark=None) -> bytes:
    """The mark of alice's note in bob's voice (or ``mark``, under ``key``) in a 12 s WAV re-upload
    of that voice: the note's id needs about three periods of the mark to be read reliably."""
    key_fp, note = (await app.db.fetchone("SELECT mark_key, mark FROM audit_log WHERE user_id<>voice_owner_id"))
    key = key or next(k for k in app.commands.services.watermark_keys if k.fingerprint == key_fp)
    speech = engine.synthesize(LONG + " " + LONG)
    upload = io.BytesIO()
    sf.write(upload, watermark.embed(speech.samples, speech.sample_rate, note if mark is None else mark, key),
             speech.sample_rate, format="WAV")
    return upload.getvalue()


async def test_a_forged_mark_names_no_one(app, engine, monkeypatch):
    """Framing: stamp a real note's id into other audio, to make /verify blame its requester.

    Without the deployment's key (the code's public, the key is not) the stamp is not our mark at
    all; even with the key's pattern learnt but not the key, an id without its MAC is read as
    nothing.  Neither names alice or bob to an admin.

    Deterministic: the deployment's key is fixed here, and the forged MAC is wrong in all its bits.
    (A MAC wrong in one bit, ``mac + 1`` for an even MAC, is within the decoder's two-bit Chase
    search whenever that bit is among the weakest read, which a random key made a matter of chance;
    a forger without the key cannot aim that close.)"""
    key = watermark.WatermarkKey(bytes(range(32)))
    app.commands.services.watermark_keys = app.runtime.watermark_keys = (key,)
    await clone(app, engine, user="bob")
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    await run(app, "share", user="bob")
    await say(app, f"as @bob {LONG}", user="alice", mentions={"@bob": "bob"})
    foreign = await _long_copy(app, engine, key=watermark.WatermarkKey(b"a key read from the source code!"))
    told = (await run(app, "verify", user="dave", admin=True, reply_audio=audio_in(foreign))).last.text
    assert "no watermark" in told and "bob" not in told and "alice" not in told
    mac = watermark.WatermarkKey.mac
    with monkeypatch.context() as patched:  # the pattern right, the MAC of the id not
        patched.setattr(watermark.WatermarkKey, "mac", lambda self, p: mac(self, p) ^ ((1 << watermark.MAC_BITS) - 1))
        unsigned = await _long_copy(app, engine)
    told = (await run(app, "verify", user="dave", admin=True, reply_audio=audio_in(unsigned))).last.text
    assert "can't say who made it" in told and "bob" not in told and "alice" not in told


async def test_notes_made_before_a_key_rotation_still_verify(tmp_path, engine, app):
    await clone(app, engine, user="bob")
    await app.store.set_policy(Policy("test", "g1", shared_voices_allowed=True))
    await run(app, "share", user="bob")
    await say(app, f"as @bob {LONG}", user="alice", mentions={"@bob": "bob"})
    long_note = await _long_copy(app, engine)
    (old,) = app.commands.services.watermark_keys
    await app.store.add_watermark_key(watermark.WatermarkKey.generate())  # the operator rotates, restarts
    again = BotApp(app.config, engine=engine)
    await again.start()
    try:
        new, older = again.commands.services.watermark_keys
        assert older == old and new != old
        owner = await run(again, "verify", user="bob", private=True, reply_audio=audio_in(long_note))
        assert "in the voice of you" in owner.last.text and "user alice" in owner.last.text
        await say(again, LONG, user="alice")  # new notes: the new key, ids from its own sequence
        key, mark = await again.db.fetchone("SELECT mark_key, mark FROM audit_log ORDER BY id DESC LIMIT 1")
        assert (key, mark) == (new.fingerprint, 0)
    finally:
        await again.stop()


def _espeak(text: str):
    from indextts_core.backends.espeak import EspeakVoice

    voice = EspeakVoice("en-us+f3", pitch=60)
    return voice.synthesize(text), voice.sample_rate


async def test_verify_is_a_queued_job_and_closed_to_members_blocked_here(app, engine, monkeypatch):
    """/verify costs a worker's time: it goes through the fair queue (bounded per person), and a
    member blocked in a server cannot spend it there (elsewhere they still can)."""
    checked = []
    real = app.runtime.verify
    monkeypatch.setattr(app.runtime, "verify", lambda task: (checked.append(task), real(task))[1])
    human = encode_ogg_opus(*_espeak(LONG))
    assert "no watermark" in (await run(app, "verify", user="eve", reply_audio=audio_in(human))).last.text
    assert len(checked) == 1
    await run(app, "block", "@eve", user="boss", admin=True, mentions={"@eve": "eve"})
    assert "blocked you" in (await run(app, "verify", user="eve", reply_audio=audio_in(human))).last.text
    assert "no watermark" in (await run(app, "verify", user="eve", server="g2", reply_audio=audio_in(human))).last.text
    assert len(checked) == 2
