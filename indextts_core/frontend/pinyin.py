"""Pinyin: user annotations in three notations, and context-aware resolution of polyphones.

Annotations users bring, all normalised to numbered pinyin (``hang2``):

* upstream IndexTTS-2 inline syllables: ``打DI1去银行`` (an uppercase syllable with tone 1-5 stands
  in for a character);
* IndexTTS-2.5 tags: ``‹行|XING2>`` (also ``<行|xing2>``, ``〈行|XING2〉``);
* brackets after characters, tone-marked or numbered: ``行[háng]``, ``出发[chū fā]``, ``行[hang2]``.

Unannotated characters are resolved from context: jieba word segmentation feeding pypinyin's
phrase dictionary, then a small phrase table of our own for cases both get wrong.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from dataclasses import dataclass
from typing import Optional

from ..errors import TextError

HANZI = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HANZI_RE = re.compile(f"[{HANZI}]")

#: Placeholders for annotated spans live in Unicode's private use area, so later stages
#: (normalisation, cleaning) leave them alone.
PLACEHOLDER_BASE = 0xE000
PLACEHOLDER_RE = re.compile("[\ue000-\uefff]")

# Phrases pypinyin + jieba get wrong in common sentences; matched on the raw characters.
_PHRASE_FIXES: dict[str, tuple[str, ...]] = {
    "很长": ("hen3", "chang2"),
    "太长": ("tai4", "chang2"),
    "还钱": ("huan2", "qian2"),
    "还书": ("huan2", "shu1"),
    "还给": ("huan2", "gei3"),
    "数一数": ("shu3", "yi1", "shu3"),
    "得快": ("dei3", "kuai4"),
    "得走": ("dei3", "zou3"),
    "一行": ("yi1", "hang2"),
    "两行": ("liang3", "hang2"),
    "背着": ("bei1", "zhe5"),
    "背包": ("bei1", "bao1"),
    "大夫": ("dai4", "fu5"),
}


@dataclass(frozen=True)
class Syllable:
    """One spoken Mandarin syllable: the character it belongs to (if any) and numbered pinyin."""

    char: str
    pinyin: str
    source: str  # "user" (annotated), "context" (resolved), "literal" (not a character)
    word_start: bool = True  # first syllable of a word (jieba), for voices that group by word


@dataclass(frozen=True)
class Annotation:
    chars: str  # may be "" for an upstream inline syllable that replaces a character
    syllables: tuple[str, ...]


@functools.lru_cache(maxsize=1)
def _valid_syllables() -> frozenset[str]:
    from pypinyin.contrib.tone_convert import to_normal
    from pypinyin.pinyin_dict import pinyin_dict

    out: set[str] = set()
    for value in pinyin_dict.values():
        for reading in value.split(","):
            out.add(to_normal(reading, v_to_u=False))
    return frozenset(out)


def to_numbered(syllable: str) -> Optional[str]:
    """``háng`` / ``HANG2`` / ``hang2`` → ``hang2``; None when it is not a Mandarin syllable."""
    from pypinyin.contrib.tone_convert import to_tone3

    s = syllable.strip().lower().replace("ü", "v").replace("u:", "v")
    if not s:
        return None
    if s[-1].isdigit():
        base, tone = s[:-1], s[-1]
        if tone not in "12345":
            return None
    else:
        numbered = to_tone3(s.replace("v", "ü"), v_to_u=False, neutral_tone_with_five=True)
        if not numbered or not numbered[-1].isdigit():
            numbered = s + "5"
        base, tone = numbered[:-1], numbered[-1]
    return base + tone if base in _valid_syllables() else None


def _all_numbered(raw: list[str]) -> Optional[list[str]]:
    """Every syllable of ``raw`` numbered, or None when one of them is not pinyin."""
    numbered = [to_numbered(s) for s in raw]
    return [s for s in numbered if s is not None] if None not in numbered else None


_UPSTREAM_INLINE = re.compile(r"(?<![A-Za-z])([A-Z]{1,6}[1-5])(?![A-Za-z0-9])")
_TAG = re.compile(rf"[‹<〈]([{HANZI}]+)\|([A-Za-zÜü:]+[1-5]?(?:\s+[A-Za-zÜü:]+[1-5]?)*)\s*[›>〉]")
_BRACKETS = re.compile(rf"([{HANZI}]+)[\[【]([^\]】]{{1,80}})[\]】]")


def extract_annotations(text: str) -> tuple[str, list[Annotation]]:
    """Replace every annotated span by one placeholder character; return text and annotations."""
    notes: list[Annotation] = []

    def place(chars: str, syllables: list[str]) -> str:
        if len(notes) >= 0x1000:
            raise TextError("Too many pinyin annotations in one message.", "一条消息里的拼音标注太多了。")
        notes.append(Annotation(chars, tuple(syllables)))
        return chr(PLACEHOLDER_BASE + len(notes) - 1)

    def tag(m: re.Match[str]) -> str:
        chars, raw = m[1], m[2].split()
        syl = _all_numbered(raw)
        if syl is None or len(syl) != len(chars):
            raise TextError(
                f"The pinyin annotation {m[0]!r} does not fit: give one syllable with tone per "
                f"character, like ‹行|XING2>.",
                f"拼音标注 {m[0]!r} 对不上：每个字给一个带声调的音节，例如 ‹行|XING2>。",
            )
        return place(chars, syl)

    def brackets(m: re.Match[str]) -> str:
        raw = m[2].replace(",", " ").split()
        syl = _all_numbered(raw)
        if not raw or syl is None:
            return m[0]  # not pinyin: ordinary brackets, left for the cleaner
        chars = m[1]
        if len(syl) > len(chars):
            raise TextError(
                f"The annotation [{m[2]}] has {len(syl)} syllables but only {len(chars)} "
                f"characters come before it.",
                f"标注 [{m[2]}] 有 {len(syl)} 个音节，但前面只有 {len(chars)} 个汉字。",
            )
        head, annotated = chars[: len(chars) - len(syl)], chars[len(chars) - len(syl):]
        return head + place(annotated, syl)

    def inline(m: re.Match[str]) -> str:
        syl = to_numbered(m[1])
        if syl is None:
            return m[0]
        # Upstream only treats it as pinyin next to Chinese text.
        start, end = m.start(), m.end()
        near = text_now[max(0, start - 1):start] + text_now[end:end + 1]
        if not (_HANZI_RE.search(near) or PLACEHOLDER_RE.search(near)):
            return m[0]
        return place("", [syl])

    text = _TAG.sub(tag, text)
    text = _BRACKETS.sub(brackets, text)
    text_now = text
    text = _UPSTREAM_INLINE.sub(inline, text)
    return text, notes


_jieba_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def _jieba():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def resolve_chars(hanzi: str) -> list[str]:
    """Numbered pinyin for every character of a pure-hanzi string, from context."""
    return _resolve_words(hanzi)[0]


def _resolve_words(hanzi: str) -> tuple[list[str], list[bool]]:
    """Readings of every character, and whether each one starts a word."""
    from pypinyin import Style, pinyin

    words = _jieba().lcut(hanzi, HMM=False)
    starts = [i == 0 for w in words for i in range(len(w))]
    result = [p[0] for p in pinyin(words, style=Style.TONE3, neutral_tone_with_five=True, errors="default")]
    if len(result) != len(hanzi):  # defensive: fall back to per-character reading
        result = [pinyin(c, style=Style.TONE3, neutral_tone_with_five=True)[0][0] for c in hanzi]
    for phrase, readings in _PHRASE_FIXES.items():
        for m in re.finditer(re.escape(phrase), hanzi):
            result[m.start(): m.end()] = readings
    if len(starts) != len(hanzi):
        starts = [True] * len(hanzi)
    return [to_numbered(r) or r for r in result], starts


def resolve(text: str, notes: list[Annotation]) -> list[Syllable]:
    """Syllables for a Chinese run that may contain annotation placeholders.

    Annotated characters take part in context resolution of their neighbours (they are real
    words) but keep the user's reading.
    """
    # Resolve characters with the annotated ones put back in place, for context.
    expanded = []
    for ch in text:
        if PLACEHOLDER_RE.match(ch):
            expanded.append(notes[ord(ch) - PLACEHOLDER_BASE].chars)
        elif _HANZI_RE.match(ch):
            expanded.append(ch)
        else:
            expanded.append("\n")
    readings: list[str] = []
    starts: list[bool] = []
    for chunk in "".join(expanded).split("\n"):
        if chunk:
            r, w = _resolve_words(chunk)
            readings.extend(r)
            starts.extend(w)
    out: list[Syllable] = []
    pos = 0
    for ch in text:
        if PLACEHOLDER_RE.match(ch):
            note = notes[ord(ch) - PLACEHOLDER_BASE]
            if note.chars:
                for k, (c, syl) in enumerate(zip(note.chars, note.syllables)):
                    out.append(Syllable(c, syl, "user", word_start=starts[pos + k]))
                pos += len(note.chars)
            else:
                out.append(Syllable("", note.syllables[0], "user"))
        elif _HANZI_RE.match(ch):
            out.append(Syllable(ch, readings[pos], "context", word_start=starts[pos]))
            pos += 1
        else:
            out.append(Syllable(ch, "", "literal"))
    return out
