"""Cleaning text before it is spoken: nothing a listener should hear as noise.

Shared by the bot (chat messages) and the CLI, so both read the same words.  :func:`strip_controls`
and :func:`check_script` also run inside :func:`indextts_core.frontend.analyze`, so no caller of
the core can make a voice read escape sequences or letters it cannot pronounce.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import TextError

# ANSI/VT100 escape sequences ("\x1b[31m"): control codes for terminals, never words.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
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
    text = _ANSI.sub(" ", text)
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


def strip_controls(text: str) -> str:
    """Remove terminal escape sequences and control characters (NUL, bell, ...); keep line breaks."""
    text = _ANSI.sub(" ", text)
    return "".join(" " if unicodedata.category(ch) == "Cc" and ch not in "\n\t" else ch for ch in text)


#: Scripts of letters the voices cannot pronounce, by the first word of the Unicode name.
_SCRIPT_NAMES = {
    "HIRAGANA": ("Japanese kana", "日文假名"), "KATAKANA": ("Japanese kana", "日文假名"),
    "HALFWIDTH": ("Japanese kana", "日文假名"), "HANGUL": ("Korean", "韩文"), "CYRILLIC": ("Cyrillic", "西里尔字母"),
    "GREEK": ("Greek", "希腊字母"), "ARABIC": ("Arabic", "阿拉伯文"), "HEBREW": ("Hebrew", "希伯来文"),
    "THAI": ("Thai", "泰文"), "DEVANAGARI": ("Devanagari", "天城文"),
}
_ALLOWED_LETTERS = {"\u00b5", "\u00aa", "\u00ba"}  # micro sign, ordinal indicators


def unsupported_script(text: str) -> tuple[str, str] | None:
    """The (English, Chinese) name of the first script in ``text`` that no voice can speak, or None.

    Only Latin letters and Chinese characters are spoken; other letters would be read as
    "Japanese letter" or skipped silently, so they are refused instead.
    """
    from .normalize import is_cjk

    for ch in text:
        if ch.isalpha() and not is_cjk(ch) and ch not in _ALLOWED_LETTERS:
            name = unicodedata.name(ch, "")
            if "LATIN" in name or (name.startswith("FULLWIDTH") and "LATIN" in name):
                continue
            first = name.split(" ")[0] if name else "UNKNOWN"
            return _SCRIPT_NAMES.get(first, (first.title() + " script", first.title() + " 文字"))
    return None


def check_script(text: str) -> None:
    """Raise :class:`TextError` naming a script the voices cannot speak."""
    script = unsupported_script(text)
    if script is not None:
        raise TextError(f"I can only speak English and Chinese, and this text contains {script[0]}. "
                        "Please remove those letters or write it in English or Chinese.",
                        f"我只会说英文和中文，而这段文字包含{script[1]}。请删掉这些字符，或用英文或中文书写。")
