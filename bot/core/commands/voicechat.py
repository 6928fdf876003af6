"""/join, /leave, /skip, /stop: the bot in a server's voice channel (Discord).

The adapter hands in a :class:`~bot.core.invocation.VoiceChannel` for the server; who may do what
is decided here and in :mod:`bot.core.permissions` (join and leave follow the server's /say rule,
skip and stop belong to whoever asked for what is playing, or a moderator).  What the bot speaks
there comes from /say with its voice-channel option, so it is cleaned, limited and audited as /say.
"""

from __future__ import annotations

from ...storage import User
from ..errors import BadRequest, PermissionDenied
from ..invocation import Invocation, Responder, VoiceChannel
from ..messages import NOT_IN_VOICE, tr
from ..permissions import may_control_playback


class VoiceChatCommands:
    def __init__(self, role_of) -> None:
        self.role_of = role_of

    def handlers(self):
        return {"join": self.join, "leave": self.leave, "skip": self.skip, "stop": self.stop}

    @staticmethod
    def _voice(inv: Invocation) -> VoiceChannel:
        if inv.voice is None or inv.place.is_private:
            raise BadRequest("Voice channels work in a Discord server, not here.", "语音频道只能在 Discord 服务器里使用。")
        return inv.voice

    async def join(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = self._voice(inv)
        if voice.caller_channel() is None:
            raise BadRequest(*NOT_IN_VOICE)
        name = await voice.join()
        await out.text(tr(user.language, f"I'm in {name}. Use /say with voice: True to speak there in your voice.",
                          f"我已进入 {name}。用 /say 并选 voice: True，就能用你的声音在那里说话。"))

    async def leave(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = self._voice(inv)
        if voice.bot_channel() is None:
            raise BadRequest("I'm not in a voice channel.", "我不在语音频道里。")
        await voice.leave()
        await out.text(tr(user.language, "I left the voice channel.", "我已离开语音频道。"))

    async def _may_control(self, inv: Invocation, user: User, voice: VoiceChannel) -> bool:
        requester = voice.now_playing_requester()
        if requester is None:
            return False
        verdict = may_control_playback(await self.role_of(inv, user), requester == inv.actor.user_id)
        if not verdict.allowed:
            raise PermissionDenied(verdict.reason_en, verdict.reason_zh)
        return True

    async def skip(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = self._voice(inv)
        if not await self._may_control(inv, user, voice):
            raise BadRequest("Nothing is playing.", "现在没有在播放。")
        voice.skip()
        await out.text(tr(user.language, "Skipped.", "已跳过。"))

    async def stop(self, inv: Invocation, out: Responder, user: User) -> None:
        voice = self._voice(inv)
        if not await self._may_control(inv, user, voice):
            raise BadRequest("Nothing is playing.", "现在没有在播放。")
        dropped = voice.stop()
        await out.text(tr(user.language, f"Stopped; {dropped} waiting message(s) dropped.",
                          f"已停止；丢弃了 {dropped} 条等待中的消息。"))
