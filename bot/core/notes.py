"""Splitting a long text into voice notes: whole sentences, each comfortably under a minute,
the first one short so it can be sent within a couple of seconds."""

from __future__ import annotations

from indextts_core.frontend.normalize import is_cjk
from indextts_core.frontend.segment import split_sentences

#: Natural reading speed of the voices (characters per second), on the slow side on purpose.
EN_CHARS_PER_S = 14.0
ZH_CHARS_PER_S = 4.0
FIRST_NOTE_S = 8.0
MAX_NOTE_S = 40.0  # slow emotions stretch speech by up to ~1.3×: still under a minute


def estimate_seconds(text: str, stretch: float = 1.0) -> float:
    """Rough spoken length of ``text`` (``stretch`` > 1 for slower speech)."""
    zh = sum(1 for ch in text if is_cjk(ch))
    return stretch * (zh / ZH_CHARS_PER_S + (len(text) - zh) / EN_CHARS_PER_S)


def plan_notes(text: str, stretch: float = 1.0, first_s: float = FIRST_NOTE_S, max_s: float = MAX_NOTE_S) -> list[str]:
    """Group sentences into notes: the first up to ``first_s``, the others up to ``max_s`` seconds.

    A single sentence longer than a note is cut at commas (then spaces) by the front end's splitter.
    """
    max_chars = max(40, int(max_s / stretch * EN_CHARS_PER_S))
    sentences = [s for s in split_sentences(text, max_chars=max_chars) if s.strip()]
    notes: list[str] = []
    current = ""
    for sentence in sentences:
        joiner = "" if current and is_cjk(current[-1]) or is_cjk(sentence[0]) else " "
        candidate = (current + joiner + sentence).strip() if current else sentence
        budget = first_s if not notes else max_s
        if current and estimate_seconds(candidate, stretch) > budget:
            notes.append(current)
            current = sentence
        else:
            current = candidate
    if current:
        notes.append(current)
    return notes
