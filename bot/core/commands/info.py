"""/start, /help, /emotions, and the answer to plain text: how to use the bot, per platform."""

from __future__ import annotations

from indextts_core.emotion import CHINESE_NAMES
from indextts_core.engine import EMOTIONS

from ...storage import User
from ..invocation import Invocation, Responder
from ..command_spec import DISCORD, TELEGRAM, TEXT_CHATS, Access, CommandCatalog, CommandSpec, DiscordShape, HelpEntry, event
from ..messages import tr
from .base import Handler, Services

SPECS = (
    CommandSpec("start", Access.OPEN, ("Start", "开始"), surfaces=TEXT_CHATS),
    CommandSpec("help", Access.OPEN, ("How to use the bot", "帮助"), discord=DiscordShape.PLAIN),
    CommandSpec("emotions", Access.OPEN, ("The 8 emotions", "8 种情绪"), discord=DiscordShape.PLAIN,
                text_help=HelpEntry(("/emotions — the 8 emotions", "/emotions —— 8 种情绪")),
                discord_help=HelpEntry(("/emotions — the 8 emotions", "/emotions —— 8 种情绪"))),
    event("text"),
)


class InfoCommands:
    """Commands that only explain."""

    def __init__(self, services: Services, catalog: CommandCatalog) -> None:
        self.s = services
        self.catalog = catalog

    def handlers(self) -> dict[str, Handler]:
        return {"start": self.start, "help": self.help, "emotions": self.emotions, "text": self.plain_text}

    async def start(self, inv: Invocation, out: Responder, user: User) -> None:
        await out.text(tr(
            user.language,
            "Hi! I turn your text into voice notes — in your own voice, with emotion.\n"
            "1. /clone — record about 5 seconds of your voice (you agree first).\n"
            "2. /say angry 0.7 I can't believe it! — I answer with a voice note.\n"
            "Send /help for everything else. Your data is yours: /forget deletes it all.",
            "你好！我会把文字变成语音消息——用你自己的声音，还能带情绪。\n"
            "1. /clone —— 录大约 5 秒你的声音（需要你先同意）。\n"
            "2. /say 高兴 0.7 你好！—— 我会回复一条语音。\n"
            "发送 /help 查看全部命令。你的数据属于你：/forget 会全部删除。"))

    async def help(self, inv: Invocation, out: Responder, user: User) -> None:
        variant = DISCORD if inv.actor.platform == DISCORD else TELEGRAM
        await out.text(self.catalog.help_text(variant, user.language))

    async def emotions(self, inv: Invocation, out: Responder, user: User) -> None:
        lines = [f"{e} / {CHINESE_NAMES[e]}" for e in EMOTIONS]
        await out.text(tr(user.language, "Emotions (add an intensity 0–1):\n", "情绪（可加强度 0–1）：\n")
                       + "\n".join(lines) + "\n"
                       + tr(user.language, "Example: /say sad 0.6 I miss you.  or  /say (sad) I miss you.",
                            "例如：/say 悲伤 0.6 我想你了。或 /say （悲伤）我想你了。"))

    async def plain_text(self, inv: Invocation, out: Responder, user: User) -> None:
        """Text without a command in a private chat: say how to have it spoken."""
        await out.text(tr(user.language,
                          "To hear text as a voice note, send /say followed by the text (for example /say Hello there!), "
                          "or reply /say to a message. /help lists everything.",
                          "要把文字变成语音，请发送 /say 加文字（例如 /say 你好！），或用 /say 回复一条消息。/help 查看全部命令。"))
