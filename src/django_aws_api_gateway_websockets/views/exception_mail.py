"""The mail a view sends its admins when a handler raises (``SEND_EXCEPTION_MAIL``), throttled
to one per view class per ``EXCEPTION_MAIL_INTERVAL`` seconds (release 4.1's setting)."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.mail import mail_admins

from ..redaction import redact

logger = logging.getLogger(__package__)  # django_aws_api_gateway_websockets.views


def mail_due(view: type, interval: int | None) -> bool:
    """At most one exception mail per view class per ``interval`` seconds (0: every time),
    counted in Django's default cache (``cache.add``: atomic, shared by the processes of a
    shared cache). A failing cache never stops the mail."""
    if not interval or interval <= 0:
        return True
    key = f"django_aws_api_gateway_websockets:mail:{view.__module__}.{view.__qualname__}"
    try:
        return bool(cache.add(key, 1, timeout=interval))
    except Exception:
        logger.warning("The exception mail throttle could not use the cache", exc_info=True)
        return True


def mail_about(error: Exception) -> None:
    """Mail the admins about ``error``; a failure to send is logged, never raised (instead of
    ``fail_silently=True``, which Django 6.1 deprecates)."""
    try:
        mail_admins("Unexpected Websocket Exception", redact(error))
    except Exception:
        logger.warning("Mailing the admins about a WebSocket exception failed", exc_info=True)
