"""``{% websocket_config %}``: what the shipped JS client needs to connect, rendered safely.

::

    {% load static aws_websockets %}
    {% websocket_config %}
    <script type="module">
      import { connect } from "{% static 'django_aws_api_gateway_websockets/client.js' %}";
      const socket = connect();
    </script>

The tag reads the context the mixins in :mod:`django_aws_api_gateway_websockets.mixins` provide
(``websocket_url``, ``channel_name``, ``api_gateway_route``, and ``websocket_channels`` with
their ``channel_positions`` at render time, which the client subscribes to from there), adds
the token endpoint (the URL named ``websocket_token``) and the CSRF settings, and renders them
with
:func:`django.utils.html.json_script`: a ``<script type="application/json">`` element whose
content can never close the element or run as code, whatever a channel name holds.

Keyword arguments override what the context gives (``url``, ``channel``, ``token_url``,
``route_key``) or set client options (``heartbeat_interval=60000``, ``backoff_max=10000``...;
``snake_case`` or ``camelCase``). The first positional argument, or ``element_id``, is the
element's id (``websocket-config`` by default), for pages with more than one client.
"""

from __future__ import annotations

import re
from typing import Any

from django import template
from django.conf import settings
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.utils.html import json_script
from django.utils.safestring import SafeString

from .. import __version__

register = template.Library()

#: The id of the element when the tag is given none (what ``connect()`` reads by default).
DEFAULT_ELEMENT_ID = "websocket-config"

#: Every option of the JS client (``DEFAULTS`` in ``client.js``; a test keeps them equal).
CLIENT_OPTIONS = (
    "url",
    "channel",
    "tokenUrl",
    "tokenParam",
    "csrfToken",
    "csrfCookieName",
    "csrfHeaderName",
    "routeKey",
    "routeSelectionKey",
    "handlerKey",
    "heartbeatHandler",
    "heartbeatInterval",
    "maxConnectionAge",
    "reconnect",
    "maxRetries",
    "backoffInitial",
    "backoffFactor",
    "backoffMax",
    "backoffJitter",
    "stableAfter",
    "connectTimeout",
    "queueLimit",
    "maxMessageBytes",
    "autoConnect",
    "channels",
    "positions",
    "version",
    "debug",
    "unavailable",
)

#: Why a page has no connect URL (the client's error names it: ``unavailable``).
NO_ROUTE = (
    'no ApiGatewayAdditionalRoute has route_key "{key}" (the view\'s websocket_route_key): '
    "add that route to the gateway"
)
NO_ADDRESS = (
    'ApiGateway "{name}" has no address yet: create it on AWS, or serve it with '
    "manage.py runwsgateway"
)

_BODY_KEY = re.compile(r"^\$request\.body\.([A-Za-z0-9_]+)$")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _header_name(meta_name: str) -> str:
    """``HTTP_X_CSRFTOKEN`` (``settings.CSRF_HEADER_NAME``) -> ``X-CSRFTOKEN``."""
    name = meta_name.removeprefix("HTTP_")
    return "-".join(name.split("_"))


def _token_url() -> str | None:
    try:
        return reverse("websocket_token")
    except NoReverseMatch:
        return None


def _route_options(route: Any) -> dict[str, Any]:
    """The route key to send with every message, when the gateway selects routes by a key of
    the JSON body (``$request.body.action``, the default)."""
    route_key = getattr(route, "route_key", "") or ""
    gateway = getattr(route, "api_gateway", None)
    expression = getattr(gateway, "route_selection_expression", "") or ""
    match = _BODY_KEY.match(expression)
    if not route_key or route_key.startswith("$") or match is None:
        return {}
    return {"routeKey": route_key, "routeSelectionKey": match.group(1)}


def _unavailable(context: Any) -> str | None:
    """Why the mixins gave no ``websocket_url`` (``None`` when they gave one, or when the
    context does not come from them)."""
    if context.get("websocket_url"):
        return None
    route = context.get("api_gateway_route")
    if route is not None:
        return NO_ADDRESS.format(name=getattr(route.api_gateway, "api_name", ""))
    key = context.get("websocket_route_key")
    return NO_ROUTE.format(key=key) if key else None


def client_config(context: Any, **overrides: Any) -> dict[str, Any]:
    """The configuration ``{% websocket_config %}`` renders, as a dict."""
    config: dict[str, Any] = {
        "url": context.get("websocket_url"),
        "channel": context.get("channel_name") or None,
        "tokenUrl": _token_url(),
        "version": __version__,
    }
    config.update(_route_options(context.get("api_gateway_route")))
    channels = list(context.get("websocket_channels") or ())
    if channels:
        config["channels"] = channels
        config["positions"] = dict(context.get("channel_positions") or {})
    unavailable = _unavailable(context)
    if unavailable:
        config["unavailable"] = unavailable
    request = context.get("request")
    if request is not None:
        config["csrfToken"] = get_token(request)
    readable = not (settings.CSRF_USE_SESSIONS or settings.CSRF_COOKIE_HTTPONLY)
    config["csrfCookieName"] = settings.CSRF_COOKIE_NAME if readable else None
    config["csrfHeaderName"] = _header_name(settings.CSRF_HEADER_NAME)
    for name, value in overrides.items():
        key = _camel(name)
        if key not in CLIENT_OPTIONS:
            raise template.TemplateSyntaxError(
                f"websocket_config: unknown option {name!r} (known: {', '.join(CLIENT_OPTIONS)})"
            )
        config[key] = value
    return config


@register.simple_tag(takes_context=True)
def websocket_config(
    context: template.Context, element_id: str = DEFAULT_ELEMENT_ID, **options: Any
) -> SafeString:
    """A ``<script type="application/json" id="websocket-config">`` holding the client's
    configuration (see the module's documentation)."""
    return json_script(client_config(context, **options), element_id)
