"""Compatibility: the lean transport now lives in :mod:`.messaging.lean`.

Its documented call, ``django_aws_api_gateway_websockets.transport.shutdown()``, and the other
public names this module had keep working from here; new code imports from
``django_aws_api_gateway_websockets.messaging.lean``.
"""

from .messaging.lean import (
    LeanRoute,
    green_threads,
    intercepted,
    runner,
    send,
    send_async,
    shutdown,
)
from .messaging.lean.http import CONNECTS_AT_ONCE, IDLE_TIMEOUT

__all__ = [
    "CONNECTS_AT_ONCE",
    "IDLE_TIMEOUT",
    "LeanRoute",
    "green_threads",
    "intercepted",
    "runner",
    "send",
    "send_async",
    "shutdown",
]
