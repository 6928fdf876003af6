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


class CloneRefused(BadRequest):
    """A /clone recording refused for any sign of laundering: the bot's watermark, a voice it can
    already make, a reading that is not the consent sentence.  One text whatever the reason, so a
    refusal teaches someone tuning a fake nothing; it accuses no one (a live reading can be refused
    by chance too) and says what an honest user should do."""

    def __init__(self) -> None:
        super().__init__("I can't make a voice from this recording. Please record yourself, live, with the microphone "
                         "button, reading the whole sentence above once, clearly, in a quiet place.",
                         "我无法用这段录音制作声音。请用麦克风按钮亲自现场录音，在安静的地方把上面的整句话清楚地读一遍。")


class CloneClosed(BadRequest):
    """/clone is closed to this person for now: too many recordings today, or a lockout after a
    recording of the bot's own speech.  One text for both."""

    def __init__(self) -> None:
        super().__init__("You can't make a voice right now. Please try again tomorrow.",
                         "你现在无法制作声音。请明天再试。")


class ConsentTextRefused(BadRequest):
    """/say text that is a consent sentence: the bot never speaks one."""
