"""Parsing ``/say [as @user] [emotion [intensity]] [v=...] ["description"] [x1.1 | 3.2s] [--] text``.

``--`` ends the options: adapters with structured options (Discord) put the text after it so
words like "calm down" are never read as an emotion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from indextts_core.emotion import canonical_name
from indextts_core.engine import DurationSpec, EmotionSpec
from indextts_core.errors import InputError

from .errors import BadRequest

_QUOTED = re.compile(r'^(["“”«「『])(.+?)(["“”»」』])\s*')
_VECTOR = re.compile(r"^v=(\S+)")
_RATIO = re.compile(r"^(?:x|×)(\d+(?:\.\d+)?)$|^(\d+(?:\.\d+)?)x$", re.I)
_SECONDS = re.compile(r"^(\d+(?:\.\d+)?)\s?(?:s|sec|秒)$", re.I)
_NUMBER = re.compile(r"^(?:0(?:\.\d+)?|1(?:\.0+)?|\.\d+)$")
_AS = re.compile(r"^as\s+(@\S+)\s*", re.I)


@dataclass
class SayRequest:
    text: str
    emotion: Optional[EmotionSpec] = None
    duration: Optional[DurationSpec] = None
    as_mention: Optional[str] = None


def parse_say(args: str) -> SayRequest:
    """Split options off the front of ``args``; the rest is the text.  Raises :class:`BadRequest`."""
    rest = args.strip()
    emotion: Optional[EmotionSpec] = None
    duration: Optional[DurationSpec] = None
    as_mention = None
    try:
        m = _AS.match(rest)
        if m:
            as_mention, rest = m.group(1), rest[m.end():]
        while rest:
            if rest == "--" or rest.startswith("-- "):
                rest = rest[2:]
                break
            m = _QUOTED.match(rest)
            if m and emotion is None:
                emotion = EmotionSpec(description=m.group(2))
                rest = rest[m.end():]
                continue
            m = _VECTOR.match(rest)
            if m and emotion is None:
                values = [v for v in m.group(1).split(",") if v]
                emotion = EmotionSpec(vector=tuple(float(v) for v in values))
                rest = rest[m.end():].lstrip()
                continue
            token, _, after = rest.partition(" ")
            if duration is None and (r := _RATIO.match(token)):
                duration = DurationSpec(ratio=float(r.group(1) or r.group(2)))
                rest = after.lstrip()
                continue
            if duration is None and (s := _SECONDS.match(token)):
                duration = DurationSpec(seconds=float(s.group(1)))
                rest = after.lstrip()
                continue
            name = canonical_name(token) if emotion is None else None
            if name is not None and after.strip():
                intensity = 1.0
                nxt, _, after2 = after.lstrip().partition(" ")
                if _NUMBER.match(nxt):
                    intensity = float(nxt)
                    after = after2
                emotion = EmotionSpec(preset=name, intensity=intensity)
                rest = after.lstrip()
                continue
            break
    except InputError as exc:
        raise BadRequest(str(exc)) from exc
    except ValueError as exc:
        raise BadRequest("Emotion vectors look like v=0,1,0,0,0,0,0,0 (eight numbers from 0 to 1).") from exc
    return SayRequest(rest.strip(), emotion, duration, as_mention)
