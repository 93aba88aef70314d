"""The two views: the callback endpoint API Gateway calls, and the one-time token endpoint.

``WebSocketView`` runs every callback through named checks listed per event in its class
attributes ``common_checks``, ``connect_checks``, ``message_checks`` and ``disconnect_checks``
(``callback.py``); docs/views.md explains each check and how a subclass adds one. The package:

- ``callback.py``: ``WebSocketView``, its check order, the common and message checks, handlers;
- ``connect.py``: the ``$connect`` checks and the session row;
- ``channel_access.py``: who may join a channel (``ChannelPermission``), 4.1's switches;
- ``gateway_auth.py``: which gateway is calling (pinned id, cache, secret, rotation);
- ``legacy.py``: the existing package's overridable hooks, each called by a check;
- ``base.py``: the settings (class attributes), the parsed body and the loop running checks;
- ``responses.py``: every rejection body;
- ``token.py``: ``WebSocketTokenView``.
"""

from ..wire import CONNECTION_ID_RE, SECRET_HEADER
from .base import Check
from .callback import API_ID_RE, WebSocketView
from .responses import (
    BODY_TOO_LARGE,
    CHANNEL_FORBIDDEN,
    DUPLICATE_CONNECTION,
    GATEWAY_FORBIDDEN,
    HOST_NOT_ALLOWED,
    HOST_NOT_IN_ORIGIN,
    INVALID_CHANNEL,
    INVALID_CONNECTION_ID,
    INVALID_FORMAT,
    INVALID_HEADERS,
    INVALID_SESSION,
    INVALID_SUBSCRIBE,
    INVALID_TOKEN,
    PERMISSION_DENIED,
    SESSION_ENDED,
    TOO_MANY_ATTEMPTS,
    UNEXPECTED_USERAGENT,
    UNKNOWN_CONNECTION,
    UNKNOWN_HANDLER,
)
from .token import WebSocketTokenView

__all__ = [
    "API_ID_RE",
    "BODY_TOO_LARGE",
    "CHANNEL_FORBIDDEN",
    "CONNECTION_ID_RE",
    "DUPLICATE_CONNECTION",
    "GATEWAY_FORBIDDEN",
    "HOST_NOT_ALLOWED",
    "HOST_NOT_IN_ORIGIN",
    "INVALID_CHANNEL",
    "INVALID_CONNECTION_ID",
    "INVALID_FORMAT",
    "INVALID_HEADERS",
    "INVALID_SESSION",
    "INVALID_SUBSCRIBE",
    "INVALID_TOKEN",
    "PERMISSION_DENIED",
    "SECRET_HEADER",
    "SESSION_ENDED",
    "TOO_MANY_ATTEMPTS",
    "UNEXPECTED_USERAGENT",
    "UNKNOWN_CONNECTION",
    "UNKNOWN_HANDLER",
    "Check",
    "WebSocketTokenView",
    "WebSocketView",
]
