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


def _headers(**extra: str) -> dict[str, str]:
    """A fresh ``x-amzn-RequestId``, as on every answer of the Management API."""
    return {"x-amzn-RequestId": new_amzn_request_id(), **extra}


def error(status: int, error_type: str, message: str) -> web.Response:
    """AWS's error shape: the code in ``x-amzn-ErrorType`` (where botocore reads it)."""
    headers = _headers(**{"x-amzn-ErrorType": error_type})
    return web.json_response({"message": message}, status=status, headers=headers)


def _ok(status: int) -> web.Response:
    return web.Response(status=status, headers=_headers())


def _gone(connection_id: str) -> web.Response:
    return error(410, "GoneException", f"Connection {connection_id} is gone")


def _too_large() -> web.Response:
    return error(413, "PayloadTooLargeException", "Request entity too large")


class ManagementApi:
    """The ``@connections`` endpoints of one server, with their own request rate window."""

    def __init__(self, host: ConnectionHost) -> None:
        self.host = host
        self._window = RateWindow()
        self._latency = LatencyTimer()

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

    async def handle(self, request: web.BaseRequest, raw_path: str) -> web.StreamResponse:
        """Answer the Management API request ``request`` (whose path is ``raw_path``)."""
        host = self.host
        limits = host.limits
        if limits.management_latency_ms:
            await self._latency.wait(limits.management_latency_ms / 1000)
        parsed = self._parse(raw_path)
        if parsed is None:
            return error(404, "NotFoundException", "Not Found")
        api_id, connection_id = parsed
        if request.method not in ("POST", "GET", "DELETE"):
            return error(405, "MethodNotAllowedException", "Method Not Allowed")
        if not is_connection_id(connection_id):
            return error(400, "BadRequestException", f"Invalid connectionId: {connection_id}")
        if not self._window.admit(limits.management_requests_per_second):
            return error(429, "LimitExceededException", "Rate exceeded")
        if request.method == "POST":
            return await self._post(request, api_id, connection_id)
        if request.method == "DELETE":
            deleted = host.delete_connection(connection_id, api_id)
            return _ok(204) if deleted else _gone(connection_id)
        connection = host.get_connection(connection_id, api_id)
        if connection is None:
            return _gone(connection_id)
        return web.json_response(
            {
                "connectedAt": iso8601(connection.connected_at),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                "lastActiveAt": iso8601(connection.last_active_at),
            },
            headers=_headers(),
        )

    async def _post(
        self, request: web.BaseRequest, api_id: str | None, connection_id: str
    ) -> web.StreamResponse:
        limit = self.host.limits.max_post_bytes
        if request.content_length is not None and request.content_length > limit:
            return _too_large()
        content = request.content
        data = bytearray()
        while True:
            chunk = await content.read(65536)
            data += chunk
            if len(data) > limit:
                return _too_large()
            if not chunk or content.at_eof():  # at_eof: no second read for the usual body
                break
        delivery = self.host.post_to_connection(connection_id, bytes(data), api_id)
        if delivery == "full":
            return error(429, "LimitExceededException", "Client buffer full")
        if delivery == "gone":
            return _gone(connection_id)
        return _ok(200)
