"""Splitting normalised text into sentences, and sentences into language runs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .pinyin import HANZI, PLACEHOLDER_RE, Syllable

_ZH_CHAR = re.compile(f"[{HANZI}\ue000-\uefff]")
_LATIN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]")
# Chinese punctuation ends a sentence where it stands; a Latin one only before a space or the end
# ("3.5", "e.g." inside a word are no ends), and not after an abbreviation (:func:`_joined`).
_SENTENCE_END = re.compile(r"(?<=[。！？；…])[\"'”’）)]*\s*|(?<=[.!?;])[\"'”’）)]*(?:\s+|$)|\n+")
#: Words whose dot never ends a sentence (titles, "e.g."), ends one only before a capital ("etc.",
#: "p.m."), or is no end only before a number ("No. 5").
_NEVER_END = {"mr", "mrs", "ms", "dr", "prof", "jr", "sr", "st", "mt", "vs", "e.g", "i.e", "approx", "dept", "cf", "ca"}
_END_BEFORE_CAPITAL = {"etc", "a.m", "p.m"}
_NO_END_BEFORE_NUMBER = {"no", "nos", "fig", "vol"}
_INITIALS = re.compile(r"(?:^|\s)(?:[A-Za-z]\.)*[A-Za-z]\.$")  # "U.S.", "J."
_SOFT_BREAK = re.compile(r"(?<=[,，、:：])\s*")
ZH_PUNCT_TO_ASCII = str.maketrans({"，": ",", "。": ".", "！": "!", "？": "?", "；": ";", "：": ":", "、": ",", "…": "..."})


@dataclass
class Run:
    """A stretch of one language inside a sentence."""

    lang: str  # "zh" or "en"
    text: str
    syllables: list[Syllable] = field(default_factory=list)

    def speakable(self) -> str:
        """What the backend voice reads: numbered pinyin for Chinese, the words for English."""
        if self.lang == "en":
            return self.text
        parts: list[str] = []
        for s in self.syllables:
            if s.pinyin:
                parts.append(s.pinyin)
            elif s.char.strip():
                parts.append(s.char.translate(ZH_PUNCT_TO_ASCII))
        return re.sub(r"\s+([,.!?;:])", r"\1", " ".join(parts)).strip()


def split_sentences(text: str, max_chars: int = 220) -> list[str]:
    """Sentences, with over-long ones cut at commas (then at spaces) near ``max_chars``."""
    out: list[str] = []
    for sentence in _joined(_SENTENCE_END.split(text)):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        piece = ""
        for part in _SOFT_BREAK.split(sentence):
            if piece and len(piece) + len(part) > max_chars:
                out.append(piece.strip())
                piece = ""
            while len(part) > max_chars:
                cut = part.rfind(" ", 0, max_chars)
                cut = cut if cut > max_chars // 2 else max_chars
                out.append(part[:cut].strip())
                part = part[cut:]
            piece += part
        if piece.strip():
            out.append(piece.strip())
    return out


def _joined(pieces: list[str]) -> list[str]:
    """Pieces cut after an abbreviation or an initial ("Dr.", "e.g.", "U.S.", "J.") joined to the
    next: their dot is no sentence end."""
    out: list[str] = []
    carry = ""
    for i, piece in enumerate(pieces):
        piece = carry + piece
        carry = ""
        stripped = piece.rstrip()
        words = stripped.split()
        last = words[-1].lower().rstrip(".") if words else ""
        nxt = next((p.lstrip()[:1] for p in pieces[i + 1:] if p.strip()), "")
        if last in _END_BEFORE_CAPITAL:
            no_end = not nxt.isupper()
        elif last in _NO_END_BEFORE_NUMBER:
            no_end = nxt.isdigit()
        else:
            no_end = last in _NEVER_END or bool(_INITIALS.search(stripped))
        if stripped.endswith(".") and nxt and no_end:
            carry = stripped + " "
            continue
        out.append(piece)
    if carry:
        out.append(carry)
    return out


def split_runs(sentence: str) -> list[Run]:
    """Cut a sentence where the script changes; digits and punctuation stay with their neighbours."""
    runs: list[Run] = []
    for ch in sentence:
        lang = "zh" if _ZH_CHAR.match(ch) else "en" if _LATIN.match(ch) else None
        if lang is None or (runs and runs[-1].lang == lang):
            if runs:
                runs[-1].text += ch
            else:
                runs.append(Run("", ch))
            continue
        if runs and runs[-1].lang == "":
            runs[-1].lang = lang
            runs[-1].text += ch
        else:
            runs.append(Run(lang, ch))
    out = [r for r in runs if r.lang and (r.text.strip(" ,.;:，。、") or PLACEHOLDER_RE.search(r.text))]
    for r in out:
        r.text = r.text.strip()
    return out
