"""Text front end: annotations → normalisation → sentences → language runs → pinyin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..errors import TextError
from .clean import check_script, strip_controls
from .normalize import normalize
from .pinyin import PLACEHOLDER_BASE, PLACEHOLDER_RE, Annotation, Syllable, extract_annotations, resolve
from .segment import Run, split_runs, split_sentences

__all__ = ["Analysis", "Run", "Sentence", "Syllable", "analyze", "normalize"]


@dataclass
class Sentence:
    text: str
    runs: list[Run] = field(default_factory=list)


@dataclass
class Analysis:
    """Everything the front end decided about a text: what the voices will actually read."""

    original: str
    normalized: str
    sentences: list[Sentence]

    @property
    def pinyin(self) -> list[str]:
        """Numbered pinyin of every Chinese syllable, in order."""
        return [s.pinyin for sent in self.sentences for r in sent.runs for s in r.syllables if s.pinyin]

    def pinyin_of(self, char: str, occurrence: int = 0) -> str:
        """The reading chosen for the ``occurrence``-th appearance of ``char``."""
        hits = [s.pinyin for sent in self.sentences for r in sent.runs for s in r.syllables if s.char == char]
        return hits[occurrence]


def _display(text: str, notes: list[Annotation]) -> str:
    def back(ch: str) -> str:
        note = notes[ord(ch) - PLACEHOLDER_BASE]
        return note.chars or note.syllables[0].upper()

    return PLACEHOLDER_RE.sub(lambda m: back(m[0]), text)


def analyze(text: str, max_sentence_chars: int = 220, *, max_chars: Optional[int] = None) -> Analysis:
    """Run the whole front end on ``text``; :class:`TextError` for text no voice can speak, or
    longer than the engine's ``max_chars``."""
    if max_chars is not None and len(text) > max_chars:
        raise TextError(f"This text has {len(text)} characters; the limit is {max_chars}. Please shorten it.",
                        f"这段文字有 {len(text)} 个字符，上限是 {max_chars}。请缩短。")
    check_script(text)
    marked, notes = extract_annotations(strip_controls(text))
    normalized = normalize(marked)
    sentences: list[Sentence] = []
    for raw in split_sentences(normalized, max_sentence_chars):
        runs = split_runs(raw)
        for run in runs:
            if run.lang == "zh":
                run.syllables = resolve(run.text, notes)
            run.text = _display(run.text, notes)
        if runs:
            sentences.append(Sentence(_display(raw, notes), runs))
    if not sentences:
        raise TextError("There is nothing to say in this text: write some words in English or Chinese.",
                        "这段文字里没有可以朗读的内容：请用英文或中文写几个字。")
    return Analysis(text, _display(normalized, notes), sentences)
