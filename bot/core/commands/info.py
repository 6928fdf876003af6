"""/start, /help, /emotions, and the answer to plain text: how to use the bot, per platform."""

from __future__ import annotations

from indextts_core.emotion import CHINESE_NAMES
from indextts_core.engine import EMOTIONS

from ...storage import User
from ..invocation import Invocation, Responder
from ..messages import tr
from .base import Services

_ADMIN_HELP_EN = (
    "clone on|off — members may clone from here and speak here in cloned voices (off: default voice only); "
    "say everyone|role|admins — who may make the bot speak; role NAME — the role for 'say role'; "
    "cooldown N — seconds between one member's requests; max_chars N; shared on|off — /say as @member")
_ADMIN_HELP_ZH = (
    "clone on|off —— 成员能否在这里克隆、能否在这里用克隆的声音说话（off：只用默认声音）；"
    "say everyone|role|admins —— 谁可以让机器人说话；role 角色名 —— say role 所用的角色；"
    "cooldown N —— 同一成员两次请求间隔秒数；max_chars N；shared on|off —— /say as @成员")

HELP = {
    "text": (
        "/say [emotion] [0-1] [x1.2 | 3.2s] text — speak text as a voice note.\n"
        "• Emotion: a name with an intensity (angry 0.7 …) or marked: angry: … / (angry) … / #angry …; "
        "also v=0,1,0,0,0,0,0,0 or a description in quotes: \"trembling with fear\". Unmarked words are spoken.\n"
        "• Speed: x1.2 = 20 % faster, x0.8 = 20 % slower (x0.8–x1.33); 3.2s = exactly 3.2 seconds.\n"
        "• Reply /say to a message to voice it; to a voice note to copy its emotion. Long texts come as several notes.\n"
        "/clone — make your voice (consent first, in a private chat)\n/voice — about your voice\n"
        "/share [off] — let this group use your voice (/say as @you); in private: where it is shared; "
        "/share notify on — a message each time it is used\n/emotions — the 8 emotions\n"
        "/forget — delete everything I keep about you\n/cancel — stop a /clone or /forget in progress\n"
        "/verify — reply to a voice note: did I make it? (every note I send carries a watermark)\n"
        "Admins: /policy, /policy set <setting> <value>, /block @user, /unblock @user, /trust @user, /untrust @user, "
        "/purge @user (or reply to their message), /usage (the last 30 days of voice notes here).\nSettings: " + _ADMIN_HELP_EN,
        "/say [情绪] [0-1] [x1.2 | 3.2s] 文本 —— 把文本读成语音消息。\n"
        "• 情绪：名称加强度（愤怒 0.7 …）或加标记：愤怒：… / （愤怒）… / #愤怒 …；"
        "也可写 v=0,1,0,0,0,0,0,0 或带引号的描述：\"冷笑着说\"。没有标记的词会被朗读出来。\n"
        "• 语速：x1.2 = 快 20%，x0.8 = 慢 20%（x0.8–x1.33）；3.2s = 正好 3.2 秒。\n"
        "• 用 /say 回复一条消息即朗读它；回复语音则模仿其情绪。长文本会分成几条语音。\n"
        "/clone —— 录制你的声音（先同意，在私聊中进行）\n/voice —— 查看你的声音\n"
        "/share [off] —— 允许本群使用你的声音（/say as @你）；私聊中：查看在哪里共享；"
        "/share notify on —— 每次被使用时通知你\n/emotions —— 8 种情绪\n"
        "/forget —— 删除我保存的你的全部数据\n/cancel —— 取消进行中的 /clone 或 /forget\n"
        "/verify —— 回复一条语音：它是我生成的吗？（我发出的每条语音都带有水印）\n"
        "管理员：/policy、/policy set <设置> <值>、/block @用户、/unblock @用户、/trust @用户、/untrust @用户、"
        "/purge @用户（或回复其消息）、/usage（这里最近 30 天的语音用量）。\n设置：" + _ADMIN_HELP_ZH),
    "discord": (
        "/say text:… [emotion:…] [intensity:0–1] [speed:0.8–1.33] [seconds:…] [emotion_text:…] [as_member:…] — "
        "speak text as a voice message. speed 1.2 = 20 % faster; emotion_text describes a feeling "
        "(\"trembling with fear\"). Long texts come as several messages.\n"
        "/clone — make your voice: agree, then send a voice message to me in a DM (record it in the Discord "
        "mobile app: desktop clients cannot record voice messages), or attach it with /clone recording:\n"
        "/voice — about your voice\n/share [off] — let this server use your voice (/say as_member)\n"
        "/emotions — the 8 emotions\n/forget — delete everything I keep about you\n"
        "/verify recording:… or right-click a message → Apps → Verify voice — did I make it?\n"
        "Voice channels: /join, /say … voice:True (speak there in your voice), /skip and /stop (yours, or any as a "
        "moderator), /leave; /readaloud allow:False keeps your messages in the read-aloud channel silent.\n"
        "Admins (Manage Server): /voiceadmin policy | set | block | unblock | trust | untrust | purge | usage.\n"
        "Settings: " + _ADMIN_HELP_EN + "; read_aloud CHANNEL|here|off — speak that channel's messages in voice "
        "(members in voice with the bot, in their own voice); voice_idle SECONDS|default, leave_alone on|off|default "
        "— when the bot leaves voice",
        "/say text:… [emotion:…] [intensity:0–1] [speed:0.8–1.33] [seconds:…] [emotion_text:…] [as_member:…] —— "
        "把文本读成语音消息。speed 1.2 = 快 20%；emotion_text 用文字描述情绪（\"冷笑着说\"）。长文本会分成几条。\n"
        "/clone —— 录制你的声音：先同意，再私信给我一条语音消息（请用 Discord 手机应用录制：电脑客户端无法录制语音消息），"
        "或用 /clone recording: 附上它\n/voice —— 查看你的声音\n/share [off] —— 允许本服务器使用你的声音（/say as_member）\n"
        "/emotions —— 8 种情绪\n/forget —— 删除我保存的你的全部数据\n"
        "/verify recording:… 或右键点击消息 → 应用 → Verify voice —— 它是我生成的吗？\n"
        "语音频道：/join，/say … voice:True（用你的声音在那里说），/skip 和 /stop（你点播的，管理员可处理任何一条），/leave；"
        "/readaloud allow:False 让你在朗读频道的消息不被读出。\n"
        "管理员（管理服务器权限）：/voiceadmin policy | set | block | unblock | trust | untrust | purge | usage。\n"
        "设置：" + _ADMIN_HELP_ZH + "；read_aloud 频道|here|off —— 在语音频道朗读该频道的消息（与机器人同在语音里的成员，用其本人声音）；"
        "voice_idle 秒数|default、leave_alone on|off|default —— 机器人何时离开语音"),
}


class InfoCommands:
    """Commands that only explain."""

    def __init__(self, services: Services) -> None:
        self.s = services

    def handlers(self):
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
        en, zh = HELP["discord" if inv.actor.platform == "discord" else "text"]
        await out.text(tr(user.language, en, zh))

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
