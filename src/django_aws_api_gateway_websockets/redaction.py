"""Secrets out of log lines: one function, used by every log call that can carry a URL.

A ``$connect`` URL carries the browser's ``ws_token`` (unspent, usable for a minute), a signed
URL carries ``X-Amz-Signature`` and ``X-Amz-Credential``, and other query parameters may carry a
token, a secret, a password or a key. :func:`redact` replaces the value of every such query
parameter with :data:`REDACTED` wherever it appears in a text (a URL, an exception's message,
a whole log line); :class:`RedactingFilter` applies it to log records of loggers we do not
call ourselves (aiohttp's, in the local gateway).
"""

from __future__ import annotations

import logging
import re

#: What a secret is replaced with.
REDACTED = "***"

#: Query parameter names whose value is a secret (matched case-insensitively, as a part of the
#: name: ``ws_token``, ``access_token``, ``client_secret``, ``X-Amz-Signature``, ...).
_SECRET_WORDS = "token|secret|signature|password|passwd|credential|api[_-]?key|sessionid"  # noqa: S105 - words in parameter names
_SECRET_NAME = rf"[\w.-]*(?:{_SECRET_WORDS})[\w.-]*|x-amz-[\w.-]*"
_SECRET_PARAMETER = re.compile(rf"(?i)(?<![\w.-])((?:{_SECRET_NAME})=)[^&#\s'\"<>]+")


def redact(text: object) -> str:
    """``text`` (any object, as ``str()``) with the value of every secret-looking query
    parameter replaced by :data:`REDACTED`."""
    return _SECRET_PARAMETER.sub(rf"\1{REDACTED}", str(text))


class RedactingFilter(logging.Filter):
    """Redacts a record's message (and the traceback text) before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def redact_loggers(*names: str) -> None:
    """Put a :class:`RedactingFilter` on each named logger (once)."""
    for name in names:
        target = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
