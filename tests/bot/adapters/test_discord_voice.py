"""Discord voice channels end to end: the real discord.py client connects through a fake gateway to a
fake voice server (TLS websocket + UDP on 127.0.0.1); RTP is decrypted and the Opus decoded back."""

from __future__ import annotations

import asyncio
import io
import time

import aiohttp
import numpy as np
import pytest
import soundfile as sf
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.adapters import discord_voice
from bot.adapters.discord import VoiceBotClient
from bot.adapters.discord_voice import OggOpusSource
from indextts_core.audio import encode_ogg_opus
from tests.bot.adapters.test_discord import ADMIN_PERMS, dispatch, interaction, opt
from tests.bot.conftest import clone
from tests.bot.core.commands.helpers import spoken_hashes
from tests.fakes.discord_api import APP_ID, FakeDiscord
from tests.fakes.discord_voice import (OTHER_VOICE_CHANNEL, TEXT_CHANNEL, VOICE_CHANNEL, FakeGateway, FakeVoiceServer,
                                       self_signed_cert)

SILENCE = b"\xf8\xff\xfe"  # what discord.py sends after a source ends


@pytest.fixture
async def voice(app, tmp_path, monkeypatch):
    """Members 1 and 2 sit in the voice channel, 3 is in none; the bot leaves after 2 idle seconds.
    Both voice channels are called "Lounge": only their ids tell them apart."""
    cert, key = self_signed_cert(tmp_path)
    api = await FakeDiscord().start()
    server = await FakeVoiceServer(cert, key).start()
    gateway = await FakeGateway(server, {"1": VOICE_CHANNEL, "2": VOICE_CHANNEL, "3": None},
                                voice_names=("Lounge", "Lounge")).start()
    monkeypatch.setattr(Route, "BASE", api.base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(gateway.url))
    queued: list[bytes] = []
    original = discord_voice.MemberVoice.play

    async def spy(self, ogg, language):  # what the engine made, as it was queued
        queued.append(ogg)
        return await original(self, ogg, language)

    monkeypatch.setattr(discord_voice.MemberVoice, "play", spy)
    client = VoiceBotClient(app.commands, application_id=APP_ID, voice_idle_seconds=2, read_aloud=True,
                            connector=aiohttp.TCPConnector(ssl=server.client_ssl()))
    await client.login("fake-token")
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.wait_until_ready(), 30)
    api.client = client
    yield api, gateway, server, client, queued
    await client.close()
    await asyncio.gather(task, return_exceptions=True)
    await gateway.stop()
    await server.stop()
    await api.stop()


async def _say(api, text: str, user: int = 1, in_voice: bool = True, **kw):
    options = [opt("text", text)] + ([opt("voice", True, 5)] if in_voice else [])
    p = dispatch(api, interaction("say", options, user=user, **kw))
    return p, (await api.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0]


async def _command(api, name: str, user: int = 1, options=(), **kw) -> str:
    p = dispatch(api, interaction(name, options, user=user, **kw))
    return (await api.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}"))[0].json["content"]


async def _until(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def _find(seq: list[bytes], sub: list[bytes]) -> int:
    """Index where ``sub`` occurs in ``seq`` as a run, or -1."""
    return next((i for i in range(len(seq) - len(sub) + 1) if seq[i:i + len(sub)] == sub), -1)


def _decode(packets: list[bytes]) -> np.ndarray:
    """Opus frames back to PCM with libopus itself (PyAV's, as a Discord client would)."""
    import av

    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout = 48000, "mono"
    frames = [f.to_ndarray().reshape(-1) for p in packets for f in decoder.decode(av.Packet(p))]
    return np.concatenate(frames).astype(np.float32) / 32768


async def test_say_in_voice_speaks_the_engines_audio_over_encrypted_rtp_at_20_ms(voice, app):
    api, gateway, server, client, queued = voice
    _, reply = await _say(api, "Hello everyone in the lounge, this is my own voice speaking.")
    # said in the text channel, for everyone: who made the bot speak (never anonymous)
    assert "Speaking in Lounge for User 1" in reply.json["content"] and not reply.json.get("flags", 0) & (1 << 6)
    assert gateway.voice_updates[0]["channel_id"] == VOICE_CHANNEL and gateway.voice_updates[0]["self_deaf"]
    session = server.sessions[0]
    assert session.identify["server_id"] == "7000" and session.identify["token"] == "voice-token"
    # it offers DAVE end-to-end encryption (Discord closes voice without it, code 4017); this fake
    # server answers with version 0, the transport-encryption-only path
    assert session.identify["max_dave_protocol_version"] >= 1
    expected = OggOpusSource(queued[0]).packets
    packets = await server.wait_packets(len(expected) + 5)
    assert server.bad_packets == 0  # every packet decrypted with the session's key
    audio = packets[:len(expected)]
    assert [p.opus for p in audio] == expected  # the engine's own Opus frames, untouched, in order
    assert [p.opus for p in packets[len(audio):]] == [SILENCE] * 5  # then discord.py's end-of-speech frames
    assert all(b.sequence == (a.sequence + 1) % 65536 and b.timestamp - a.timestamp == 960
               for a, b in zip(packets, packets[1:]))
    gaps = np.diff([p.at for p in audio])
    assert 0.018 < float(np.median(gaps)) < 0.022 and float(np.sum(gaps)) == pytest.approx(0.02 * len(gaps), rel=0.05)
    # the speaking flag goes up as the audio starts (discord.py sends it from its player thread, so it
    # may reach the server a moment after the first packet) and down after the last
    flags = server.speaking()
    assert any(flag == 1 and abs(at - audio[0].at) < 0.2 for at, flag in flags)
    await _until(lambda: server.speaking()[-1][1] == 0)
    # decoded back, it is the voice note the engine made: same length within a frame, same waveform
    made, rate = sf.read(io.BytesIO(queued[0]), dtype="float32")
    pre_skip = int.from_bytes(queued[0][queued[0].index(b"OpusHead") + 10:][:2], "little")
    heard = _decode([p.opus for p in audio])[pre_skip:]  # a player starts after the encoder's look-ahead
    assert rate == 48000 and abs(len(heard) - len(made)) <= 960
    n = min(len(made), len(heard))
    assert float(np.corrcoef(made[:n], heard[:n])[0, 1]) > 0.95
    assert len(await spoken_hashes(app, "1", platform="discord")) == 1  # audited like any /say


async def test_requests_queue_in_order_and_only_the_requester_or_a_moderator_skips(voice):
    api, gateway, server, client, queued = voice
    await _say(api, "This is a long announcement that keeps going for a while, so that there is time to skip it.", user=1)
    _, second = await _say(api, "Second in line.", user=2)
    assert "number 2 in line" in second.json["content"]
    await server.wait_packets(20)
    assert "Only the member who asked" in await _command(api, "skip", user=2)
    assert await _command(api, "skip", user=1) == "Skipped."
    first, then = OggOpusSource(queued[0]).packets, OggOpusSource(queued[1]).packets
    await _until(lambda: _find([p.opus for p in server.packets], then) >= 0)
    played = [p.opus for p in server.packets]
    start = _find(played, then)
    cut = next(i for i, (a, b) in enumerate(zip(played, first)) if a != b)
    assert 20 <= cut < len(first) and cut <= start  # the first was cut short, then the second played whole


async def test_stop_by_a_moderator_clears_the_queue(voice):
    api, gateway, server, client, queued = voice
    await _say(api, "One more long message that will be stopped by a moderator long before it ends.", user=1)
    await _say(api, "Waiting one.", user=2)
    await server.wait_packets(10)
    assert await _command(api, "stop", user=2, perms=str(1 << 5)) == "Stopped; 1 waiting message(s) dropped."
    await asyncio.sleep(1.0)
    played = [p.opus for p in server.packets]
    first, waiting = OggOpusSource(queued[0]).packets, OggOpusSource(queued[1]).packets
    assert played[:10] == first[:10] and len(played) < len(first)  # cut short
    assert _find(played, waiting[-10:]) < 0  # and the waiting one never played


async def test_join_leave_and_the_caller_must_be_in_voice(voice):
    api, gateway, server, client, queued = voice
    assert "Join a voice channel first" in await _command(api, "join", user=3)
    _, reply = await _say(api, "Not in voice.", user=3)
    assert "Join a voice channel first" in reply.json["content"]
    assert "I'm in Lounge" in await _command(api, "join", user=1)
    await _until(lambda: bool(server.sessions))
    assert await _command(api, "leave", user=1) == "I left the voice channel."
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] is None)
    assert await _command(api, "leave", user=1) == "I'm not in a voice channel."
    assert "Discord server" in await _command(api, "join", user=1, guild=False)


async def test_the_bot_leaves_after_idle_seconds_and_when_left_alone(voice):
    api, gateway, server, client, queued = voice
    await _command(api, "join", user=1)
    await _until(lambda: bool(server.sessions))
    joined = time.monotonic()
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] is None, timeout=15)
    assert time.monotonic() - joined >= 1.5  # idle 2 s, then gone
    await _command(api, "join", user=1)
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] == VOICE_CHANNEL)
    await gateway.move_member("1", None)
    await asyncio.sleep(0.3)
    assert gateway.voice_updates[-1]["channel_id"] == VOICE_CHANNEL  # member 2 still listens
    await gateway.move_member("2", None)
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] is None, timeout=5)


async def test_a_dropped_voice_connection_resumes_and_the_channel_is_told(voice):
    api, gateway, server, client, queued = voice
    server.resume_delay = 1.0  # the voice server takes a second to come back
    await _say(api, "A long message that is still playing when the voice server falls over and then comes back.")
    await server.wait_packets(30)
    await server.drop(4015)
    notice = (await api.wait_for("POST", f"/channels/{TEXT_CHANNEL}/messages", timeout=30))[0]
    assert "reconnected" in notice.json["content"]
    before = len(server.packets)
    await server.wait_packets(before + 20)  # audio flows again on the resumed session
    assert server.bad_packets == 0


def test_only_20_ms_opus_frames_are_accepted():
    pcm = (0.2 * np.sin(np.arange(48000) / 10)).astype(np.float32)
    assert len(OggOpusSource(encode_ogg_opus(pcm, 48000)).packets) == pytest.approx(50, abs=3)
    buf = io.BytesIO()
    sf.write(buf, pcm, 48000, format="OGG", subtype="VORBIS")
    with pytest.raises(ValueError):
        OggOpusSource(buf.getvalue())


_message_ids = iter(range(800_000, 900_000))


async def _post(gateway, user: int, text: str, channel: str = TEXT_CHANNEL) -> None:
    """A member writes in a text channel (MESSAGE_CREATE through the gateway)."""
    author = {"id": str(user), "username": f"user{user}", "discriminator": "0", "global_name": None, "avatar": None}
    await gateway.dispatch("MESSAGE_CREATE", {
        "id": str(next(_message_ids)), "channel_id": channel, "guild_id": "7000", "author": author,
        "member": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0},
        "content": text, "timestamp": "2026-11-22T00:00:00+00:00", "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": False, "type": 0, "flags": 0, "components": []})


async def _audit(app) -> list[tuple[str, object]]:
    """(author's platform id, voice owner's row id or None) of every speech, in order."""
    async with app.db.conn.execute("SELECT u.platform_user_id, a.voice_owner_id FROM audit_log a "
                                   "JOIN users u ON u.id = a.user_id ORDER BY a.id") as cur:
        return [(r[0], r[1]) for r in await cur.fetchall()]


async def test_read_aloud_speaks_members_in_voice_in_their_own_voice_only(voice, app, engine):
    api, gateway, server, client, queued = voice
    await clone(app, engine, user="1", platform="discord")
    owner = (await app.store.find_user("discord", "1")).id
    before = len(await _audit(app))  # the clone's preview note is audited too
    set_here = [{"name": "set", "type": 1, "options": [opt("setting", "read_aloud"), opt("value", "here")]}]
    assert "read aloud in voice: <#7001>" in await _command(api, "voiceadmin", user=9, perms=ADMIN_PERMS, options=set_here)
    await _post(gateway, 1, "Nobody hears this: the bot is not in voice yet.")
    await _command(api, "join", user=1)
    await _post(gateway, 1, "Hello everyone, this is me, read aloud in my own voice.")
    await _until(lambda: len(queued) == 1)
    await _post(gateway, 2, "And I have no voice of my own yet.")
    await _until(lambda: len(queued) == 2)
    await _post(gateway, 3, "I am not in the voice channel.")
    await _post(gateway, 1, "This goes to another channel.", channel="7005")
    await asyncio.sleep(1.0)
    assert (await _audit(app))[before:] == [("1", owner), ("2", None)]  # their own profile; the default voice otherwise
    assert await app.store.find_user("discord", "3") is None  # chatter outside read-aloud leaves no trace
    await server.wait_packets(len(OggOpusSource(queued[0]).packets) + len(OggOpusSource(queued[1]).packets))

    block = [{"name": "block", "type": 1, "options": [opt("member", "2", 6)]}]
    resolved = {"users": {"2": {"id": "2", "username": "user2", "discriminator": "0", "global_name": None, "avatar": None}},
                "members": {"2": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False,
                                  "flags": 0, "permissions": "0"}}}
    await _command(api, "voiceadmin", user=9, perms=ADMIN_PERMS, options=block, resolved=resolved)
    await _post(gateway, 2, "Blocked members are not read.")
    assert "will not be read aloud" in await _command(api, "readaloud", user=1, options=[opt("allow", False, 5)])
    await _post(gateway, 1, "I opted out, so this stays text.")
    await asyncio.sleep(1.0)
    assert len(queued) == 2 and len(await _audit(app)) == before + 2


async def test_a_connection_that_does_not_come_back_is_made_again(voice, monkeypatch):
    api, gateway, server, client, queued = voice
    monkeypatch.setattr(discord_voice, "RECOVER_S", 1.0)
    server.resume_delay = 60.0  # the resumed session never answers
    await _say(api, "A long message that is still playing when the voice server falls over and stays down.")
    await server.wait_packets(30)
    await server.drop(4015)
    notice = (await api.wait_for("POST", f"/channels/{TEXT_CHANNEL}/messages", timeout=40))[0]
    assert "reconnected" in notice.json["content"]
    assert len(server.sessions) == 2  # a fresh identify, not the stuck resume
    await _until(lambda: any(p.ssrc == server.sessions[1].ssrc for p in server.packets), timeout=20)


async def test_say_in_voice_can_also_post_the_voice_message(voice):
    api, gateway, server, client, queued = voice
    p = dispatch(api, interaction("say", [opt("text", "Both here and in the lounge."), opt("voice", True, 5),
                                          opt("also_post", True, 5)], user=1))
    posted = await api.wait_for("POST", f"/webhooks/{APP_ID}/{p['token']}", count=2)
    notes = [r for r in posted if r.json and r.json.get("flags", 0) & (1 << 13)]
    assert len(notes) == 1 and not notes[0].json["flags"] & (1 << 6)  # a public voice message
    assert notes[0].files["files[0]"][1] == queued[0]  # the same audio that plays in the channel
    await server.wait_packets(len(OggOpusSource(queued[0]).packets))



def test_the_parts_of_a_long_message_stay_together_in_the_queue():
    """A long /say comes in parts; another member's message, ready in between, waits for all of them."""
    from collections import deque

    from bot.adapters.discord_voice import QueueItem, queue_position

    def item(request: int) -> QueueItem:
        return QueueItem(b"", "u", 0, request)

    queue: deque = deque([item(2)])  # B waits while A's first part plays
    assert queue_position(queue, item(1), 1) == 0  # A's second part goes before B
    queue.appendleft(item(1))
    assert queue_position(queue, item(9), 1) == 1  # and its third after its second
    assert queue_position(queue, item(1), 3) == 2  # a new request waits at the end
    assert queue_position(deque(), None, 1) == 0


async def test_a_server_can_keep_the_bot_in_voice_or_let_it_go_sooner(voice):
    api, gateway, server, client, queued = voice

    async def setting(name: str, value: str) -> None:
        options = [{"name": "set", "type": 1, "options": [opt("setting", name), opt("value", value)]}]
        await _command(api, "voiceadmin", user=9, perms=ADMIN_PERMS, options=options)

    await setting("voice_idle", "0")
    await setting("leave_alone", "off")
    await _command(api, "join", user=1)
    await _until(lambda: bool(server.sessions))
    await gateway.move_member("1", None)
    await gateway.move_member("2", None)
    await asyncio.sleep(3.0)  # past the operator's 2 s, and alone
    assert gateway.voice_updates[-1]["channel_id"] == VOICE_CHANNEL
    await setting("voice_idle", "1")  # applies to the bot already in voice
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] is None, timeout=10)


LONG = ("This is a long message for the voice channel, and it goes on for quite a while, sentence after sentence, "
        "so that the others have to wait in line behind it for some time.")
MODERATOR = str(1 << 5)  # manage_guild


async def test_nobody_speaks_into_or_pulls_the_bot_from_a_channel_they_are_not_in(voice, app):
    """Member 3 sits in the other channel, which has the same name: ids decide, not names."""
    api, gateway, server, client, queued = voice
    await gateway.move_member("3", OTHER_VOICE_CHANNEL)
    set_here = [{"name": "set", "type": 1, "options": [opt("setting", "read_aloud"), opt("value", "here")]}]
    await _command(api, "voiceadmin", user=9, perms=ADMIN_PERMS, options=set_here)
    assert "I'm in Lounge" in await _command(api, "join", user=1)
    await _until(lambda: bool(server.sessions))
    _, reply = await _say(api, "From the other room.", user=3)
    assert "join it to speak there" in reply.json["content"]
    await _post(gateway, 3, "Read me aloud from the other room.")
    assert "Others are using me" in await _command(api, "join", user=3)  # members 1 and 2 listen here
    assert "Others are using me" in await _command(api, "leave", user=3)
    await asyncio.sleep(0.5)
    assert queued == [] and await _audit(app) == []
    assert gateway.voice_updates[-1]["channel_id"] == VOICE_CHANNEL
    assert "I'm in Lounge" in await _command(api, "join", user=3, perms=MODERATOR)  # a moderator may move it
    await _until(lambda: gateway.voice_updates[-1]["channel_id"] == OTHER_VOICE_CHANNEL)
    _, reply = await _say(api, "Now I can speak here.", user=3)
    assert "Speaking in Lounge for User 3" in reply.json["content"]
    assert len(queued) == 1


async def test_the_voice_queue_is_capped_per_member_and_per_server(voice, monkeypatch):
    api, gateway, server, client, queued = voice
    monkeypatch.setattr(discord_voice, "MAX_SERVER_REQUESTS", 3)
    await _say(api, LONG, user=1)
    await _say(api, "My second message.", user=1)
    _, third = await _say(api, "My third message.", user=1)
    assert "You already have 2 messages waiting" in third.json["content"]
    _, reply = await _say(api, "Member two speaks.", user=2)
    assert "number 3 in line" in reply.json["content"]
    _, full = await _say(api, "Member two again.", user=2)
    assert "The voice queue here is full (3 messages)" in full.json["content"]
    assert len(queued) == 3


async def test_the_requester_stops_only_their_own_and_a_member_alone_with_the_bot_steers_it(voice):
    """Member 2 (member 1 owns the server, so is a moderator)."""
    api, gateway, server, client, queued = voice
    await _say(api, LONG, user=2)
    await _say(api, "Member one waits.", user=1)
    await _say(api, "My own second one.", user=2)
    await server.wait_packets(10)
    assert "Others are using me" in await _command(api, "leave", user=2)  # member 1's message waits
    assert await _command(api, "stop", user=2) == "Stopped; 1 waiting message(s) dropped."
    ones = OggOpusSource(queued[1]).packets
    await _until(lambda: _find([p.opus for p in server.packets], ones) >= 0)  # member 1's still played, whole
    assert _find([p.opus for p in server.packets], OggOpusSource(queued[2]).packets[-10:]) < 0
    await _say(api, LONG, user=1)
    await server.wait_packets(len(server.packets) + 10)
    await gateway.move_member("1", None)  # member 1 leaves the channel; their message still plays
    await asyncio.sleep(0.3)
    assert await _command(api, "stop", user=2) == "Stopped; 0 waiting message(s) dropped."  # alone with the bot
    assert await _command(api, "leave", user=2) == "I left the voice channel."


async def test_a_shared_voice_revoked_while_its_parts_wait_in_the_channel_is_not_heard(voice, app, engine):
    api, gateway, server, client, queued = voice
    from bot.storage import Policy

    await clone(app, engine, user="1", platform="discord")
    owner = (await app.store.find_user("discord", "1")).id
    await app.store.set_policy(Policy("discord", "7000", shared_voices_allowed=True))
    await app.store.set_shared(owner, "discord", "7000", True)
    member = {"users": {"1": {"id": "1", "username": "user1", "discriminator": "0", "global_name": None, "avatar": None}},
              "members": {"1": {"roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False,
                                "flags": 0, "permissions": "0"}}}
    text = ("This first sentence is long enough to fill the first short voice note on its own. "
            "And this second sentence waits in the voice channel until its owner takes the voice back.")
    dispatch(api, interaction("say", [opt("text", text), opt("voice", True, 5), opt("as_member", "1", 6)],
                              user=2, resolved=member))
    await _until(lambda: len(queued) == 2, timeout=60)  # both parts made: the second waits behind the first
    assert client.voice_channels.player(7000).queue  # still waiting
    dm = [opt("off", True, 5), opt("place", 1, 4)]
    assert "Stopped sharing your voice in 1 place" in await _command(api, "share", user=1, options=dm, guild=False)
    await _until(lambda: not client.voice_channels.player(7000).current, timeout=30)
    await asyncio.sleep(0.5)
    played = [p.opus for p in server.packets]
    assert _find(played, OggOpusSource(queued[0]).packets[:20]) >= 0  # the first part was heard
    assert _find(played, OggOpusSource(queued[1]).packets[:20]) < 0  # the second never
