"""The Management API (``@connections``) of the local gateway.

``POST``/``GET``/``DELETE`` on ``/<api_id>/<stage>/@connections/<id>``,
``/<stage>/@connections/<id>`` or ``/@connections/<id>``, with AWS's status codes and its
error shape: the code in the ``x-amzn-ErrorType`` header (where botocore reads it),
``x-amzn-RequestId``, and a JSON body ``{"message": ...}``. Any Content-Type and any (or no)
SigV4 signature are accepted, so an unmodified boto3 ``apigatewaymanagementapi`` client given
``endpoint_url`` works. A connection id must match the view's pattern
(:data:`~django_aws_api_gateway_websockets.wire.CONNECTION_ID_RE`), else 400.

:class:`ManagementApi` reaches the connections only through :class:`ConnectionHost`, the few
public methods of :class:`~.server.LocalGateway` it needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import unquote

from aiohttp import web

from ..wire import is_connection_id
from .connection import Connection, Delivery
from .ids import new_amzn_request_id
from .limits import LatencyTimer, Limits, RateWindow


class ConnectionHost(Protocol):
    """What the Management API needs of the server that holds the connections.

    ``api_id`` limits a lookup to the gateway ``api_id`` (``None``: any gateway); a connection
    that is gone or on another gateway is not found.
    """

    @property
    def limits(self) -> Limits: ...

    def serves(self, api_id: str) -> bool:
        """Whether the gateway ``api_id`` is served."""
        ...

    def get_connection(self, connection_id: str, api_id: str | None = None) -> Connection | None:
        """The open connection ``connection_id``."""
        ...

    def post_to_connection(
        self, connection_id: str, data: bytes, api_id: str | None = None
    ) -> Delivery:
        """Send ``data`` to the client as one frame."""
        ...

    def delete_connection(self, connection_id: str, api_id: str | None = None) -> bool:
        """Close the connection; ``False`` when it was not found."""
        ...


def iso8601(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``, as the Management API writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


#: The Content-Type of every answer with a body (all are JSON).
CONTENT_TYPE = "application/json"
#: ``body`` of :meth:`ManagementApi.answer` for a POST whose body exceeds ``max_post_bytes``.
TOO_LARGE = None


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer of the Management API: status, headers (a fresh ``x-amzn-RequestId`` and,
    on an error, ``x-amzn-ErrorType``) and a JSON body (``b""``: none)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


def _ok(status: int, body: bytes = b"") -> Answer:
    return Answer(status, {"x-amzn-RequestId": new_amzn_request_id()}, body)


def _error(status: int, error_type: str, message: str) -> Answer:
    """AWS's error shape: the code in ``x-amzn-ErrorType`` (where botocore reads it)."""
    headers = {"x-amzn-RequestId": new_amzn_request_id(), "x-amzn-ErrorType": error_type}
    return Answer(status, headers, json.dumps({"message": message}).encode())


def _gone(connection_id: str) -> Answer:
    return _error(410, "GoneException", f"Connection {connection_id} is gone")


class ManagementApi:
    """The ``@connections`` endpoints of one server, with their own request rate window and
    latency timer. :meth:`answer` decides; :mod:`.front` (most requests) and :meth:`handle`
    (those the front hands to aiohttp: ``Expect``, chunked or oversize bodies) deliver."""

    def __init__(self, host: ConnectionHost) -> None:
        self.host = host
        self._window = RateWindow()
        self.timer = LatencyTimer()

    def latency(self) -> float:
        """The injected latency before each answer, in seconds."""
        return self.host.limits.management_latency_ms / 1000

    def _parse(self, raw_path: str) -> tuple[str | None, str] | None:
        """``(api_id the path is limited to, connection id)``, or ``None`` for a bad path."""
        head, _, encoded = raw_path.partition("/@connections/")
        if "/" in encoded:
            return None
        segments = [s for s in head.split("/") if s]
        if len(segments) > 2:
            return None
        api_id = segments[0] if segments and self.host.serves(segments[0]) else None
        # botocore encodes only the "=" of an id shaped as API Gateway issues them.
        decoded = encoded.replace("%3D", "=")
        return api_id, decoded if "%" not in decoded else unquote(encoded)

    def answer(self, method: str, raw_path: str, body: bytes | None) -> Answer:
        """The answer to ``method raw_path`` (the path without its query) with ``body``
        (:data:`TOO_LARGE` when it exceeds ``max_post_bytes``), the latency already waited."""
        host = self.host
        parsed = self._parse(raw_path)
        if parsed is None:
            return _error(404, "NotFoundException", "Not Found")
        api_id, connection_id = parsed
        if method not in ("POST", "GET", "DELETE"):
            return _error(405, "MethodNotAllowedException", "Method Not Allowed")
        if not is_connection_id(connection_id):
            return _error(400, "BadRequestException", f"Invalid connectionId: {connection_id}")
        if not self._window.admit(host.limits.management_requests_per_second):
            return _error(429, "LimitExceededException", "Rate exceeded")
        if method == "POST":
            if body is None:  # TOO_LARGE
                return _error(413, "PayloadTooLargeException", "Request entity too large")
            delivery = host.post_to_connection(connection_id, body, api_id)
            if delivery == "full":
                return _error(429, "LimitExceededException", "Client buffer full")
            return _gone(connection_id) if delivery == "gone" else _ok(200)
        if method == "DELETE":
            deleted = host.delete_connection(connection_id, api_id)
            return _ok(204) if deleted else _gone(connection_id)
        connection = host.get_connection(connection_id, api_id)
        if connection is None:
            return _gone(connection_id)
        info = {
            "connectedAt": iso8601(connection.connected_at),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            "lastActiveAt": iso8601(connection.last_active_at),
        }
        return _ok(200, json.dumps(info).encode())

    async def handle(self, request: web.BaseRequest, raw_path: str) -> web.StreamResponse:
        """Answer ``request`` (whose path is ``raw_path``) through aiohttp."""
        delay = self.latency()
        if delay:
            await self.timer.wait(delay)
        body: bytes | None = b""
        if request.method == "POST":
            body = await self._read_body(request)
        answer = self.answer(request.method, raw_path, body)
        return web.Response(
            status=answer.status,
            headers=answer.headers,
            body=answer.body or None,
            content_type=CONTENT_TYPE if answer.body else None,
        )

    async def _read_body(self, request: web.BaseRequest) -> bytes | None:
        """The body, or :data:`TOO_LARGE` as soon as it is known to exceed the limit."""
        limit = self.host.limits.max_post_bytes
        if request.content_length is not None and request.content_length > limit:
            return TOO_LARGE
        content = request.content
        data = bytearray()
        while True:
            chunk = await content.read(65536)
            data += chunk
            if len(data) > limit:
                return TOO_LARGE
            if not chunk or content.at_eof():  # at_eof: no second read for the usual body
                break
        return bytes(data)
