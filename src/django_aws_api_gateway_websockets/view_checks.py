"""``check --deploy`` warnings about the ``WebSocketView`` subclasses the URLconf routes
(release 4.1 raises the same two, as its ``W005`` and ``W004``; silencing those silences these).

- ``aws_websockets.W007``: a routed view without ``ALLOWED_HANDLERS`` lets clients call every
  public method it defines, so a helper added later becomes a handler unnoticed.
- ``aws_websockets.W008``: a routed view admits channels that have no ``ChannelPermission`` row
  (``ALLOW_UNLISTED_CHANNELS = True``, the default), so a mistyped or forgotten channel is open.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.checks import CheckMessage, Tags, Warning, register
from django.urls import URLPattern, URLResolver, get_resolver

from .check_aliases import unsilenced
from .views import WebSocketView

PREFIX = "aws_websockets"
#: Handlers every view answers whatever it lists (not a method a project added).
_ALWAYS = frozenset({"default", "change_channel", "heartbeat"})


def routed_views() -> Iterator[type[WebSocketView]]:
    """Each ``WebSocketView`` subclass the URLconf routes, once."""
    seen: set[type[WebSocketView]] = set()
    pending: list[Any] = list(get_resolver().url_patterns)
    while pending:
        pattern = pending.pop(0)
        if isinstance(pattern, URLResolver):
            pending.extend(pattern.url_patterns)
            continue
        view = getattr(getattr(pattern, "callback", None), "view_class", None)
        if not isinstance(pattern, URLPattern) or not isinstance(view, type):
            continue
        if issubclass(view, WebSocketView) and view not in seen:
            seen.add(view)
            yield view


def _name(view: type[Any]) -> str:
    return f"{view.__module__}.{view.__qualname__}"


@register(Tags.security, deploy=True)
def check_routed_views(**kwargs: Any) -> list[CheckMessage]:
    """W007 and W008 for each routed view (a broken URLconf is Django's own checks' to report)."""
    try:
        views = list(routed_views())
    except Exception:
        return []
    messages: list[CheckMessage] = []
    for view in views:
        exposed = sorted(set(view()._allowed_handlers()) - _ALWAYS)
        if not view.ALLOWED_HANDLERS and exposed:
            messages.append(
                Warning(
                    f"{_name(view)} has no ALLOWED_HANDLERS, so clients can call "
                    f"{', '.join(exposed)}.",
                    hint="List the handlers clients may call, e.g. ALLOWED_HANDLERS = "
                    '{"default", "chat"}: a public method added later then stays private.',
                    id=f"{PREFIX}.W007",
                )
            )
        if view.ALLOW_UNLISTED_CHANNELS:
            messages.append(
                Warning(
                    f"{_name(view)} admits channels that have no ChannelPermission row.",
                    hint="Set ALLOW_UNLISTED_CHANNELS = False and add an 'allow_all' row for "
                    "each public channel, so a mistyped or forgotten channel is closed.",
                    id=f"{PREFIX}.W008",
                )
            )
    return unsilenced(messages)
