"""The Management API (``@connections``) of the local gateway.

``POST``/``GET``/``DELETE`` on ``/<api_id>/<stage>/@connections/<id>``,
``/<stage>/@connections/<id>`` or ``/@connections/<id>``, with AWS's status codes and its
error shape: the code in the ``x-amzn-ErrorType`` header (where botocore reads it),
``x-amzn-RequestId``, and a JSON body ``{"message": ...}``. Any Content-Type and any (or no)
SigV4 signature are accepted, so an unmodified boto3 ``apigatewaymanagementapi`` client given
``endpoint_url`` works.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

from aiohttp import WSCloseCode, web

if TYPE_CHECKING:
    from .server import Connection, LocalGateway

#: What a connection id may look like (AWS's are 16 URL-safe base64 characters ending in ``=``).
CONNECTION_ID_RE = re.compile(r"^[A-Za-z0-9_=+/-]{1,128}$")


def iso8601(moment: datetime) -> str:
    """``2024-05-01T12:00:00.123Z``, as the Management API writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def error(status: int, error_type: str, message: str) -> web.Response:
    return web.json_response(
        {"message": message},
        status=status,
        headers={"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())},
    )


def _gone(connection_id: str) -> web.Response:
    return error(410, "GoneException", f"Connection {connection_id} is gone")


def _parse(gateway: LocalGateway, raw_path: str) -> tuple[str | None, str] | None:
    """``(api_id the path is limited to, connection id)``, or ``None`` for a bad path."""
    head, _, encoded = raw_path.partition("/@connections/")
    if "/" in encoded:
        return None
    segments = [s for s in head.split("/") if s]
    if len(segments) > 2:
        return None
    api_id = segments[0] if segments and segments[0] in gateway.gateways else None
    return api_id, unquote(encoded)


def _find(gateway: LocalGateway, api_id: str | None, connection_id: str) -> Connection | None:
    connection = gateway.connections.get(connection_id)
    if connection is None or connection.gone or connection.ws.closed:
        return None
    if api_id is not None and connection.gateway.api_id != api_id:
        return None
    return connection


async def handle(gateway: LocalGateway, request: web.Request, raw_path: str) -> web.StreamResponse:
    limits = gateway.limits
    if limits.management_latency_ms:
        await asyncio.sleep(limits.management_latency_ms / 1000)
    parsed = _parse(gateway, raw_path)
    if parsed is None:
        return error(404, "NotFoundException", "Not Found")
    api_id, connection_id = parsed
    if request.method not in ("POST", "GET", "DELETE"):
        return error(405, "MethodNotAllowedException", "Method Not Allowed")
    if not CONNECTION_ID_RE.match(connection_id):
        return error(400, "BadRequestException", f"Invalid connectionId: {connection_id}")
    if not gateway._management_window.admit(limits.management_requests_per_second):
        return error(429, "LimitExceededException", "Rate exceeded")
    if request.method == "POST":
        return await _post(gateway, request, api_id, connection_id)
    connection = _find(gateway, api_id, connection_id)
    if connection is None:
        return _gone(connection_id)
    if request.method == "GET":
        return web.json_response(
            {
                "connectedAt": iso8601(connection.connected_at),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
                "lastActiveAt": iso8601(connection.last_active_at),
            },
            headers={"x-amzn-RequestId": str(uuid.uuid4())},
        )
    gateway.close_connection(connection, WSCloseCode.OK, "")
    return web.Response(status=204, headers={"x-amzn-RequestId": str(uuid.uuid4())})


async def _post(
    gateway: LocalGateway, request: web.Request, api_id: str | None, connection_id: str
) -> web.StreamResponse:
    limit = gateway.limits.max_post_bytes
    too_large = error(413, "PayloadTooLargeException", "Request entity too large")
    if request.content_length is not None and request.content_length > limit:
        return too_large
    data = bytearray()
    while True:
        chunk = await request.content.read(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > limit:
            return too_large
    connection = _find(gateway, api_id, connection_id)
    if connection is None:
        return _gone(connection_id)
    if gateway.buffered_bytes(connection) + len(data) > gateway.limits.max_client_buffer_bytes:
        return error(429, "LimitExceededException", "Client buffer full")
    if not gateway.send(connection, bytes(data)):
        return _gone(connection_id)
    return web.Response(status=200, headers={"x-amzn-RequestId": str(uuid.uuid4())})
