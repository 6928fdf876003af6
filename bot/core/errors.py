"""Errors the command layer shows to users: each carries its message (English and Chinese).

They share the core's one bilingual base (:class:`indextts_core.errors.IndexTTSError`), so the
command layer, the job packer and the worker tell a user-facing refusal from a fault in one test.
"""

from __future__ import annotations

from indextts_core.errors import IndexTTSError


class BotError(IndexTTSError):
    """A refusal or failure with a message for the user; nothing was changed."""

    code = "bot"


class PermissionDenied(BotError):
    pass


class Busy(BotError):
    pass


class BadRequest(BotError):
    pass


class SyntheticRecording(BadRequest):
    """A /clone recording that the bot itself made, or that sounds like a voice it makes."""

    @classmethod
    def made_by_us(cls) -> "SyntheticRecording":
        # Worded for the rare live reading that lines up with the mark's key by chance too (bench
        # --consent): it accuses no one and asks for a retake (a live one differs in timing).
        return cls("This recording carries my watermark, so it looks like something I made, and it cannot become "
                   "your voice. If you recorded it yourself, live, please read the sentence once more with the "
                   "microphone button.",
                   "这段录音带有我的水印，看起来是我生成的，所以不能成为你的声音。如果是你亲自现场录的，"
                   "请用麦克风按钮再读一遍那句话。")

    @classmethod
    def sounds_like_us(cls) -> "SyntheticRecording":
        # Never say whose voice it matched: that would tell an attacker which voices exist.
        return cls("This recording sounds like a voice I can already make, not like a new person, so I can't "
                   "use it. Please record your own voice, live, with the microphone button.",
                   "这段录音听起来像我已经能生成的声音，而不是一个新的人，所以不能使用。请用麦克风按钮亲自录制你自己的声音。")


class ConsentTextRefused(BadRequest):
    """/say text that is a consent sentence: the bot never speaks one."""
