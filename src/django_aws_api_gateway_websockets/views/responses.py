"""Every body the callback view answers a rejection with, and the two responses that carry them.

The bodies are short and fixed: none of them echoes the request or the settings. They are
importable from ``django_aws_api_gateway_websockets.views`` (tests and docs compare against
them; ``tests/docs/test_docs.py`` checks each one is listed in docs/troubleshooting.md).
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, HttpResponseForbidden

INVALID_HEADERS = "Invalid request headers"
GATEWAY_FORBIDDEN = "Gateway authentication failed"
UNEXPECTED_USERAGENT = "Unexpected Useragent"
INVALID_FORMAT = "Invalid request format (1)"
BODY_TOO_LARGE = "Request body too large"
UNKNOWN_CONNECTION = "Unknown connection"
UNKNOWN_HANDLER = "Unknown handler"
PERMISSION_DENIED = "Permission Denied"
TOO_MANY_ATTEMPTS = "Too many connection attempts"
HOST_NOT_ALLOWED = "Host is not in AllowedHosts"
HOST_NOT_IN_ORIGIN = "Host is not in Origin"
INVALID_SESSION = "Invalid session"
INVALID_TOKEN = "Invalid or expired token"  # noqa: S105 - a message
INVALID_CHANNEL = "Invalid channel name"
DUPLICATE_CONNECTION = "Connection already exists"
INVALID_CONNECTION_ID = "Invalid connection id"
INVALID_SUBSCRIBE = (
    "Invalid subscribe request: channels must be a list of channel names or "
    '{"channel": name, "since": {"offset": n, "epoch": e}} objects'
)
CHANNEL_FORBIDDEN = "Channel access denied"
SESSION_ENDED = "Session ended: log in again"


def bad_request(message: str) -> HttpResponseBadRequest:
    """A 400 with ``message`` as its plain-text body."""
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def forbidden(message: str) -> HttpResponseForbidden:
    """A 403 with ``message`` as its plain-text body."""
    return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")
