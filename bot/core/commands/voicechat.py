"""/join, /leave, /skip, /stop, /readaloud and read-aloud messages: the bot in a server's voice
channel (Discord).

The adapter hands in a :class:`~bot.core.invocation.VoiceChannel` for the server; who may do what
is decided here and in :mod:`bot.core.permissions` (join, leave and being read aloud follow the
server's /say rule and blocks, skip and stop belong to whoever asked for what is playing, or a
moderator; see :func:`~bot.core.permissions.may_steer_voice`), and speaking there needs the
caller in the bot's channel (:func:`check_speaking_place`).  Everything spoken there goes through
/say, so it is cleaned, limited, cooled down, audited and revocable as /say; read-aloud is always in
the author's own voice (or the default one), never someone else's.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from ...storage import User
from ..errors import BadRequest, PermissionDenied
from ..invocation import Invocation, Responder, VoiceChannel
from ..say_args import SayOptions
from ..command_spec import DISCORD, Access, CommandSpec, DiscordPlaces, DiscordShape, HelpEntry, Pair, event
from ..messages import NOT_IN_VOICE, tr
from ..permissions import Role, may_steer_voice
from .base import Handler, Services




def _voice_command(name: str, access: Access, summary: Pair, usage: Optional[Pair] = None) -> CommandSpec:
    """A Discord voice-channel command without options."""
    return CommandSpec(name, access, summary, surfaces=frozenset({DISCORD}), discord=DiscordShape.PLAIN,
                       discord_places=DiscordPlaces.SERVERS, discord_help=HelpEntry(usage) if usage else None)


SPECS = (
    _voice_command("join", Access.SPEAK, ("Join your voice channel", "加入你的语音频道"),
                   ("Voice channels: /join, then /say … voice:True speaks there in your voice",
                    "语音频道：/join，然后 /say … voice:True 用你的声音在那里说")),
    _voice_command("leave", Access.SPEAK, ("Leave the voice channel", "离开语音频道"),
                   ("/leave — I leave the voice channel", "/leave —— 我离开语音频道")),
    _voice_command("skip", Access.STEER, ("Skip what is being said in the voice channel", "跳过语音频道里正在说的"),
                   ("/skip and /stop — skip what plays, or stop and clear the queue (yours, or any as a moderator)",
                    "/skip 和 /stop —— 跳过正在播放的，或停止并清空队列（你点播的，管理员可处理任何一条）")),
    _voice_command("stop", Access.STEER, ("Stop speaking in the voice channel and clear its queue", "停止说话并清空队列")),
    CommandSpec("readaloud", Access.OPEN, ("Whether your messages in the read-aloud channel are spoken in voice",
                                           "你在朗读频道的消息是否被读出"),
                surfaces=frozenset({DISCORD}), discord=DiscordShape.CUSTOM, discord_places=DiscordPlaces.SERVERS,
                discord_help=HelpEntry(("/readaloud allow:False — your messages in the read-aloud channel stay silent",
                                        "/readaloud allow:False —— 你在朗读频道的消息不被读出"))),
    event("aloud", Access.SPEAK),
)

def server_voice(inv: Invocation) -> VoiceChannel:
    """The server's voice channel, or a clear refusal outside a server."""
    if inv.voice is None or inv.place.is_private:
        raise BadRequest("Voice channels work in a Discord server, not here.", "语音频道只能在 Discord 服务器里使用。")
    return inv.voice


def check_speaking_place(inv: Invocation) -> None:
    """/say into a voice channel: the caller must be in voice, and in the bot's channel when the
    bot is in one (nobody speaks into a room they are not in); the queue must have room."""
    voice = server_voice(inv)
    if voice.caller_channel() is None:
        raise BadRequest(*NOT_IN_VOICE)
    where = voice.bot_channel()
    if where is not None and not voice.caller_with_bot():
        raise BadRequest(f"I'm in {where}: join it to speak there, or ask a moderator to /join me to your channel.",
                         f"我在 {where} 里：请加入该频道再说话，或请管理员用 /join 把我叫到你的频道。")
    voice.room()


class VoiceChatCommands:
    def __init__(self, services: Services, role_of, say) -> None:
        self.s = services
        self.role_of = role_of
        self.say = say  # the /say family's handler

    def handlers(self) -> dict[str, Handler]:
        return {"join": self.join, "leave": self.leave, "skip": self.skip, "stop": self.stop,
                "readaloud": self.read_aloud_choice, "aloud": self.aloud}

    async def _steer(self, inv: Invocation, user: User, voice: VoiceChannel, action: str, theirs: bool = False) -> bool:
        """May the caller do ``action``?  Raises when not; True when they may act on everything
        (a moderator, or alone with the bot), False when only on their own requests."""
        role = await self.role_of(inv, user)
        alone = voice.caller_with_bot() and voice.listeners() == 0
        others_using = voice.others_waiting() or (not voice.caller_with_bot() and voice.listeners() > 0)
        verdict = may_steer_voice(action, role, alone_with_bot=alone, theirs=theirs, others_using=others_using)
        if not verdict.allowed:
            raise PermissionDenied(verdict.reason_en, verdict.reason_zh)
        return role >= Role.ADMIN or alone

    async def join(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = server_voice(inv)
        if voice.caller_channel() is None:
            raise BadRequest(*NOT_IN_VOICE)
        if voice.caller_with_bot():
            name = voice.bot_channel()
            await out.text(tr(user.language, f"I'm already in {name} with you.", f"我已经和你一起在 {name} 里了。"))
            return
        if voice.bot_channel() is not None:
            await self._steer(inv, user, voice, "join")  # moving away from people who use it
        name = await voice.join()
        await out.text(tr(user.language, f"I'm in {name}. Use /say with voice: True to speak there in your voice.",
                          f"我已进入 {name}。用 /say 并选 voice: True，就能用你的声音在那里说话。"))

    async def leave(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = server_voice(inv)
        if voice.bot_channel() is None:
            raise BadRequest("I'm not in a voice channel.", "我不在语音频道里。")
        await self._steer(inv, user, voice, "leave")
        await voice.leave()
        await out.text(tr(user.language, "I left the voice channel.", "我已离开语音频道。"))

    async def skip(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = server_voice(inv)
        requester = voice.now_playing_requester()
        if requester is None:
            raise BadRequest("Nothing is playing.", "现在没有在播放。")
        await self._steer(inv, user, voice, "skip", theirs=requester == inv.actor.user_id)
        voice.skip()
        await out.text(tr(user.language, "Skipped.", "已跳过。"))

    async def stop(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = server_voice(inv)
        requester = voice.now_playing_requester()
        if requester is None:
            raise BadRequest("Nothing is playing.", "现在没有在播放。")
        everything = await self._steer(inv, user, voice, "stop", theirs=requester == inv.actor.user_id)
        dropped = voice.stop(only_mine=not everything)
        await out.text(tr(user.language, f"Stopped; {dropped} waiting message(s) dropped.",
                          f"已停止；丢弃了 {dropped} 条等待中的消息。"))

    async def read_aloud_choice(self, inv: Invocation, out: Responder, user: User) -> None:
        """/readaloud off|on: whether this member's messages in the bound channel are spoken."""
        server_voice(inv)
        choice = inv.args.strip().lower()
        if choice not in ("on", "off", "开", "关"):
            raise BadRequest("Use /readaloud off to keep your messages silent, /readaloud on to allow them again.",
                             "用 /readaloud off 让你的消息不被朗读，/readaloud on 重新允许。")
        off = choice in ("off", "关")
        await self.s.store.set_read_aloud_opt_out(user.id, inv.place.platform, inv.place.server_id, off)
        await out.text(tr(user.language, "Your messages will not be read aloud here." if off else
                          "Your messages in the read-aloud channel will be spoken here again.",
                          "你在这里的消息不会被朗读。" if off else "你在朗读频道的消息会再次被朗读。"))

    async def wants_aloud(self, inv: Invocation) -> bool:
        """Is this message in the server's read-aloud channel, from a member in voice with the bot?
        Asked before anything is stored about its author: other chatter leaves no trace."""
        voice = inv.voice
        if voice is None or not voice.caller_with_bot():
            return False
        policy = await self.s.store.policy(inv.place.platform, inv.place.server_id)
        return bool(policy.read_aloud_channel) and inv.place.channel_id == policy.read_aloud_channel

    async def aloud(self, inv: Invocation, out: Responder, user: User) -> None:
        """A message :meth:`wants_aloud` accepted: spoken unless its author opted out."""
        if await self.s.store.read_aloud_opted_out(user.id, inv.place.platform, inv.place.server_id):
            return
        # only text (no "as @member", no options), spoken in the author's voice
        await self.say(dataclasses.replace(inv, command="say", say_options=SayOptions(inv.args)), out, user)
