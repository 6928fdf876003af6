"""HMAC seals on everything that crosses Redis: jobs, results and worker registrations.

Whoever can reach Redis can write to it, so without a seal anyone there could post a forged voice
note into any chat, hand the bot a forged voice profile as a "clone", or register as a worker and
receive every job.  The bot and its workers share one secret from the environment
(``VOICEBOT_QUEUE_SECRET``); a message without a valid seal is refused and logged.

A seal binds the message to its purpose, its job id and the moment it was sealed (HMAC-SHA256 over
all three and the payload), so a sealed job cannot be replayed as a result, nor one job's result
as another's, and whoever opens it can refuse one older than it could honestly be (a copy of a
stopped worker's registration, a job or a result kept aside and written back later).  It proves origin,
not secrecy: Redis still sees the texts and recordings, which is why README asks for a password,
TLS and a private network as well.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from typing import Optional

#: Where the shared secret comes from, and its shortest accepted length (32 characters: 128+ bits
#: from ``secrets.token_hex(32)``, which README suggests).
SECRET_ENV = "VOICEBOT_QUEUE_SECRET"
MIN_SECRET_CHARS = 32
_MAC = 32  # bytes of HMAC-SHA256
_AT = struct.Struct(">Q")  # when it was sealed, in milliseconds since the epoch
#: Clocks of the bot and its workers may differ this much (a message "from the future" beyond it is refused).
CLOCK_SKEW_S = 60.0


class Forged(ValueError):
    """A message whose seal is missing or wrong (not from a holder of the secret), or older than
    its purpose allows (a replay)."""


class Sealer:
    """Seals and opens messages with the deployment's shared secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters")
        self._key = secret.encode()

    def _mac(self, purpose: str, ident: str, stamped: bytes) -> bytes:
        head = f"{purpose}\0{ident}\0".encode()
        return hmac.new(self._key, head + stamped, hashlib.sha256).digest()

    def seal(self, purpose: str, ident: str, payload: bytes, now: Optional[float] = None) -> bytes:
        """``payload`` with its seal and the time of sealing in front."""
        stamped = _AT.pack(int((time.time() if now is None else now) * 1000)) + payload
        return self._mac(purpose, ident, stamped) + stamped

    def open(self, purpose: str, ident: str, sealed: bytes, max_age: Optional[float] = None,
             now: Optional[float] = None) -> bytes:
        """The payload of a message sealed for ``purpose`` and ``ident`` (within ``max_age``
        seconds, when given); :class:`Forged` if not."""
        head = _MAC + _AT.size
        if len(sealed) < head or not hmac.compare_digest(sealed[:_MAC], self._mac(purpose, ident, sealed[_MAC:])):
            raise Forged(f"{purpose} {ident!r} is not sealed with this deployment's secret")
        if max_age is not None:
            age = (time.time() if now is None else now) - _AT.unpack(sealed[_MAC:head])[0] / 1000
            if age > max_age or age < -CLOCK_SKEW_S:
                raise Forged(f"{purpose} {ident!r} was sealed {age:.0f} s ago: a replay, refused")
        return sealed[head:]
