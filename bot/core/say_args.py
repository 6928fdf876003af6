"""Parsing ``/say [as @user] [emotion] [v=...] ["description"] [x1.2 | 3.2s] [--] text``.

An emotion word at the start counts as an emotion only when it is *marked* as one, so
"/say calm down please" and "/say happy birthday to you" speak every word:

- followed by an intensity: ``angry 0.7 text``
- written ``angry: text``, ``(angry) text``, ``#angry text`` (full-width ``：`` and ``（）`` too)
- written ``emotion=angry`` (or ``e=angry``): always an emotion; an unknown name is refused

``x1.2`` is a *speed*, as in a media player: x1.2 is 20 % faster (shorter), x0.8 slower.
``--`` ends the options.  Clients with typed options (Discord's slash command and message
commands, read-aloud) do not write them as text: they pass a :class:`SayOptions`, which
:func:`request_from_options` checks under the same rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from indextts_core.emotion import canonical_name, preset_spec
from indextts_core.engine import MAX_RATIO, MIN_RATIO, DurationSpec, EmotionSpec
from indextts_core.errors import InputError

from .errors import BadRequest

_QUOTED = re.compile(r'^(["“”«「『])(.+?)(["“”»」』])\s*')
_VECTOR = re.compile(r"^v=(\S+)")
_SPEED = re.compile(r"^(?:x|×)(\d+(?:\.\d+)?)$|^(\d+(?:\.\d+)?)x$", re.I)
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)\s?(?:s|sec|秒)$", re.I)
_NUMBER = re.compile(r"^(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$")
#: Any number where an intensity would go (to tell one out of range from the text).
_ANY_NUMBER = re.compile(r"^[-+]?(?:\d+(?:[.,]\d+)?|[.,]\d+)$")
_AS = re.compile(r"^as\s+(@\S+)\s*", re.I)
_EXPLICIT = re.compile(r"^(?:emotion|e)=(\S+)\s*", re.I)
# "#angry", "(angry)", "（生气）", "angry:", "生气：" — the name is group 1, 2 or 3.
_MARKED = re.compile(r"^(?:#(\w+)|[(（](\w+)[)）]|(\w+)[:：])\s*")

#: Speeds a user may ask for: the engine's duration ratios, inverted.
MIN_SPEED = round(1 / MAX_RATIO, 2)  # 0.8
MAX_SPEED = round(1 / MIN_RATIO, 2)  # 1.33


@dataclass
class SayRequest:
    text: str
    emotion: Optional[EmotionSpec] = None
    duration: Optional[DurationSpec] = None
    as_mention: Optional[str] = None
    speed: Optional[float] = None  # as typed (x1.2), for replies that say what it did


@dataclass(frozen=True)
class SayOptions:
    """/say as a client with typed options sends it: every field as the user gave it, unchecked."""

    text: str
    emotion: Optional[str] = None  # a preset name, English or Chinese
    intensity: Optional[float] = None
    description: Optional[str] = None  # free-text emotion ("trembling with fear")
    speed: Optional[float] = None
    seconds: Optional[float] = None
    as_mention: Optional[str] = None  # "@<id>", a key of the invocation's mentions


def request_from_options(options: SayOptions) -> SayRequest:
    """Typed options → the request :func:`parse_say` would make of the same words; the text is
    only text (nothing in it is read as an option).  Raises :class:`BadRequest`."""
    emotion: Optional[EmotionSpec] = None
    try:
        if options.emotion:
            name = options.emotion.replace(" ", "")
            if canonical_name(name) is None:
                raise _unknown_emotion(options.emotion)
            emotion = preset_spec(name, 1.0 if options.intensity is None else options.intensity)
        elif options.description:
            emotion = EmotionSpec(description=options.description)
        duration: Optional[DurationSpec] = None
        if options.speed is not None:
            duration = speed_duration(options.speed)
        elif options.seconds is not None:
            duration = DurationSpec(seconds=options.seconds)
    except InputError as exc:
        raise BadRequest(str(exc), exc.message("zh")) from exc
    return SayRequest(options.text.strip(), emotion, duration, options.as_mention, options.speed)


def speed_duration(speed: float) -> DurationSpec:
    """``x1.2`` → a duration 1/1.2 of the natural length; outside the range a clear refusal."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise BadRequest(
            f"Speed x{speed:g} is out of range: use x{MIN_SPEED:g} (slower) to x{MAX_SPEED:g} (faster); x1 is natural.",
            f"语速 x{speed:g} 超出范围：可用 x{MIN_SPEED:g}（更慢）到 x{MAX_SPEED:g}（更快）；x1 为正常语速。")
    return DurationSpec(ratio=min(MAX_RATIO, max(MIN_RATIO, 1 / speed)))


def describe_speed(speed: float, language: str) -> str:
    """"speed x1.2 (20 % faster)" in the user's language."""
    pct = round(abs(speed - 1) * 100)
    if language == "zh":
        return f"语速 x{speed:g}（{'快' if speed > 1 else '慢'} {pct}%）" if pct else f"语速 x{speed:g}（正常）"
    return f"speed x{speed:g} ({pct} % {'faster' if speed > 1 else 'slower'})" if pct else f"speed x{speed:g} (natural)"


def _bad_intensity(name: str, number: str) -> BadRequest:
    return BadRequest(f"An intensity goes from 0 to 1, like {name} 0.7 — {number} is outside it. To say those words "
                      f"aloud instead, put -- before them: /say -- {name} {number} …",
                      f"强度在 0 到 1 之间，例如 {name} 0.7——{number} 超出了范围。如果想把这些字读出来，"
                      f"请在前面加 --：/say -- {name} {number} ……")


def _no_words(name: str, number: str) -> BadRequest:
    return BadRequest(f"There is nothing to say after {name} {number}: put the words after the intensity, like "
                      f"/say {name} {number} Hello there!",
                      f"{name} {number} 后面没有要说的内容：请把文字放在强度后面，例如 /say {name} {number} 你好！")


def _unknown_emotion(name: str) -> BadRequest:
    return BadRequest(f"Unknown emotion {name!r}. Send /emotions for the list of 8.",
                      f"未知情绪 {name!r}。发送 /emotions 查看 8 种情绪。")


def parse_say(args: str) -> SayRequest:
    """Split options off the front of ``args``; the rest is the text.  Raises :class:`BadRequest`."""
    rest = args.strip()
    emotion: Optional[EmotionSpec] = None
    duration: Optional[DurationSpec] = None
    speed: Optional[float] = None
    as_mention = None
    try:
        m = _AS.match(rest)
        if m:
            as_mention, rest = m.group(1), rest[m.end():]
        while rest:
            if rest == "--" or rest.startswith("-- "):
                rest = rest[2:]
                break
            if emotion is None and (m := _EXPLICIT.match(rest)):
                name = m.group(1)
                if canonical_name(name) is None:
                    raise _unknown_emotion(name)
                rest = rest[m.end():]
                emotion, rest = _with_intensity(name, rest)
                continue
            if emotion is None and (m := _QUOTED.match(rest)):
                emotion = EmotionSpec(description=m.group(2))
                rest = rest[m.end():]
                continue
            if emotion is None and (m := _VECTOR.match(rest)):
                values = [v for v in m.group(1).split(",") if v]
                emotion = EmotionSpec(vector=tuple(float(v) for v in values))
                rest = rest[m.end():].lstrip()
                continue
            if emotion is None and (m := _MARKED.match(rest)):
                name = next(g for g in m.groups() if g)
                if canonical_name(name) is not None:
                    emotion, rest = _with_intensity(name, rest[m.end():])
                    continue
            token, _, after = rest.partition(" ")
            if duration is None and (r := _SPEED.match(token)):
                speed = float(r.group(1) or r.group(2))
                duration = speed_duration(speed)
                rest = after.lstrip()
                continue
            if duration is None and (s := _SECONDS.match(token)):
                duration = DurationSpec(seconds=float(s.group(1)))
                rest = after.lstrip()
                continue
            if emotion is None and canonical_name(token) is not None:
                nxt, _, after2 = after.lstrip().partition(" ")
                if _NUMBER.match(nxt) and after2.strip():  # "angry 0.7 text": the number marks it
                    emotion = EmotionSpec(preset=canonical_name(token), intensity=float(nxt))
                    rest = after2.lstrip()
                    continue
                # "angry 5 hello", "angry 1.5 …": meant as an intensity, not words to read out;
                # "angry 0.5" alone: an intensity with nothing to say.
                if _ANY_NUMBER.match(nxt) and not _NUMBER.match(nxt):
                    raise _bad_intensity(token, nxt)
                if _NUMBER.match(nxt) and not after2.strip():
                    raise _no_words(token, nxt)
            break
    except InputError as exc:
        raise BadRequest(str(exc), exc.message("zh")) from exc
    except ValueError as exc:
        raise BadRequest("Emotion vectors look like v=0,1,0,0,0,0,0,0 (eight numbers from 0 to 1).",
                         "情绪向量的写法是 v=0,1,0,0,0,0,0,0（8 个 0 到 1 之间的数）。") from exc
    return SayRequest(rest.strip(), emotion, duration, as_mention, speed)


def _with_intensity(name: str, rest: str) -> tuple[EmotionSpec, str]:
    """A marked emotion name, with the intensity that may follow it."""
    nxt, _, after = rest.lstrip().partition(" ")
    if _ANY_NUMBER.match(nxt) and not _NUMBER.match(nxt):
        raise _bad_intensity(name, nxt)
    if _NUMBER.match(nxt):
        if not after.strip():
            raise _no_words(name, nxt)
        return preset_spec(name, float(nxt)), after.lstrip()
    return preset_spec(name, 1.0), rest.lstrip()
