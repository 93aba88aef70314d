"""Helpers for your own tests: callbacks as API Gateway sends them, and an outbox for pushes.

``GatewayCallbacks`` drives your ``WebSocketView`` through Django's test client with the exact
headers, secret and body API Gateway sends::

    callbacks = GatewayCallbacks(client, gateway)
    token = callbacks.token()                      # POSTs to the websocket_token URL
    callbacks.connect("conn-1", token=token, channel="room")
    callbacks.message("conn-1", {"handler": "echo", "text": "hi"})
    callbacks.disconnect("conn-1")

``capture_messages()`` replaces ``models.get_boto3_client`` for Management API clients and records
what ``send_message`` would have posted; ``outbox.make_gone(id)`` makes later posts to that
connection fail as AWS does for a closed socket::

    with capture_messages() as outbox:
        session.send_message({"hello": "world"})
    assert outbox.data_for("conn-1") == [{"hello": "world"}]
"""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode, urlsplit

from botocore.exceptions import ClientError
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from . import models
from .models import ApiGateway
from .wire import SECRET_HEADER

_ID_ALPHABET = string.ascii_letters + string.digits


def new_connection_id() -> str:
    """A connection id shaped like AWS's: 15 base64 characters and ``=``."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(15)) + "="


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

    ``extra`` adds or replaces headers; a value of ``None`` removes that header.
    """
    headers = {
        "Host": host,
        "X-Forwarded-For": client_ip,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        "X-Real-Ip": client_ip,
        "X-Amzn-Trace-Id": f"Root=1-{secrets.token_hex(4)}-{secrets.token_hex(12)}",
        "X-Amzn-Apigateway-Api-Id": gateway.api_id,
        "Connectionid": connection_id,
    }
    if gateway.secret:
        headers[SECRET_HEADER] = gateway.secret
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
        headers["User-Agent"] = f"AmazonAPIGateway_{gateway.api_id}"
    for name, value in (extra or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


class GatewayCallbacks:
    """Send ``$connect``, message and ``$disconnect`` callbacks for ``gateway`` through a Django
    test ``Client`` (whose cookies carry the browser session on ``$connect``)."""

    def __init__(self, client: Client, gateway: ApiGateway, *, host: str | None = None) -> None:
        self.client = client
        self.gateway = gateway
        # API Gateway sends the integration URI's host; so do we unless told otherwise.
        self.host = host or urlsplit(gateway.target_base_endpoint or "").netloc or "testserver"

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


@dataclass
class SentMessage:
    """One post recorded by :func:`capture_messages`."""

    endpoint: str
    connection_id: str
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Outbox:
    """What ``send_message`` posted, and which connections answer as gone."""

    messages: list[SentMessage] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def make_gone(self, *connection_ids: str) -> None:
        """Posts to these connections will raise ``GoneException`` as AWS does."""
        self.gone.update(connection_ids)

    def data_for(self, connection_id: str) -> list[Any]:
        """The decoded messages posted to ``connection_id``, in order."""
        return [m.json() for m in self.messages if m.connection_id == connection_id]

    def clear(self) -> None:
        self.messages.clear()


def _gone_error(connection_id: str) -> ClientError:
    response: Any = {
        "Error": {"Code": "GoneException", "Message": f"{connection_id} is gone"},
        "ResponseMetadata": {"HTTPStatusCode": 410},
    }
    return ClientError(response, "PostToConnection")


class _OutboxClient:
    """Stands in for a boto3 ``apigatewaymanagementapi`` client: records into every active
    outbox; a connection made gone in any of them answers ``GoneException``."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    @staticmethod
    def _outboxes(connection_id: str) -> list[Outbox]:
        with _capture_lock:
            outboxes = list(_active_outboxes)
        if any(connection_id in outbox.gone for outbox in outboxes):
            raise _gone_error(connection_id)
        return outboxes

    def post_to_connection(self, *, Data: bytes | str, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        data = Data.encode() if isinstance(Data, str) else bytes(Data)
        for outbox in self._outboxes(ConnectionId):
            with outbox._lock:
                outbox.messages.append(SentMessage(self.endpoint, ConnectionId, data))
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        self._outboxes(ConnectionId)
        return {"ConnectionId": ConnectionId, "identity": {}}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        for outbox in self._outboxes(ConnectionId):
            outbox.gone.add(ConnectionId)
        return {}


# One patch of models.get_boto3_client serves every capture that is active, whichever thread
# entered it: nested or concurrent captures (tests that race threads) restore the factory they
# found only when the last one exits.
_capture_lock = threading.Lock()
_active_outboxes: list[Outbox] = []
_replaced_factory: list[Any] = []


def _capturing_factory(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    if service == "apigatewaymanagementapi":
        return _OutboxClient(str(kwargs.get("endpoint_url", "")))
    return _replaced_factory[0](service, **kwargs)


@contextmanager
def capture_messages() -> Iterator[Outbox]:
    """Record Management API posts instead of sending them (other services still reach the
    factory that was in place). Safe to nest and to enter from several threads at once."""
    outbox = Outbox()
    with _capture_lock:
        if not _active_outboxes:
            _replaced_factory[:] = [models.get_boto3_client]
            models.get_boto3_client = _capturing_factory
        _active_outboxes.append(outbox)
    try:
        yield outbox
    finally:
        with _capture_lock:
            _active_outboxes.remove(outbox)
            if not _active_outboxes:
                models.get_boto3_client = _replaced_factory.pop()
