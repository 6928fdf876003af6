"""HMAC seals on everything that crosses Redis: jobs, results and worker registrations.

Whoever can reach Redis can write to it, so without a seal anyone there could post a forged voice
note into any chat, hand the bot a forged voice profile as a "clone", or register as a worker and
receive every job.  The bot and its workers share one secret from the environment
(``VOICEBOT_QUEUE_SECRET``); a message without a valid seal is refused and logged.

A seal binds the message to its purpose and its job id (HMAC-SHA256 over both and the payload), so
a sealed job cannot be replayed as a result, nor one job's result as another's.  It proves origin,
not secrecy: Redis still sees the texts and recordings, which is why README asks for a password,
TLS and a private network as well.
"""

from __future__ import annotations

import hashlib
import hmac

#: Where the shared secret comes from, and its shortest accepted length (32 characters: 128+ bits
#: from ``secrets.token_hex(32)``, which README suggests).
SECRET_ENV = "VOICEBOT_QUEUE_SECRET"
MIN_SECRET_CHARS = 32
_MAC = 32  # bytes of HMAC-SHA256


class Forged(ValueError):
    """A message whose seal is missing or wrong (not from a holder of the secret)."""


class Sealer:
    """Seals and opens messages with the deployment's shared secret."""

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters")
        self._key = secret.encode()

    def _mac(self, purpose: str, ident: str, payload: bytes) -> bytes:
        head = f"{purpose}\0{ident}\0".encode()
        return hmac.new(self._key, head + payload, hashlib.sha256).digest()

    def seal(self, purpose: str, ident: str, payload: bytes) -> bytes:
        """``payload`` with its seal in front."""
        return self._mac(purpose, ident, payload) + payload

    def open(self, purpose: str, ident: str, sealed: bytes) -> bytes:
        """The payload of a message sealed for ``purpose`` and ``ident``; :class:`Forged` if not."""
        if len(sealed) < _MAC or not hmac.compare_digest(sealed[:_MAC], self._mac(purpose, ident, sealed[_MAC:])):
            raise Forged(f"{purpose} {ident!r} is not sealed with this deployment's secret")
        return sealed[_MAC:]
