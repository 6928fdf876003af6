"""Reading numbers aloud in English and Mandarin."""

from __future__ import annotations

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_UNITS = ("", "十", "百", "千")
_ZH_BIG = ((10**12, "兆"), (10**8, "亿"), (10**4, "万"))


def _en_below_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words.append(_ONES[n // 100] + " hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + ("-" + _ONES[n % 10] if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def en_cardinal(n: int) -> str:
    """``1234`` → ``one thousand two hundred thirty-four``."""
    if n < 0:
        return "minus " + en_cardinal(-n)
    if n < 1000:
        return _en_below_thousand(n)
    if n >= 10**15:
        return en_digits(str(n))
    parts = []
    for scale, name in _SCALES:
        if n >= scale:
            parts.append(en_cardinal(n // scale) + " " + name)
            n %= scale
    if n:
        parts.append(_en_below_thousand(n))
    return " ".join(parts)


def en_ordinal(n: int) -> str:
    """``21`` → ``twenty-first``."""
    words = en_cardinal(n)
    head, sep, last = words.rpartition("-") if "-" in words.split(" ")[-1] else words.rpartition(" ")
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return head + sep + last


def en_digits(digits: str) -> str:
    """Read digit by digit: ``007`` → ``zero zero seven``."""
    return " ".join(_ONES[int(d)] for d in digits if d.isdigit())


def en_year(n: int) -> str:
    """``1999`` → ``nineteen ninety-nine``; ``2005`` → ``two thousand five``."""
    if 2000 <= n < 2010 or n % 1000 == 0 or not 1000 <= n < 10000:
        return en_cardinal(n)
    hi, lo = divmod(n, 100)
    if lo == 0:
        return en_cardinal(hi) + " hundred"
    return en_cardinal(hi) + " " + ("oh " + _ONES[lo] if lo < 10 else en_cardinal(lo))


def en_decimal(text: str) -> str:
    """``3.14`` → ``three point one four``."""
    whole, _, frac = text.partition(".")
    out = en_cardinal(int(whole or "0"))
    return out + (" point " + en_digits(frac) if frac else "")


def _zh_below_10000(n: int, pad: bool) -> str:
    """Read 0 < n < 10000; ``pad`` says a higher group precedes, so leading zeros read as 零."""
    digits = f"{n:04d}"
    out = []
    zero = False
    started = False
    for i, d in enumerate(digits):
        v = int(d)
        if v == 0:
            zero = started or pad
            continue
        if zero:
            out.append("零")
        zero = False
        started = True
        out.append(_ZH_DIGITS[v] + _ZH_UNITS[3 - i])
    return "".join(out)


def zh_cardinal(n: int) -> str:
    """``1205`` → ``一千二百零五``; ``12`` → ``十二``."""
    if n < 0:
        return "负" + zh_cardinal(-n)
    if n == 0:
        return "零"
    if n >= 10**16:
        return zh_digits(str(n))
    out = []
    pad = False
    for scale, name in _ZH_BIG + ((1, ""),):
        group = n // scale
        n %= scale
        if group:
            if pad and group < 1000:
                out.append("零")
            out.append(_zh_below_10000(group, False) + name)
            pad = True
        elif pad and n:
            pass
    text = "".join(out)
    # 零 runs collapse; "一十" at the very start reads "十".
    while "零零" in text:
        text = text.replace("零零", "零")
    if text.startswith("一十"):
        text = text[1:]
    return text


def zh_digits(digits: str) -> str:
    """Digit by digit: ``110`` → ``一一零`` (phone numbers, years)."""
    return "".join(_ZH_DIGITS[int(d)] for d in digits if d.isdigit())


def zh_decimal(text: str) -> str:
    """``3.14`` → ``三点一四``."""
    whole, _, frac = text.partition(".")
    out = zh_cardinal(int(whole or "0"))
    return out + ("点" + zh_digits(frac) if frac else "")
