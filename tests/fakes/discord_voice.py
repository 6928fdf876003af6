"""Discord's gateway and a voice server, faked on 127.0.0.1 for the real discord.py client.

* :class:`FakeGateway`: the main gateway websocket (hello, identify → READY and one GUILD_CREATE
  with a text and a voice channel, heartbeats, op 4 voice state updates answered with
  VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE), and pushes member voice-state changes.
* :class:`FakeVoiceServer`: the voice gateway (v8: hello, identify → ready with ssrc/ip/port/modes,
  select protocol → session description with a secret key and DAVE version 0, i.e. the
  transport-encryption-only path, speaking, heartbeats, resume) over TLS, as discord.py only speaks
  ``wss://`` to voice servers, and a UDP endpoint that answers IP discovery and receives RTP.
  Packets are decrypted (aead_xchacha20_poly1305_rtpsize) and kept with their arrival times.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from aiohttp import WSMsgType, web

from . import LoopbackServer
from .discord_api import APP_ID, BOT_USER

GUILD = "7000"
TEXT_CHANNEL = "7001"
VOICE_CHANNEL = "7002"
OTHER_VOICE_CHANNEL = "7003"
MODE = "aead_xchacha20_poly1305_rtpsize"


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the client is told to trust exactly this one), made in
    Python (trustme), so no openssl command is needed."""
    import trustme

    cert, key = folder / "cert.pem", folder / "key.pem"
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1")
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems) + ca.cert_pem.bytes())
    issued.private_key_pem.write_to_path(str(key))
    return cert, key


def _member(uid: str, name: str) -> dict[str, Any]:
    return {"user": {"id": uid, "username": name, "discriminator": "0", "global_name": name, "avatar": None},
            "roles": [], "joined_at": "2026-01-01T00:00:00+00:00", "deaf": False, "mute": False, "flags": 0}


def _voice_state(uid: str, channel: Optional[str], session: str = "member-session") -> dict[str, Any]:
    return {"guild_id": GUILD, "channel_id": channel, "user_id": uid, "session_id": session, "deaf": False, "mute": False,
            "self_deaf": False, "self_mute": False, "self_video": False, "suppress": False,
            "request_to_speak_timestamp": None}


class FakeGateway(LoopbackServer):
    """The main gateway: one guild, members who may sit in its voice channel."""

    def __init__(self, voice: "FakeVoiceServer", members: dict[str, Optional[str]],
                 voice_names: tuple[str, str] = ("Lounge", "Quiet")) -> None:
        self.voice = voice
        self.voice_names = voice_names  # of VOICE_CHANNEL and OTHER_VOICE_CHANNEL (the same name: only ids differ)
        self.members = dict(members)  # user id → voice channel id (None: not in voice)
        self.sockets: list[web.WebSocketResponse] = []
        self.voice_updates: list[dict[str, Any]] = []  # op 4 payloads from the bot
        self.bot_channel: Optional[str] = None
        self._seq = 0
        self._ready = asyncio.Event()

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._ws)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def _send(self, ws: web.WebSocketResponse, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await ws.send_str(json.dumps({"op": 0, "t": event, "s": self._seq, "d": data}))

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        for ws in list(self.sockets):
            if not ws.closed:
                await self._send(ws, event, data)

    async def wait_ready(self, timeout: float = 30) -> None:
        await asyncio.wait_for(self._ready.wait(), timeout)

    def _guild(self) -> dict[str, Any]:
        def channel(cid: str, ctype: int, name: str, position: int) -> dict[str, Any]:
            base = {"id": cid, "type": ctype, "guild_id": GUILD, "name": name, "position": position, "flags": 0,
                    "permission_overwrites": [], "nsfw": False, "parent_id": None}
            if ctype == 2:
                base.update(bitrate=64000, user_limit=0, rtc_region=None)
            return base

        return {
            "id": GUILD, "name": "Voice test", "icon": None, "owner_id": "1", "afk_timeout": 300,
            "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
            "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0, "preferred_locale": "en-US", "features": [],
            "roles": [{"id": GUILD, "name": "@everyone", "permissions": str((1 << 20) | (1 << 21) | (1 << 10) | (1 << 11)),
                       "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}],
            "emojis": [], "stickers": [], "channels": [channel(TEXT_CHANNEL, 0, "general", 0),
                                                       channel(VOICE_CHANNEL, 2, self.voice_names[0], 1),
                                                       channel(OTHER_VOICE_CHANNEL, 2, self.voice_names[1], 2)],
            "members": [_member(str(APP_ID), "voicebot")] + [_member(uid, f"user{uid}") for uid in self.members],
            "voice_states": [_voice_state(uid, ch) for uid, ch in self.members.items() if ch],
            "member_count": len(self.members) + 1, "large": False, "unavailable": False, "presences": [],
            "threads": [], "stage_instances": [], "guild_scheduled_events": [], "soundboard_sounds": [],
            "joined_at": "2026-01-01T00:00:00+00:00", "system_channel_id": None, "rules_channel_id": None,
            "public_updates_channel_id": None, "afk_channel_id": None, "vanity_url_code": None, "description": None,
            "banner": None, "splash": None, "discovery_splash": None, "max_members": 1000, "premium_subscription_count": 0,
        }

    async def move_member(self, uid: str, channel: Optional[str]) -> None:
        """A member joins, moves or leaves voice (channel None)."""
        self.members[uid] = channel
        await self.dispatch("VOICE_STATE_UPDATE", {**_voice_state(uid, channel), "member": _member(uid, f"user{uid}")})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op, data = payload["op"], payload.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None}))
            elif op in (2, 6):  # identify / resume: a fresh session either way
                await self._send(ws, "READY", {
                    "v": 10, "user": BOT_USER, "guilds": [{"id": GUILD, "unavailable": True}], "session_id": "gw-session",
                    "resume_gateway_url": self.url, "shard": [0, 1], "application": {"id": str(APP_ID), "flags": 0},
                    "private_channels": [], "relationships": []})
                await self._send(ws, "GUILD_CREATE", self._guild())
                self._ready.set()
            elif op == 4:
                self.voice_updates.append(data)
                channel = data.get("channel_id")
                self.bot_channel = None if channel is None else str(channel)
                data["channel_id"] = self.bot_channel
                await self._send(ws, "VOICE_STATE_UPDATE", {**_voice_state(str(APP_ID), self.bot_channel, "bot-voice-session"),
                                                           "member": _member(str(APP_ID), "voicebot")})
                if self.bot_channel is not None:
                    await self._send(ws, "VOICE_SERVER_UPDATE", {"token": "voice-token", "guild_id": GUILD,
                                                                 "endpoint": f"127.0.0.1:{self.voice.port}"})
        self.sockets.remove(ws)
        return ws


@dataclass
class RtpPacket:
    at: float
    sequence: int
    timestamp: int
    ssrc: int
    opus: bytes


@dataclass
class VoiceSession:
    identify: dict[str, Any]
    ssrc: int
    secret: bytes
    events: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)  # (time, op, data) from the client


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: "FakeVoiceServer") -> None:
        self.server = server
        self.transport: Optional[asyncio.DatagramTransport] = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) == 74 and struct.unpack_from(">H", data, 0)[0] == 1:  # IP discovery request
            reply = bytearray(74)
            struct.pack_into(">HHI", reply, 0, 2, 70, struct.unpack_from(">I", data, 4)[0])
            reply[8:8 + len(addr[0])] = addr[0].encode()
            struct.pack_into(">H", reply, 72, addr[1])
            assert self.transport is not None
            self.transport.sendto(bytes(reply), addr)
            return
        self.server.rtp_received(data)


class FakeVoiceServer:
    """A Discord voice server: wss gateway plus UDP media, transport encryption only."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.cert, self.key = cert, key
        self.sessions: list[VoiceSession] = []
        self.packets: list[RtpPacket] = []
        self.bad_packets = 0
        self.resume_delay = 0.0  # seconds a RESUME waits before RESUMED (a server coming back slowly)
        self.port = 0
        self.udp_port = 0
        self._runner: Optional[web.AppRunner] = None
        self._udp: Optional[_Udp] = None
        self._sockets: list[web.WebSocketResponse] = []
        self._packet_event = asyncio.Event()

    async def start(self) -> "FakeVoiceServer":
        app = web.Application()
        app.router.add_get("/", self._ws)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        transport, self._udp = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=("127.0.0.1", 0))
        self.udp_port = transport.get_extra_info("sockname")[1]
        return self

    async def stop(self) -> None:
        if self._udp is not None and self._udp.transport is not None:
            self._udp.transport.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def client_ssl(self) -> ssl.SSLContext:
        """What the bot under test trusts: exactly this server's certificate."""
        return ssl.create_default_context(cafile=str(self.cert))

    # ------------------------------------------------------------------ gateway
    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        session: Optional[VoiceSession] = None

        async def send(op: int, data: Any) -> None:
            await ws.send_str(json.dumps({"op": op, "d": data}))

        await send(8, {"heartbeat_interval": 13750, "v": 8})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(msg.data)
            op, data = payload["op"], payload.get("d") or {}
            if session is not None:
                session.events.append((time.monotonic(), op, data))
            if op == 0:  # identify
                session = VoiceSession(data, ssrc=1000 + len(self.sessions), secret=os.urandom(32))
                self.sessions.append(session)
                await send(2, {"ssrc": session.ssrc, "ip": "127.0.0.1", "port": self.udp_port,
                               "modes": [MODE, "xsalsa20_poly1305"], "heartbeat_interval": 1})
            elif op == 7 and self.sessions:  # resume the last session
                session = self.sessions[-1]
                await asyncio.sleep(self.resume_delay)
                await send(9, None)
            elif op == 1 and session is not None:  # select protocol
                await send(4, {"mode": MODE, "secret_key": list(session.secret), "dave_protocol_version": 0})
            elif op == 3:
                await send(6, {"t": data.get("t") if isinstance(data, dict) else data})
        self._sockets.remove(ws)
        return ws

    async def drop(self, code: int = 4015) -> None:
        """Close every voice websocket, as a crashed voice server does (4015: the client resumes)."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    def speaking(self) -> list[tuple[float, int]]:
        """(time, speaking flags) the client announced, every session in order."""
        return [(at, int(d.get("speaking", 0))) for s in self.sessions for at, op, d in s.events if op == 5]

    # ------------------------------------------------------------------ media
    def rtp_received(self, data: bytes) -> None:
        from nacl.bindings import crypto_aead_xchacha20poly1305_ietf_decrypt

        if len(data) < 12 + 16 + 4:
            self.bad_packets += 1
            return
        header = data[:12]
        sequence, timestamp, ssrc = struct.unpack_from(">HII", data, 2)
        session = next((s for s in reversed(self.sessions) if s.ssrc == ssrc), None)
        if session is None:
            self.bad_packets += 1
            return
        nonce = data[-4:] + bytes(20)
        try:
            opus = crypto_aead_xchacha20poly1305_ietf_decrypt(data[12:-4], header, nonce, session.secret)
        except Exception:
            self.bad_packets += 1
            return
        self.packets.append(RtpPacket(time.monotonic(), sequence, timestamp, ssrc, opus))
        self._packet_event.set()

    async def wait_packets(self, count: int, timeout: float = 60) -> list[RtpPacket]:
        deadline = time.monotonic() + timeout
        while len(self.packets) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.packets)} RTP packets of {count}")
            self._packet_event.clear()
            try:
                await asyncio.wait_for(self._packet_event.wait(), 0.2)
            except asyncio.TimeoutError:
                pass
        return self.packets

