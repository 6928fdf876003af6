"""Text normalisation: numbers, dates, times, currency, percentages and units become words.

Every rule reads its match in English or Mandarin depending on the script around it, so
``5 km`` says "five kilometers" and ``跑了5km`` says 五公里.
"""

from __future__ import annotations

import re
from typing import Callable

from .numbers import (
    en_cardinal, en_decimal, en_digits, en_ordinal, en_year,
    zh_cardinal, zh_decimal, zh_digits,
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_MONTHS = (
    "January February March April May June July August September October November December"
).split()

# unit: (english singular, english plural, chinese)
_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour", "公里每小时"),
    "mph": ("mile per hour", "miles per hour", "英里每小时"),
    "km": ("kilometer", "kilometers", "公里"),
    "cm": ("centimeter", "centimeters", "厘米"),
    "mm": ("millimeter", "millimeters", "毫米"),
    "m": ("meter", "meters", "米"),
    "kg": ("kilogram", "kilograms", "公斤"),
    "mg": ("milligram", "milligrams", "毫克"),
    "g": ("gram", "grams", "克"),
    "ml": ("milliliter", "milliliters", "毫升"),
    "l": ("liter", "liters", "升"),
    "L": ("liter", "liters", "升"),
    "°C": ("degree Celsius", "degrees Celsius", "摄氏度"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit", "华氏度"),
    "℃": ("degree Celsius", "degrees Celsius", "摄氏度"),
    "TB": ("terabyte", "terabytes", "TB"),
    "GB": ("gigabyte", "gigabytes", "GB"),
    "MB": ("megabyte", "megabytes", "MB"),
    "KB": ("kilobyte", "kilobytes", "KB"),
    "kb": ("kilobyte", "kilobytes", "KB"),
    "h": ("hour", "hours", "小时"),
    "min": ("minute", "minutes", "分钟"),
    "s": ("second", "seconds", "秒"),
    "ms": ("millisecond", "milliseconds", "毫秒"),
}
# currency symbol: (singular, plural, cent singular, cent plural, chinese)
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents", "美元"),
    "€": ("euro", "euros", "cent", "cents", "欧元"),
    "£": ("pound", "pounds", "penny", "pence", "英镑"),
    "¥": ("yuan", "yuan", "fen", "fen", "元"),
    "￥": ("yuan", "yuan", "fen", "fen", "元"),
}
_SYMBOLS_EN = {"&": " and ", "+": " plus ", "=": " equals ", "@": " at ", "#": " number "}
_SYMBOLS_ZH = {"&": "和", "+": "加", "=": "等于", "@": "艾特", "#": "井号"}


def is_cjk(ch: str) -> bool:
    return bool(_CJK.match(ch))


def _is_zh_context(text: str, start: int, end: int) -> bool:
    """True when the nearest letters around ``text[start:end]`` are Chinese characters."""
    for i in range(start - 1, -1, -1):
        ch = text[i]
        if ch.isalpha():
            return is_cjk(ch)
        if ch in "。，！？；：、":
            return True
    for i in range(end, len(text)):
        ch = text[i]
        if ch.isalpha():
            return is_cjk(ch)
        if ch in "。，！？；：、":
            return True
    return False


def _number(text: str, zh: bool) -> str:
    text = text.replace(",", "")
    if "." in text:
        return zh_decimal(text) if zh else en_decimal(text)
    if len(text) > 1 and text.startswith("0") or len(text) >= 9:
        return zh_digits(text) if zh else en_digits(text)
    return zh_cardinal(int(text)) if zh else en_cardinal(int(text))


Rule = tuple[re.Pattern[str], Callable[[re.Match[str], bool], str]]


def _date(m: re.Match[str], zh: bool) -> str:
    """Named groups y, mo, d, whatever order the pattern found them in."""
    y, mo, d = int(m["y"]), int(m["mo"]), int(m["d"])
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return m[0]
    if zh:
        return f"{zh_digits(m['y'])}年{zh_cardinal(mo)}月{zh_cardinal(d)}日"
    return f"{_MONTHS[mo - 1]} {en_ordinal(d)}, {en_year(y)}"


def _time(m: re.Match[str], zh: bool) -> str:
    h, mi = int(m["h"]), int(m["mi"])
    if h > 24 or mi > 59:
        return m[0]
    ampm = (m["ampm"] or "").lower().replace(".", "")
    if zh:
        prefix = {"am": "上午", "pm": "下午"}.get(ampm, "")
        return prefix + f"{zh_cardinal(h)}点" + (f"{zh_cardinal(mi)}分" if mi else "")
    if mi == 0:
        words = en_cardinal(h) + (" o'clock" if not ampm else "")
    elif mi < 10:
        words = f"{en_cardinal(h)} oh {en_cardinal(mi)}"
    else:
        words = f"{en_cardinal(h)} {en_cardinal(mi)}"
    return words + (" " + " ".join(ampm.upper()) if ampm else "")


def _currency(m: re.Match[str], zh: bool) -> str:
    one, many, cent, cents, zh_name = _CURRENCIES[m["cur"]]
    amount = m["amt"].replace(",", "")
    scale = (m["scale"] or "").lower()
    if zh:
        big = {"k": "千", "m": "百万", "bn": "十亿", "b": "十亿"}.get(scale, "")
        return _number(amount, True) + big + zh_name
    if scale:
        big = {"k": "thousand", "m": "million", "bn": "billion", "b": "billion"}[scale]
        return f"{_number(amount, False)} {big} {many}"
    whole, _, frac = amount.partition(".")
    n = int(whole or "0")
    words = f"{en_cardinal(n)} {one if n == 1 else many}"
    if frac:
        c = int((frac + "0")[:2])
        if c:
            words += f" and {en_cardinal(c)} {cent if c == 1 else cents}"
    return words


def _percent(m: re.Match[str], zh: bool) -> str:
    return "百分之" + _number(m["n"], True) if zh else _number(m["n"], False) + " percent"


def _unit(m: re.Match[str], zh: bool) -> str:
    one, many, zh_name = _UNITS[m["unit"]]
    if zh:
        return _number(m["n"], True) + zh_name
    return f"{_number(m['n'], False)} {one if m['n'] == '1' else many}"


def _ordinal(m: re.Match[str], zh: bool) -> str:
    return "第" + zh_cardinal(int(m["n"])) if zh else en_ordinal(int(m["n"]))


def _zh_year(m: re.Match[str], zh: bool) -> str:
    return zh_digits(m["y"])


def _plain_number(m: re.Match[str], zh: bool) -> str:
    return _number(m["n"], zh)


def _minus(m: re.Match[str], zh: bool) -> str:
    return "负" if zh else "minus "


_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

_RULES: list[Rule] = [
    (re.compile(r"(?<![A-Za-z0-9.])-(?=\d)"), _minus),
    (re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?!\d)"), _date),
    (re.compile(r"(?<!\d)(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?!\d)"), _date),
    (re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<mi>\d{2})(?![\d:])(?:\s*(?P<ampm>[ap]m\b|[ap]\.m\.))?", re.I), _time),
    (re.compile(r"(?P<cur>[$€£¥￥])\s?(?P<amt>" + _NUM + r")(?:\s?(?P<scale>bn|[kKmMbB])\b)?"), _currency),
    (re.compile(r"(?P<n>" + _NUM + r")\s?%"), _percent),
    (re.compile(r"(?P<n>" + _NUM + r")\s?(?P<unit>" + _UNIT_ALT + r")(?![A-Za-z])"), _unit),
    (re.compile(r"(?<!\d)(?P<n>\d+)(?:st|nd|rd|th)\b"), _ordinal),
    (re.compile(r"(?<!\d)(?P<y>\d{4})(?=年)"), _zh_year),
    (re.compile(r"(?P<n>" + _NUM + r")"), _plain_number),
]

#: English abbreviations as people say them (the dot is not a sentence end: see segment.split_sentences).
ABBREVIATIONS = {
    "dr": "Doctor", "mr": "Mister", "mrs": "Missus", "ms": "Miz", "prof": "Professor", "jr": "Junior", "sr": "Senior",
    "vs": "versus", "etc": "et cetera", "e.g": "for example", "i.e": "that is", "approx": "approximately",
    "mt": "Mount", "dept": "department", "fig": "figure", "vol": "volume", "no": "number", "nos": "numbers",
}
#: Those read so only before a number ("No. 5"), where the dot cannot end a sentence.
_BEFORE_NUMBERS = {"no", "nos", "fig", "vol"}
_ABBREVIATION = re.compile(r"(?<![\w.])(?P<word>" + "|".join(re.escape(a) for a in sorted(ABBREVIATIONS, key=len, reverse=True))
                           + r")\.(?P<after>\s*(?P<next>\S?))", re.I)
#: Initialisms with dots (U.S., U.K., a.m.): letters read one by one.
_INITIALISM = re.compile(r"(?<![\w.])(?P<letters>(?:[A-Za-z]\.){2,})(?=\s|$|[,;:!?)])")


def _abbreviations(text: str) -> str:
    def expand(m: re.Match[str]) -> str:
        word, after, nxt = m.group("word").lower(), m.group("after"), m.group("next")
        if word in _BEFORE_NUMBERS and not nxt.isdigit():
            return m.group(0)  # "no." in "say no." is a word, not "number"
        # "etc." last in the text, or before a capital, still ends its sentence.
        ends = word not in _BEFORE_NUMBERS and (nxt == "" or (word == "etc" and nxt.isupper()))
        return ABBREVIATIONS[word] + ("." if ends else "") + after

    text = _ABBREVIATION.sub(expand, text)
    return _INITIALISM.sub(lambda m: " ".join(m.group("letters").replace(".", "").upper())
                           if m.group("letters").lower() not in ("a.m.", "p.m.") else m.group(0), text)


_FULLWIDTH = {c: c - 0xFEE0 for c in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B)) + list(range(0xFF41, 0xFF5B))}
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def _apply(rule: Rule, text: str) -> str:
    pattern, reader = rule
    out = []
    last = 0
    for m in pattern.finditer(text):
        zh = _is_zh_context(text, m.start(), m.end())
        words = reader(m, zh)
        if not zh and m.start() > 0 and text[m.start() - 1].isalnum():
            words = " " + words
        out.append(text[last:m.start()])
        out.append(words)
        last = m.end()
    out.append(text[last:])
    return "".join(out)


def _symbols(text: str) -> str:
    out = []
    for i, ch in enumerate(text):
        if ch in _SYMBOLS_EN:
            out.append(_SYMBOLS_ZH[ch] if _is_zh_context(text, i, i + 1) else _SYMBOLS_EN[ch])
        else:
            out.append(ch)
    return "".join(out)


def normalize(text: str) -> str:
    """Return ``text`` with numbers, dates, units and symbols written out as words."""
    # Fold full-width digits and letters (０-９, Ａ-ｚ) but keep Chinese punctuation as typed.
    text = text.translate(_FULLWIDTH)
    text = _abbreviations(text)
    for rule in _RULES:
        text = _apply(rule, text)
    text = _symbols(text)
    return _SPACES.sub(" ", text).strip()
