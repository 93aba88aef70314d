"""Callbacks as API Gateway sends them, through Django's test client.

``GatewayCallbacks`` drives your ``WebSocketView`` with the exact headers, secret and body API
Gateway sends (the names and values come from :mod:`~django_aws_api_gateway_websockets.wire`,
the contract the view checks)::

    callbacks = GatewayCallbacks(client, gateway)
    token = callbacks.token()                      # POSTs to the websocket_token URL
    callbacks.connect("conn-1", token=token, channel="room")
    callbacks.message("conn-1", {"handler": "echo", "text": "hi"})
    callbacks.disconnect("conn-1")

:func:`callback_headers` gives the headers alone.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.http.request import split_domain_port, validate_host
from django.test import Client
from django.urls import reverse

from ..conf import conf
from ..models import ApiGateway
from ..wire import (
    CLIENT_IP_HEADER,
    CONNECTION_ID_HEADER,
    SECRET_HEADER,
    SETTINGS_SECRET_HEADER,
    new_connection_id,
    user_agent,
)


def callback_headers(
    gateway: ApiGateway,
    connection_id: str,
    *,
    event: str = "message",
    client_ip: str = "203.0.113.10",
    origin: str | None = None,
    host: str = "testserver",
    extra: dict[str, str | None] | None = None,
) -> dict[str, str]:
    """The headers API Gateway sends to the integration for ``event`` (``connect``,
    ``message`` or ``disconnect``), including the gateway's secret when it has one.

    ``extra`` adds or replaces headers (names compared case-insensitively, as HTTP does); a
    value of ``None`` removes that header.
    """
    headers = {
        "Host": host,
        "X-Forwarded-For": client_ip,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        CLIENT_IP_HEADER: client_ip,
        "X-Amzn-Trace-Id": f"Root=1-{secrets.token_hex(4)}-{secrets.token_hex(12)}",
        "X-Amzn-Apigateway-Api-Id": gateway.api_id,
        CONNECTION_ID_HEADER: connection_id,
    }
    if gateway.secret:
        headers[SECRET_HEADER] = gateway.secret
    if conf.gateway_secrets:
        headers[SETTINGS_SECRET_HEADER] = conf.gateway_secrets[0]
    if event == "connect":
        headers.update(
            {
                "User-Agent": "Mozilla/5.0 (test browser)",
                "Origin": origin or f"https://{host}",
                "Sec-Websocket-Extensions": "permessage-deflate; client_max_window_bits",
                "Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-Websocket-Version": "13",
            }
        )
    else:
        headers["User-Agent"] = user_agent(gateway.api_id)
    for name, value in (extra or {}).items():
        # Header names are case-insensitive: "Connectionid" replaces "connectionId".
        for same in [key for key in headers if key.lower() == name.lower()]:
            del headers[same]
        if value is not None:
            headers[name] = value
    return headers


#: Django's test client's host, which Django's test set-up adds to ``ALLOWED_HOSTS``.
TEST_HOST = "testserver"


def _allowed(host: str) -> bool:
    """Whether Django would accept ``host`` (``ALLOWED_HOSTS``, as ``HttpRequest.get_host``)."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:  # what Django allows then
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    domain, _port = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


def _callback_host(gateway: ApiGateway, host: str | None) -> str:
    """The ``Host`` callbacks carry: ``host`` when given; else, as API Gateway sends, the host of
    the gateway's ``target_base_endpoint``, or the test client's own when ``ALLOWED_HOSTS``
    refuses that one (a fresh project's test settings allow only ``testserver``). A host Django
    would refuse raises at once, naming the setting, instead of every callback failing with a
    400 ``DisallowedHost``."""
    target = urlsplit(gateway.target_base_endpoint or "").netloc
    candidates = [host] if host else [c for c in (target, TEST_HOST) if c]
    for candidate in candidates:
        if _allowed(candidate):
            return candidate
    where = "given as host=" if host else "of the gateway's target_base_endpoint"
    raise ImproperlyConfigured(
        f"GatewayCallbacks would send Host: {candidates[0]} (the host {where}), which "
        f"settings.ALLOWED_HOSTS ({list(settings.ALLOWED_HOSTS)!r}) does not allow: add it to "
        f"ALLOWED_HOSTS, or pass host= a host it allows"
    )


class GatewayCallbacks:
    """Send ``$connect``, message and ``$disconnect`` callbacks for ``gateway`` through a Django
    test ``Client`` (whose cookies carry the browser session on ``$connect``)."""

    def __init__(self, client: Client, gateway: ApiGateway, *, host: str | None = None) -> None:
        self.client = client
        self.gateway = gateway
        self.host = _callback_host(gateway, host)

    def _path(self, url: str) -> str:
        return urlsplit(url).path

    def _post(
        self,
        url: str,
        connection_id: str,
        event: str,
        body: str,
        query: dict[str, str] | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> HttpResponse:
        path = self._path(url)
        if query:
            path = f"{path}?{urlencode(query)}"
        all_headers = callback_headers(
            self.gateway, connection_id, event=event, host=self.host, extra=headers
        )
        if not body:
            # Django's test client omits Content-Length for an empty body; API Gateway sends it.
            all_headers["Content-Length"] = "0"
        response = self.client.post(
            path, data=body, content_type="application/json", headers=all_headers
        )
        return cast(HttpResponse, response)

    def _builtin(self, slug: str) -> str:
        return f"{self.gateway.target_base_endpoint or '/ws/'}{slug}"

    def token(self) -> str:
        """A one-time token for the client's logged-in session (POSTs to ``websocket_token``)."""
        response = self.client.post(reverse("websocket_token"))
        if response.status_code != 200:
            raise AssertionError(f"token endpoint answered {response.status_code}")
        return str(response.json()["token"])

    def connect(
        self,
        connection_id: str | None = None,
        *,
        token: str | None = None,
        channel: str | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> HttpResponse:
        query = {}
        if token is not None:
            query["ws_token"] = token
        if channel is not None:
            query["channel"] = channel
        return self._post(
            self._builtin("connect"),
            connection_id or new_connection_id(),
            "connect",
            "",
            query=query,
            headers=headers,
        )

    def message(
        self,
        connection_id: str,
        body: dict[str, Any] | str,
        *,
        url: str | None = None,
        headers: dict[str, str | None] | None = None,
    ) -> HttpResponse:
        text = body if isinstance(body, str) else json.dumps(body)
        return self._post(
            url or self._builtin("default"), connection_id, "message", text, headers=headers
        )

    def disconnect(
        self, connection_id: str, *, headers: dict[str, str | None] | None = None
    ) -> HttpResponse:
        return self._post(
            self._builtin("disconnect"), connection_id, "disconnect", "", headers=headers
        )
