"""Logging that never writes a secret: bot tokens are redacted from every line, tracebacks included.

httpx logs each request URL, and Telegram puts the token in the URL (``/bot<token>/getMe``);
exceptions from HTTP libraries carry the URL too.  So redaction happens on the formatted line.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Iterable, TextIO

REDACTED = "[REDACTED]"
# Shapes of tokens, for ones we were not told about: Telegram "123456:AA…", Discord "MTk….Gx….xx…".
_TOKEN_SHAPES = re.compile(r"(?<!\d)\d{5,16}:[A-Za-z0-9_-]{30,}|\b[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and anything shaped like a bot token replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def without_credentials(url: str) -> str:
    """A URL fit for a message or a log line: ``scheme://…@host/...`` without user and password
    (the one place that decides how a URL is shown)."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    host = rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}…@{host}" if sep else f"…@{host}"


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def install(verbose: bool, secrets: Iterable[str] = (), stream: TextIO = sys.stderr) -> None:
    """Root logging to ``stream`` through the redacting formatter (replacing earlier handlers)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
