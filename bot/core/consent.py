"""Spoken consent: a sentence with a random code, checked by offline speech recognition.

The recording that says the sentence is also the clone reference, so the voice that is cloned
is the voice that agreed.
"""

from __future__ import annotations

import difflib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

import numpy as np

if TYPE_CHECKING:
    from .asr import Transcriber

DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
ZH_DIGITS = "零一二三四五六七八九"
# After the code word, ASR homophones count as digits (Whisper tiny writes "eight three" as "A3",
# Whisper base may write 七 as 期).
_WORD_TO_DIGIT = {w: str(i) for i, w in enumerate(DIGIT_WORDS)} | {
    "oh": "0", "o": "0", "to": "2", "too": "2", "for": "4", "ate": "8", "a": "8"}
# Chinese is compared by toneless pinyin: Whisper base writes what it hears with any character of
# the right sound (验证码 came back as 严正马 and 研究码, 六 as 留, 八 as 巴).
_ZH_TO_DIGIT = {str(i): str(i) for i in range(10)} | {
    "ling": "0", "yi": "1", "yao": "1", "er": "2", "liang": "2", "san": "3", "si": "4", "wu": "5",
    "liu": "6", "qi": "7", "ba": "8", "jiu": "9", "r": "2"}  # "439R": 二 er heard as the letter R
_ZH_KEYWORD = ("yan", "zheng", "ma")
#: Sounds one edit from a digit that are words of their own around numbers (号 "number").
_ZH_NOT_DIGITS = {"hao"}
CONSENT_TEMPLATES = {
    # "Code: seven, four, …": the pauses keep each digit apart (without them Whisper merged "code
    # eight" into "coded" and "code it"), in Chinese the 、 does the same.
    "en": "I agree that my voice can be used by this bot to make a synthetic copy. Code: {code}.",
    "zh": "我同意这个机器人用我的声音制作合成副本。验证码：{code}。",
}
#: The one threshold for how closely the sentence before the code must be read (both languages).
MIN_SENTENCE_MATCH = 0.75
_CODE = "<code>"
_ZH_VALUES = {c: i for i, c in enumerate(ZH_DIGITS)} | {"〇": 0, "两": 2}
_ZH_NUMERALS = "".join(_ZH_VALUES)
_ZH_NUMBER = re.compile(rf"[{_ZH_NUMERALS}十百千万]*[十百千万][{_ZH_NUMERALS}十百千万]*")
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}


def new_code() -> str:
    """A random 4-digit code with no digit said twice in a row.

    "six six six six" is easy to miscount, for people and for Whisper alike (it heard "666");
    7,290 codes remain, plenty for a liveness check.
    """
    digits = [secrets.choice("0123456789")]
    while len(digits) < 4:
        digits.append(secrets.choice([d for d in "0123456789" if d != digits[-1]]))
    return "".join(digits)


def consent_sentence(code: str, language: str = "en") -> str:
    """The sentence to read, the code spelled out: "... Code: seven, four, two, nine." / "……验证码：七、四、二、九。"."""
    if language == "zh":
        return CONSENT_TEMPLATES["zh"].format(code="、".join(ZH_DIGITS[int(d)] for d in code))
    return CONSENT_TEMPLATES["en"].format(code=", ".join(DIGIT_WORDS[int(d)] for d in code))


def _english_tokens(text: str) -> list[str]:
    text = text.lower()
    text = re.sub(r"\d", lambda m: f" {DIGIT_WORDS[int(m.group(0))]} ", text)
    return [_CODE if w == "code" else w for w in re.findall(r"[a-z']+", text)]


def _zh_number(chars: str) -> str:
    """"七千四百二十九" → "7429" (a code read as one number)."""
    total = section = digit = 0
    for ch in chars:
        unit = _ZH_UNITS.get(ch)
        if unit is None:
            digit = _ZH_VALUES[ch]
        elif unit == 10000:
            total += (section + digit) * unit
            section = digit = 0
        else:
            section += (digit or 1) * unit
            digit = 0
    return str(total + section + digit)


def _chinese_tokens(text: str) -> list[str]:
    """Toneless pinyin per character, digits as digits (numbers with units first turned into
    digits), and the code word 验证码 — or any three syllables sounding two-thirds like it — as one token."""
    from pypinyin import lazy_pinyin

    text = _ZH_NUMBER.sub(lambda m: _zh_number(m.group(0)), text)
    syllables = [t.lower() if t.isascii() else lazy_pinyin(t)[0] for t in re.findall(r"[\u4e00-\u9fff0-9]|[A-Za-z]+", text)]
    tokens: list[str] = []
    i = 0
    while i < len(syllables):
        window = tuple(syllables[i:i + 3])
        if len(window) == 3 and sum(a == b for a, b in zip(window, _ZH_KEYWORD)) >= 2:
            tokens.append(_CODE)
            i += 3
        else:
            tokens.append(syllables[i])
            i += 1
    return tokens


@dataclass(frozen=True)
class ConsentCheck:
    accepted: bool
    score: float  # similarity of the transcript to the sentence, 0..1
    code_heard: str
    transcript: str


def check_recording(transcriber: "Transcriber", code: str, samples: np.ndarray, rate: int, language: str) -> ConsentCheck:
    """Transcribe a consent clip and check it; a clip that fails gets one second listen.

    Either transcript must pass :func:`check_transcript` on its own, so the rules stay as strict;
    measured in bench/consent.py (first try, with the second listen).
    """
    first = check_transcript(code, transcriber.transcribe(samples, rate, language), language)
    if first.accepted:
        return first
    second = check_transcript(code, transcriber.transcribe(samples, rate, language, second_opinion=True), language)
    return second if second.accepted else first


def _zh_digit(syllable: str) -> Optional[str]:
    """A digit for a syllable: its own, or the one digit it is a single sound away from
    (散 suan → 3, 入 ru → 5); None when it is near none or near several."""
    if syllable in _ZH_TO_DIGIT:
        return _ZH_TO_DIGIT[syllable]
    if len(syllable) < 2 or not syllable.isalpha() or syllable in _ZH_NOT_DIGITS:
        return None
    near = {d for s, d in _ZH_TO_DIGIT.items() if len(s) > 1 and _one_edit(s, syllable)}
    return near.pop() if len(near) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _digit_runs(tokens: list[str], to_digit: Callable[[str], Optional[str]], wildcard: bool = False) -> list[str]:
    """Maximal runs of digit tokens (homophones included) in order of appearance.

    With ``wildcard``, an unrecognised token next to digits — first, between two digits, or last
    — stays in the run as ``?`` (see :func:`code_matches`, which allows one) instead of ending it.
    """
    digits = [to_digit(t) for t in tokens]
    runs: list[str] = []
    current = ""
    for i, d in enumerate(digits):
        if d is not None:
            current += d
            continue
        follows = i + 1 == len(digits) or digits[i + 1] is not None
        if wildcard and (current or i == 0) and not current.endswith("?") and follows:
            current += "?"
            continue
        if current:
            runs.append(current)
            current = ""
    if current:
        runs.append(current)
    return runs


def check_transcript(code: str, transcript: str, language: str = "en") -> ConsentCheck:
    """Accept when the code is heard after the code word ("code", 验证码), nothing else digit-like
    is said after it, and the sentence before it matches closely.

    A recording cannot cover many codes at once: what follows the code word must be one run of
    digits as long as the code (misheard digits: see :func:`code_matches`), the code word is
    said once, and no second run of digits follows.
    English is compared word by word, Chinese syllable by syllable (toneless pinyin).
    """
    zh = language == "zh"
    tokenize, to_digit = (_chinese_tokens, _zh_digit) if zh else (_english_tokens, _WORD_TO_DIGIT.get)
    tokens = tokenize(transcript)
    expected = tokenize(consent_sentence(code, language))
    body_expected = expected[:expected.index(_CODE)]
    if tokens.count(_CODE) > 1:
        return ConsentCheck(False, 0.0, "", transcript)
    # Digits said after the code word (without it, the last few tokens) are compared with the code.
    start = tokens.index(_CODE) + 1 if _CODE in tokens else max(0, len(tokens) - (len(code) + 2))
    runs = _digit_runs(tokens[start:], to_digit, wildcard=zh)
    heard = runs[0] if len(runs) == 1 else "".join(runs)
    body = [t for t in tokens[:start] if t != _CODE and (zh or t not in DIGIT_WORDS)]
    score = difflib.SequenceMatcher(None, body_expected, body).ratio()
    accepted = len(runs) == 1 and code_matches(code, heard) and score >= MIN_SENTENCE_MATCH
    return ConsentCheck(accepted, round(score, 3), heard, transcript)


def code_matches(code: str, heard: str) -> bool:
    """The one place that says which misheard codes still count, in every language.

    Codes never repeat a digit back to back (:func:`new_code`), so a doubled digit in what was
    heard is the recogniser's stutter and is collapsed ("one zero six two" → "10062" → "1062").
    One ``?`` — a sound where a digit was said that matches no digit, marked by the tokenizer —
    may stand for any digit.  Nothing else: never a different digit, a missing one or an extra
    one, so a recording made for one code does not pass for another (bench/consent.py: 0 of
    4,000 wrong codes accepted).
    """
    collapsed = re.sub(r"(\d)\1+", r"\1", heard)
    if collapsed.endswith("?") and len(collapsed) == len(code) + 1:
        collapsed = collapsed[:-1]  # a word after the code, not a digit
    if len(collapsed) != len(code) or collapsed.count("?") > 1:
        return False
    return all(h in ("?", c) for h, c in zip(collapsed, code))
