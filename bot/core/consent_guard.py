"""What ``/say`` must never speak: a consent sentence or a consent code, in any disguise.

A voice is laundered into a "consent" recording by having the bot read the consent sentence and
a live code in it.  So a text is judged by what it *sounds* like, not how it is written: Unicode
compatibility forms (NFKC), invisible characters and look-alike letters folded, every script
transliterated (Chinese to toneless pinyin, so a homophone character reads as the character it
sounds like), punctuation and spacing removed — "I a.g.r.e.e", "Ｉ ａｇｒｅｅ" and "I agrее" (with
Cyrillic е) are one text.  Digits, number words and their homophones ("for", "ate"; 期 for 七)
read alike.  Several requests of one person in a short time are judged together, so a sentence
or a code cannot be assembled from pieces; a code counts only while it is outstanding (issued to
anyone for a ``/clone`` not yet finished), so ordinary numbers stay speakable.

The thresholds are measured in ``tests/bot/core/test_consent_guard.py`` on ordinary texts (none
refused) and on disguises of the sentences (all refused).
"""

from __future__ import annotations

import collections
import re
import time
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Optional

from anyascii import anyascii
from rapidfuzz import fuzz

from indextts_core.frontend.normalize import is_cjk

from .consent import CONSENT_TEMPLATES, DIGIT_WORDS, ZH_DIGITS

#: How closely (rapidfuzz partial ratio, 0–100) a text's folded sound must match the sentence
#: before the code, or either half of it, to be refused.
SENTENCE_MATCH = 80.0
HALF_MATCH = 92.0
#: How long one person's earlier texts still count towards a sentence or a code assembled from pieces.
WINDOW_S = 15 * 60
#: How many of them (and how many characters of them) are kept, in memory only.
WINDOW_TEXTS = 8
WINDOW_CHARS = 2000

#: Letters that look like Latin ones (Cyrillic, Greek): folded by sight before transliteration, which
#: would turn Cyrillic "с" into "s" although a reader, and a speech synthesiser given the text, sees "c".
_LOOKALIKES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "т": "t",
    "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y",
    "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P",
    "Τ": "T", "Υ": "Y", "Χ": "X",
})
#: Words that sound like a digit (said, not written).  Only whole words count, and only in a run of
#: digits: "for" alone is no digit.
_SOUNDS_LIKE_DIGIT = {w: str(i) for i, w in enumerate(DIGIT_WORDS)} | {
    "oh": "0", "zed": "0", "won": "1", "to": "2", "too": "2", "tu": "2", "tree": "3", "for": "4", "fore": "4",
    "fiv": "5", "sicks": "6", "sevn": "7", "ate": "8", "nein": "9", "nien": "9"}
_PINYIN_DIGIT = {"ling": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3", "si": "4", "wu": "5",
                 "liu": "6", "qi": "7", "ba": "8", "jiu": "9"}


@dataclass(frozen=True)
class _Token:
    sound: str  # lowercase letters and digits
    digit: Optional[str]  # the digit it says, if it says one


@lru_cache(maxsize=4096)
def _pinyin(ch: str) -> str:
    from pypinyin import lazy_pinyin

    return lazy_pinyin(ch)[0].lower()


def _tokens(text: str) -> list[_Token]:
    """The text as the sounds a reader would say, word by word (Chinese: syllable by syllable)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Mn", "Me"))  # invisible, accents
    text = text.translate(_LOOKALIKES)
    out: list[_Token] = []
    word: list[str] = []

    def flush() -> None:
        for part in re.findall(r"[a-z]+|[0-9]", anyascii("".join(word)).lower()):
            out.append(_Token(part, part if part.isdigit() else _SOUNDS_LIKE_DIGIT.get(part)))
        word.clear()

    for ch in text:
        if is_cjk(ch):
            flush()
            syllable = _pinyin(ch)
            out.append(_Token(syllable, str(ZH_DIGITS.index(ch)) if ch in ZH_DIGITS else _PINYIN_DIGIT.get(syllable)))
        elif ch.isalnum():
            word.append(ch)
        else:
            flush()
    flush()
    return out


def _sound(tokens: Iterable[_Token]) -> str:
    return "".join(t.sound for t in tokens)


@lru_cache(maxsize=None)
def _sentence_sounds() -> tuple[str, ...]:
    """The folded sound of each language's sentence before its code."""
    # The code word itself ("Code:", 验证码) is part of it.
    return tuple(_sound(_tokens(template.split("{code}")[0])) for template in CONSENT_TEMPLATES.values())


def _found(part: str, heard: str) -> float:
    """How much of ``part`` ``heard`` says (0–100): the best-aligned stretch of a longer text; a
    shorter text is compared whole, so a few words never count as the sentence they start."""
    return fuzz.partial_ratio(part, heard) if len(heard) >= len(part) else fuzz.ratio(part, heard)


def says_consent_sentence(tokens: list[_Token]) -> bool:
    """Most of a consent sentence, or nearly all of either half of it, in these sounds (either
    language).  Measured (tests/bot/core/test_consent_guard.py): ordinary texts that share words
    with it score up to 69 whole and 87 for a half; disguised sentences 86 and more, halves 95."""
    heard = _sound(tokens)
    for body in _sentence_sounds():
        half = len(body) // 2
        if _found(body, heard) >= SENTENCE_MATCH:
            return True
        if any(_found(part, heard) >= HALF_MATCH for part in (body[:half], body[half:])):
            return True
    return False


def _code_sounds(code: str) -> tuple[str, ...]:
    """A code as its digits, its English words and its pinyin, run together."""
    return (code, "".join(DIGIT_WORDS[int(d)] for d in code), "".join(_pinyin(ZH_DIGITS[int(d)]) for d in code))


def says_code(tokens: list[_Token], code: str) -> bool:
    """Does this speak ``code``: as digits or number words, one after another (one other word
    between two of them may be cut out of a recording), or spelt together in any script?"""
    heard = _sound(tokens)
    if any(sound in heard for sound in _code_sounds(code)):
        return True
    digits = [(i, t.digit) for i, t in enumerate(tokens) if t.digit is not None]
    for start in range(len(digits) - len(code) + 1):
        run = digits[start:start + len(code)]
        if "".join(d for _, d in run) == code and all(b - a <= 2 for (a, _), (b, _) in zip(run, run[1:])):
            return True
    return False


class ConsentGuard:
    """Judges ``/say`` texts together with the same person's texts of the last :data:`WINDOW_S`.

    They are kept in this process's memory only, never on disk, and for no longer than the window —
    also past a /forget, which must not reset the guard.  Several bot processes (scale-out) each
    keep their own: pieces sent through different processes are not joined (README: known gaps)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._recent: dict[str, collections.deque[tuple[float, str]]] = {}

    def _earlier(self, who: str) -> list[str]:
        now = self._clock()
        kept = self._recent.get(who)
        if not kept:
            return []
        while kept and now - kept[0][0] > WINDOW_S:
            kept.popleft()
        if not kept:
            del self._recent[who]
            return []
        return [text for _, text in kept]

    def refuses(self, who: str, text: str, outstanding_codes: Iterable[str] = ()) -> bool:
        """Would speaking ``text`` (after ``who``'s recent texts) say a consent sentence or an
        outstanding code?  A text that is not refused is remembered for the next call."""
        earlier = self._earlier(who)
        codes = list(outstanding_codes)
        if is_consent_text(text, codes) or (earlier and is_consent_text(" ".join([*earlier, text]), codes)):
            return True
        kept = self._recent.setdefault(who, collections.deque(maxlen=WINDOW_TEXTS))
        kept.append((self._clock(), text[-WINDOW_CHARS:]))
        return False


def is_consent_text(text: str, outstanding_codes: Iterable[str] = ()) -> bool:
    """One text on its own (no memory): a consent sentence or an outstanding code in any disguise."""
    tokens = _tokens(text)
    return says_consent_sentence(tokens) or any(says_code(tokens, c) for c in outstanding_codes)

