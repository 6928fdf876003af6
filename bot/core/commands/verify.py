"""/verify: did this bot make that voice note?  Read from the watermark every note carries.

Anyone learns whether the bot made it; the voice's owner, the requester and the admins of the
server where it was made also learn when, in whose voice and at whose request.
"""

from __future__ import annotations

import time
from typing import Awaitable, Callable

from indextts_core.audio import MAX_UPLOAD_BYTES

from ...storage import NoteMark, Provenance, User
from ..errors import BadRequest
from ..invocation import AudioIn, Invocation, Responder
from ..command_spec import Access, CommandSpec, DiscordPlaces, DiscordShape, HelpEntry
from ..messages import tr
from ..permissions import Role
from ..tasks import VerifyTask
from .base import Handler, Services

#: Longest note accepted for checking (only its first MAX_DETECT_SECONDS are decoded and read).
MAX_VERIFY_SECONDS = 120.0


SPECS = (
    CommandSpec(
        "verify", Access.CHECK, ("Did this bot make a voice note?", "验证语音是否由本机器人生成"),
        discord=DiscordShape.CUSTOM, discord_places=DiscordPlaces.ANYWHERE,
        text_help=HelpEntry(("/verify — reply to a voice note: did I make it? (every note I send carries a watermark)",
                             "/verify —— 回复一条语音：它是我生成的吗？（我发出的每条语音都带有水印）")),
        discord_help=HelpEntry(("/verify recording:… or right-click a message → Apps → Verify voice — did I make it?",
                                "/verify recording:… 或右键点击消息 → 应用 → Verify voice —— 它是我生成的吗？"))),
)

class VerifyCommands:
    def __init__(self, services: Services, role_of: Callable[[Invocation, User], Awaitable[Role]]) -> None:
        self.s = services
        self.role_of = role_of

    def handlers(self) -> dict[str, Handler]:
        return {"verify": self.verify}

    async def verify(self, inv: Invocation, out: Responder, user: User) -> None:
        lang = user.language
        audio = inv.audio or inv.reply_audio
        if audio is None:
            raise BadRequest("Reply /verify to a voice note or audio file (forwarded or re-uploaded is fine) and I'll "
                             "tell you whether I made it.",
                             "用 /verify 回复一条语音或音频文件（转发或重新上传的也可以），我会告诉你它是不是我生成的。")
        self._precheck(audio)
        # A job in the fair queue like any note (a worker's time, bounded per person), not DSP in
        # the bot's own process.
        found = await self.s.run(inv, out, VerifyTask(await audio.fetch()))
        if not found.marked:
            await out.text(tr(lang, "I found no watermark of mine in this recording: as far as I can tell, I did not make "
                                    "it. (Heavily changed audio, or speech from other software, also reads this way.)",
                              "我在这段录音里没有找到我的水印：据我判断，它不是我生成的。"
                              "（被大幅改动过的音频或其他软件生成的语音也会这样显示。）"))
            return
        if found.payload is None or found.key is None:
            # The key's pattern is there but no note id whose MAC checks: a damaged or cut note of
            # ours — or a forgery attempt.  Either way it names no one.
            await out.text(tr(lang, "This recording carries my watermark, but too little of it is left to tell which "
                                    "note it was, so I can't say who made it or when (it may have been cut or altered).",
                              "这段录音带有我的水印，但剩下的部分太少，无法判断是哪一条语音，所以我无法说明是谁、何时生成的"
                              "（它可能被剪切或改动过）。"))
            return
        facts = await self.s.store.provenance(NoteMark(found.key, found.payload))
        if facts is None or not await self._may_see(inv, user, facts):
            await out.text(tr(lang, "Made by this bot: it is synthetic speech, not a recording of a person.",
                              "由本机器人生成：这是合成语音，不是真人录音。"))
            return
        await out.text(self._details(lang, user, facts))

    def _precheck(self, audio: AudioIn) -> None:
        if (audio.size or 0) > MAX_UPLOAD_BYTES or (audio.duration or 0) > MAX_VERIFY_SECONDS:
            raise BadRequest("That recording is too long to check; send one under 2 minutes.",
                             "这段录音太长，无法检查；请发送 2 分钟以内的录音。")

    async def _may_see(self, inv: Invocation, user: User, facts: Provenance) -> bool:
        """The voice's owner, the requester, and admins of the server where the note was made."""
        if user.id in (facts.requester.id, facts.voice_owner.id if facts.voice_owner else None):
            return True
        here = (inv.place.platform, inv.place.server_id) == (facts.platform, facts.server_id)
        return here and not inv.place.is_private and await self.role_of(inv, user) >= Role.ADMIN

    @staticmethod
    def _details(lang: str, user: User, facts: Provenance) -> str:
        def who(u: User) -> str:
            return tr(lang, "you", "你") if u.id == user.id else tr(lang, f"user {u.platform_user_id}", f"用户 {u.platform_user_id}")

        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(facts.created_at))
        voice = who(facts.voice_owner) if facts.voice_owner else tr(lang, "the default voice", "默认声音")
        place = tr(lang, "a private chat", "私聊") if facts.server_id.startswith("dm:") else facts.server_id
        return tr(lang, f"Made by this bot on {when}, in the voice of {voice}, at the request of {who(facts.requester)} "
                        f"({facts.platform}, {place}).",
                  f"由本机器人于 {when} 生成，声音：{voice}，请求者：{who(facts.requester)}（{facts.platform}，{place}）。")
