"""Cleaning chat text before it is spoken: nothing a listener should hear as noise."""

from __future__ import annotations

import re
import unicodedata

_CODE_BLOCK = re.compile(r"```.*?(```|$)", re.S)
_INLINE_CODE = re.compile(r"`([^`\n]*)`")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_DISCORD_TOKENS = re.compile(r"<a?:\w+:\d+>|<@[!&]?\d+>|<#\d+>|<t:\d+(?::\w)?>")
_MENTION = re.compile(r"(?<![\w@])@(?:everyone|here|[A-Za-z0-9_]{2,32})\b")
_MARKDOWN = re.compile(r"(\*\*|__|~~|\|\||[*_]{1})(?=\S)(.+?)(?<=\S)\1")
_HEADING = re.compile(r"^\s{0,3}(#{1,6}|>+|[-*+]\s)\s*", re.M)
_MD_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_REPEAT = re.compile(r"(.)\1{3,}")
_SPACE = re.compile(r"\s+")


def _is_emoji_or_symbol(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat in ("So", "Sk", "Cs", "Co", "Cn"):
        return True
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or cp == 0x200D or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def clean_text(text: str) -> str:
    """Drop code, URLs, mentions, custom and Unicode emoji, markdown, control characters;
    squeeze characters repeated more than three times."""
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _DISCORD_TOKENS.sub(" ", text)
    text = _MENTION.sub(" ", text)
    for _ in range(3):  # nested markdown
        text = _MARKDOWN.sub(r"\2", text)
    text = _HEADING.sub("", text)
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in "\n\t":
            out.append(" ")
        elif cat.startswith("C") and cat != "Co" or _is_emoji_or_symbol(ch):
            out.append(" ")
        else:
            out.append(ch)
    text = "".join(out)
    text = _REPEAT.sub(lambda m: m.group(1) * (1 if not m.group(1).isalnum() else 2), text)
    return _SPACE.sub(" ", text).strip()


def has_words(text: str) -> bool:
    """True when there is at least one letter or CJK character to say."""
    return any(ch.isalpha() or ch.isdigit() for ch in text)
