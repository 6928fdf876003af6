"""Errors the command layer shows to users: each carries its message (English and Chinese)."""

from __future__ import annotations


class BotError(Exception):
    """A refusal or failure with a message for the user; nothing was changed."""

    def __init__(self, en: str, zh: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh or en

    def message(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


class PermissionDenied(BotError):
    pass


class Busy(BotError):
    pass


class BadRequest(BotError):
    pass
