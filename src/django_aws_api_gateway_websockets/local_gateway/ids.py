"""Identifiers shaped like API Gateway's.

Connection ids come from :func:`~django_aws_api_gateway_websockets.wire.new_connection_id`,
the one generator the view's pattern is written for.
"""

from __future__ import annotations

import secrets
import string
import time

from ..wire import new_connection_id

_API_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_request_id() -> str:
    """A WebSocket request id, shaped like a connection id."""
    return new_connection_id()


def new_trace_id() -> str:
    """An ``X-Amzn-Trace-Id`` value: ``Root=1-<8 hex epoch seconds>-<24 hex>``."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def new_api_id() -> str:
    """A 10-character lowercase alphanumeric API id, like AWS's ``a1b2c3d4e5``."""
    return "".join(secrets.choice(_API_ID_ALPHABET) for _ in range(10))
