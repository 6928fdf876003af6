"""Messages that more than one part of the bot sends, in English and Chinese.

Adapters use these when they must answer before (or without) the command layer: a platform error
or an upload limit.  ``language_of`` is the one rule for turning a platform locale into ours.
"""

from __future__ import annotations

from typing import Optional

def tr(lang: str, en: str, zh: str) -> str:
    """The text in the user's language (English unless Chinese)."""
    return zh if lang == "zh" else en


SOMETHING_WRONG = ("Sorry, something went wrong on my side. Please try again.", "抱歉，我这边出了点问题，请再试一次。")
NOT_ALLOWED_HERE = ("You can't use this command here.", "你不能在这里使用这个命令。")
NOT_IN_VOICE = ("Join a voice channel first, then ask me again.", "请先加入一个语音频道，然后再叫我。")
VOICE_RECONNECTED = ("The voice connection dropped; I reconnected and carried on.", "语音连接断开了；我已重新连接并继续播放。")
VOICE_LOST = ("I lost the voice connection and could not get it back; the queue is cleared. Use /join to call me again.",
              "我失去了语音连接且无法恢复；播放队列已清空。请用 /join 再叫我。")


def language_of(locale: Optional[str]) -> str:
    """"zh" for any Chinese locale ("zh", "zh-CN", "zh-TW", "zh_hans"), else "en"."""
    return "zh" if (locale or "").lower().startswith("zh") else "en"


def too_large_note(megabytes: float) -> tuple[str, str]:
    return (f"The voice note is {megabytes:.1f} MB, over this server's upload limit. Try shorter text.",
            f"这条语音有 {megabytes:.1f} MB，超过了本服务器的上传上限。请试试短一点的文字。")
