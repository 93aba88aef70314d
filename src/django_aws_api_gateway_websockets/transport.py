"""Compatibility: the lean transport now lives in :mod:`.messaging.lean`.

Its documented call, ``django_aws_api_gateway_websockets.transport.shutdown()``, keeps working
from here; new code imports from ``django_aws_api_gateway_websockets.messaging.lean``.
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

__all__ = ["LeanRoute", "green_threads", "intercepted", "runner", "send", "send_async", "shutdown"]
