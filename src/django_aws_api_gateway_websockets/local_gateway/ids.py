"""Identifiers shaped like API Gateway's.

Connection ids come from :func:`~django_aws_api_gateway_websockets.wire.new_connection_id`,
the one generator the view's pattern is written for.
"""

from __future__ import annotations

import itertools
import secrets
import string
import time
import uuid

from ..wire import new_connection_id

_API_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_request_id() -> str:
    """A WebSocket request id, shaped like a connection id."""
    return new_connection_id()


#: Management API request ids: a random UUID's first 24 characters per process, then a counter
#: (``uuid4()`` per answer read the system's random source each time: 5% of a post's CPU).
_AMZN_REQUEST_PREFIX = str(uuid.uuid4())[:24]
_amzn_request_counter = itertools.count(secrets.randbits(47))


def new_amzn_request_id() -> str:
    """An ``x-amzn-RequestId`` value, shaped like AWS's (a UUID) and unique in the process."""
    return f"{_AMZN_REQUEST_PREFIX}{next(_amzn_request_counter) & 0xFFFFFFFFFFFF:012x}"


def new_trace_id() -> str:
    """An ``X-Amzn-Trace-Id`` value: ``Root=1-<8 hex epoch seconds>-<24 hex>``."""
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def new_api_id() -> str:
    """A 10-character lowercase alphanumeric API id, like AWS's ``a1b2c3d4e5``."""
    return "".join(secrets.choice(_API_ID_ALPHABET) for _ in range(10))
