"""Discord voice channels: the engine's Ogg/Opus played as it is, one queue per server.

No ffmpeg and no re-encoding: the voice notes the engine makes are already Opus at 48 kHz in 20 ms
frames (what Discord sends and expects), so their packets go to discord.py as an Opus
``AudioSource``; discord.py adds RTP, transport encryption and, when the voice server asks for
it, DAVE end-to-end encryption (``davey``).  This module only plays: who may make the bot join,
speak, skip or stop is decided in the command layer.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Optional

import discord
from discord.oggparse import OggStream

from ..core.errors import Busy
from ..core.messages import VOICE_LOST, VOICE_RECONNECTED, tr

log = logging.getLogger(__name__)

FRAME_MS = 20
#: How long a dropped voice connection may take to come back by itself before we reconnect.
RECOVER_S = 8.0
WATCH_S = 0.25
#: Requests (all the parts of one /say count once) queued or playing: per server and per member,
#: so that one member cannot fill an evening, nor a crowd an hour.
MAX_SERVER_REQUESTS = 10
MAX_MEMBER_REQUESTS = 2


def _frame_ms(packet: bytes) -> float:
    """Duration of an Opus packet from its TOC byte (RFC 6716 §3.1)."""
    config, code = packet[0] >> 3, packet[0] & 3
    per_frame: float
    if config < 12:
        per_frame = (10, 20, 40, 60)[config & 3]
    elif config < 16:
        per_frame = (10, 20)[config & 1]
    else:
        per_frame = (2.5, 5, 10, 20)[config & 3]
    frames = 1 if code == 0 else 2 if code in (1, 2) else packet[1] & 0x3F
    return per_frame * frames


class OggOpusSource(discord.AudioSource):
    """The Opus packets of an Ogg/Opus file, one 20 ms frame per ``read``."""

    def __init__(self, ogg: bytes) -> None:
        packets = list(OggStream(io.BytesIO(ogg)).iter_packets())
        if len(packets) < 2 or not packets[0].startswith(b"OpusHead") or not packets[1].startswith(b"OpusTags"):
            raise ValueError("not an Ogg/Opus stream")
        channels = packets[0][9]
        pre_skip = struct.unpack_from("<H", packets[0], 10)[0]
        self.packets = [p for p in packets[2:] if p]
        # Discord paces one packet per 20 ms (RTP timestamp + 960); only the stream's last packet
        # may be shorter (the encoder's flush), which decoders play as it is
        if (channels not in (1, 2) or not self.packets or _frame_ms(self.packets[-1]) > FRAME_MS
                or any(_frame_ms(p) != FRAME_MS for p in self.packets[:-1])):
            raise ValueError("Discord needs 20 ms Opus frames, mono or stereo")
        # the encoder's look-ahead (pre-skip) is whole frames of silence at the start: drop them
        self.packets = self.packets[pre_skip // (48 * FRAME_MS):]
        self._next = 0

    def is_opus(self) -> bool:
        return True

    def read(self) -> bytes:
        if self._next >= len(self.packets):
            return b""
        self._next += 1
        return self.packets[self._next - 1]

    @property
    def seconds(self) -> float:
        return len(self.packets) * FRAME_MS / 1000


@dataclass
class QueueItem:
    ogg: bytes
    requester: str  # platform user id
    notice_channel: int  # text channel for "reconnected" and similar news
    request: int = 0  # the parts of one long /say share it and play back to back
    guard: Optional[Callable[[], Awaitable[bool]]] = None  # asked just before playing: may this voice still be used?


def queue_position(queue: "deque[QueueItem]", current: Optional[QueueItem], request: int) -> int:
    """Where a new part of ``request`` goes: right after its own queued parts, first in line when
    its previous part is playing now, else at the end."""
    mine = [i for i, queued in enumerate(queue) if queued.request == request]
    if mine:
        return mine[-1] + 1
    if current is not None and current.request == request:
        return 0
    return len(queue)


class GuildPlayer:
    """One server's voice connection and playback queue (requests play in the order they came)."""

    def __init__(self, client: discord.Client, guild_id: int, idle_seconds: int, leave_when_alone: bool) -> None:
        self.client = client
        self.guild_id = guild_id
        self.idle_seconds = idle_seconds
        self.leave_when_alone = leave_when_alone
        self.queue: deque[QueueItem] = deque()
        self.current: Optional[QueueItem] = None
        self.language = "en"
        self._wake = asyncio.Event()
        self._task: Optional[asyncio.Task] = None
        self._last_activity = time.monotonic()
        self._connect_lock = asyncio.Lock()

    @property
    def voice_client(self) -> Optional[discord.VoiceClient]:
        guild = self.client.get_guild(self.guild_id)
        vc = guild.voice_client if guild is not None else None
        return vc if isinstance(vc, discord.VoiceClient) else None

    def channel(self) -> Optional[discord.VoiceChannel | discord.StageChannel]:
        vc = self.voice_client
        return vc.channel if vc is not None else None

    async def join(self, channel: discord.VoiceChannel) -> None:
        async with self._connect_lock:
            vc = self.voice_client
            if vc is not None and vc.is_connected():
                if vc.channel.id != channel.id:
                    await vc.move_to(channel)
            else:
                if vc is not None:  # a half-open connection from an earlier drop
                    await vc.disconnect(force=True)
                await channel.connect(timeout=20, reconnect=True, self_deaf=True)
        self._last_activity = time.monotonic()
        self._ensure_task()

    async def leave(self) -> None:
        self.stop()
        vc = self.voice_client
        if vc is not None:
            await vc.disconnect(force=False)
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def configure(self, idle_seconds: int, leave_when_alone: bool) -> None:
        """The server's choices of when to leave; an idle wait in progress starts over with them."""
        if (idle_seconds, leave_when_alone) != (self.idle_seconds, self.leave_when_alone):
            self.idle_seconds, self.leave_when_alone = idle_seconds, leave_when_alone
            self._wake.set()

    def _items(self) -> list[QueueItem]:
        return ([self.current] if self.current is not None else []) + list(self.queue)

    def room_for(self, requester: str, request: int) -> None:
        """Raise :class:`~bot.core.errors.Busy` when a new request would exceed the caps (a further
        part of a request already here always fits: a long message is never cut off)."""
        items = self._items()
        if any(i.request == request for i in items):
            return
        if len({i.request for i in items if i.requester == requester}) >= MAX_MEMBER_REQUESTS:
            raise Busy(f"You already have {MAX_MEMBER_REQUESTS} messages waiting to be spoken here. Wait for them "
                       "to play, then try again.", f"你已有 {MAX_MEMBER_REQUESTS} 条消息在这里等待播放。请等它们播完再试。")
        if len({i.request for i in items}) >= MAX_SERVER_REQUESTS:
            raise Busy(f"The voice queue here is full ({MAX_SERVER_REQUESTS} messages). Please try again in a minute.",
                       f"这里的语音队列已满（{MAX_SERVER_REQUESTS} 条消息）。请一分钟后再试。")

    def others_waiting(self, member: str) -> bool:
        """Is anything someone else asked for playing or queued?"""
        return any(i.requester != member for i in self._items())

    def enqueue(self, item: QueueItem) -> int:
        """Queue ``item`` (after the earlier parts of its own request, so a long message is not
        cut in two by someone else's); its place in line (1: plays next or now)."""
        self.room_for(item.requester, item.request)
        position = queue_position(self.queue, self.current, item.request)
        self.queue.insert(position, item)
        self._last_activity = time.monotonic()
        self._ensure_task()
        self._wake.set()
        return position + 1 + (self.current is not None)

    def skip(self) -> None:
        vc = self.voice_client
        if vc is not None and vc.is_playing():
            vc.stop()

    def stop(self, requester: Optional[str] = None) -> int:
        """End what plays and drop what waits: everything, or (``requester``) only theirs."""
        if requester is None:
            dropped = len(self.queue)
            self.queue.clear()
            self.skip()
            return dropped
        mine = [i for i in self.queue if i.requester == requester]
        for item in mine:
            self.queue.remove(item)
        if self.current is not None and self.current.requester == requester:
            self.skip()
        return len(mine)

    def _ensure_task(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"voice-{self.guild_id}")

    async def _notice(self, channel_id: int, pair: tuple[str, str]) -> None:
        channel = self.client.get_channel(channel_id)
        if channel is None:
            return
        try:
            await channel.send(tr(self.language, *pair))  # type: ignore[union-attr]
        except discord.HTTPException as exc:
            log.warning("could not post a voice notice: %s", exc)

    async def _run(self) -> None:
        """Play the queue; leave after ``idle_seconds`` with nothing to play."""
        try:
            while True:
                if not self.queue:
                    self._wake.clear()
                    wait = None if not self.idle_seconds else max(0.0, self._last_activity + self.idle_seconds - time.monotonic())
                    try:
                        await asyncio.wait_for(self._wake.wait(), wait)
                    except asyncio.TimeoutError:
                        if not self.queue:
                            log.info("voice: idle for %d s in guild %s, leaving", self.idle_seconds, self.guild_id)
                            vc = self.voice_client
                            if vc is not None:
                                await vc.disconnect(force=False)
                            return
                    continue
                item = self.queue.popleft()
                if not await self._allowed(item):
                    continue
                self.current = item
                try:
                    await self._play(item)
                finally:
                    self.current = None
                    self._last_activity = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:  # never let one bad item end the server's player silently
            log.exception("voice player of guild %s failed", self.guild_id)
            self.queue.clear()

    async def _allowed(self, item: QueueItem) -> bool:
        """A waiting part in a voice revoked meanwhile is dropped (asking fails closed)."""
        if item.guard is None:
            return True
        try:
            allowed = await item.guard()
        except Exception:
            log.exception("voice: checking a queued message failed; dropping it")
            allowed = False
        if not allowed:
            log.info("voice: a queued message in a revoked voice was dropped in guild %s", self.guild_id)
        return allowed

    async def _play(self, item: QueueItem) -> None:
        vc = self.voice_client
        if vc is None:
            return  # we were made to leave meanwhile
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        vc.play(OggOpusSource(item.ogg), after=lambda error: loop.call_soon_threadsafe(done.set))
        dropped_at: Optional[float] = None
        while not done.is_set():
            try:
                await asyncio.wait_for(done.wait(), WATCH_S)
            except asyncio.TimeoutError:
                pass
            connected = vc.is_connected()
            if not connected and dropped_at is None:
                dropped_at = time.monotonic()
                log.warning("voice: connection dropped in guild %s", self.guild_id)
            elif connected and dropped_at is not None:
                dropped_at = None
                await self._notice(item.notice_channel, VOICE_RECONNECTED)
            elif dropped_at is not None and time.monotonic() - dropped_at > RECOVER_S:
                vc = await self._reconnect(vc, item)
                if vc is None:
                    return
                dropped_at = None
                done.clear()
                vc.play(OggOpusSource(item.ogg), after=lambda error: loop.call_soon_threadsafe(done.set))

    async def _reconnect(self, vc: discord.VoiceClient, item: QueueItem) -> Optional[discord.VoiceClient]:
        """The connection did not come back by itself: connect again, or give up and say so."""
        channel = vc.channel
        try:
            await vc.disconnect(force=True)
            await channel.connect(timeout=20, reconnect=True, self_deaf=True)
        except (asyncio.TimeoutError, discord.ClientException, OSError) as exc:
            log.warning("voice: reconnecting failed in guild %s: %s", self.guild_id, exc)
            self.queue.clear()
            await self._notice(item.notice_channel, VOICE_LOST)
            return None
        await self._notice(item.notice_channel, VOICE_RECONNECTED)
        return self.voice_client


class VoiceChannels:
    """Every server's player; the client forwards voice-state events here."""

    def __init__(self, client: discord.Client, idle_seconds: int, leave_when_alone: bool) -> None:
        self.client = client
        self.idle_seconds = idle_seconds
        self.leave_when_alone = leave_when_alone
        self.players: dict[int, GuildPlayer] = {}

    def player(self, guild_id: int) -> GuildPlayer:
        if guild_id not in self.players:
            self.players[guild_id] = GuildPlayer(self.client, guild_id, self.idle_seconds, self.leave_when_alone)
        return self.players[guild_id]

    async def on_voice_state_update(self, member: discord.Member, before, after) -> None:
        """Leave a channel where no person is left to listen."""
        player = self.players.get(member.guild.id)
        channel = player.channel() if player is not None else None
        if player is None or channel is None or not player.leave_when_alone:
            return
        if not any(not m.bot for m in channel.members):
            log.info("voice: alone in %s, leaving", channel.name)
            await player.leave()

    async def close(self) -> None:
        for player in self.players.values():
            await player.leave()


_requests = itertools.count(1)


class MemberVoice:
    """The :class:`bot.core.invocation.VoiceChannel` of one server, seen by one member (the caller,
    or the author of a message to read aloud); news goes to the text channel they wrote in."""

    def __init__(self, channels: VoiceChannels, guild: discord.Guild, member_id: int, text_channel_id: int) -> None:
        self.channels = channels
        self.guild = guild
        self.member_id = member_id
        self.text_channel_id = text_channel_id
        self.player = channels.player(guild.id)
        self.request = next(_requests)  # one invocation: one request, however many parts it has
        self.guard: Optional[Callable[[], Awaitable[bool]]] = None

    def _caller(self) -> Optional[discord.VoiceChannel]:
        state = self.guild._voice_state_for(self.member_id)  # the gateway's voice states (no members intent needed)
        channel = state.channel if state is not None else None
        return channel if isinstance(channel, discord.VoiceChannel) else None

    def caller_channel(self) -> Optional[str]:
        channel = self._caller()
        return channel.name if channel is not None else None

    def bot_channel(self) -> Optional[str]:
        channel = self.player.channel()
        return channel.name if channel is not None else None

    def caller_with_bot(self) -> bool:
        """Is the caller in the very channel the bot is in (by id: names repeat)?"""
        caller, bot = self._caller(), self.player.channel()
        return caller is not None and bot is not None and caller.id == bot.id

    def listeners(self) -> int:
        """People in the bot's voice channel besides the caller (bots do not count)."""
        channel = self.player.channel()
        if channel is None:
            return 0
        me = getattr(self.channels.client.user, "id", None)
        count = 0
        for uid in getattr(channel, "voice_states", {}):
            member = self.guild.get_member(uid)
            if uid not in (me, self.member_id) and not (member is not None and member.bot):
                count += 1
        return count

    def others_waiting(self) -> bool:
        return self.player.others_waiting(str(self.member_id))

    def room(self) -> None:
        self.player.room_for(str(self.member_id), self.request)

    def set_guard(self, guard: Callable[[], Awaitable[bool]]) -> None:
        self.guard = guard

    async def join(self) -> str:
        channel = self._caller()
        if channel is None:
            raise RuntimeError("join() without a caller channel")  # the command layer checks first
        await self.player.join(channel)
        return channel.name

    async def leave(self) -> None:
        await self.player.leave()

    def apply_policy(self, idle_seconds: Optional[int], leave_when_alone: Optional[bool]) -> None:
        self.player.configure(self.channels.idle_seconds if idle_seconds is None else idle_seconds,
                              self.channels.leave_when_alone if leave_when_alone is None else leave_when_alone)

    def now_playing_requester(self) -> Optional[str]:
        return self.player.current.requester if self.player.current is not None else None

    def skip(self) -> None:
        self.player.skip()

    def stop(self, only_mine: bool = False) -> int:
        return self.player.stop(str(self.member_id) if only_mine else None)

    async def play(self, ogg: bytes, language: str) -> int:
        """Join the caller's channel if the bot is elsewhere or nowhere, then queue ``ogg``."""
        channel = self._caller()
        if channel is not None and (self.player.channel() is None or self.player.voice_client is None
                                    or not self.player.voice_client.is_connected()):
            await self.player.join(channel)
        self.player.language = language
        return self.player.enqueue(QueueItem(ogg, str(self.member_id), self.text_channel_id, self.request, self.guard))

