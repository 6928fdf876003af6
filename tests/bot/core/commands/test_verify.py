"""Provenance through the command layer: laundering refused, consent text refused, /verify."""

import io

import numpy as np
import soundfile as sf

from bot.storage import Policy
from indextts_core import watermark
from indextts_core.audio import encode_ogg_opus, read_audio
from tests.bot.conftest import RecordingResponder, audio_in, clone, invocation
from tests.bot.core.commands.helpers import press, run, say

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


async def test_the_bots_own_note_is_refused_as_a_clone_recording(app):
    """The default-voice chain: the bot's own (watermarked) note sent back as the recording."""
    out, _ = await start_clone(app, "carol")
    note = (await say(app, LONG, user="carol", private=True)).last.ogg
    await app.commands.handle(invocation("audio", user="carol", private=True, audio=audio_in(note)), out)
    assert "carries my watermark" in out.last.text or "sounds like a voice I can already make" in out.last.text
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
    assert "carries my watermark" in out.last.text or "sounds like a voice I can already make" in out.last.text
    assert "bob" not in out.last.text
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
    (mark,) = [r[0] for r in await app.db.fetchall("SELECT mark FROM audit_log WHERE user_id<>voice_owner_id")]
    speech = engine.synthesize(LONG + " " + LONG)
    upload = io.BytesIO()
    sf.write(upload, watermark.embed(speech.samples, speech.sample_rate, mark), speech.sample_rate, format="WAV")
    long_note = upload.getvalue()
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


def _espeak(text: str):
    from indextts_core.backends.espeak import EspeakVoice

    voice = EspeakVoice("en-us+f3", pitch=60)
    return voice.synthesize(text), voice.sample_rate
