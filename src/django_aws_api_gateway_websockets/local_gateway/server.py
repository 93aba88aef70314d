"""The local gateway: a WebSocket server that calls Django the way API Gateway does.

Browsers connect to ``ws://host:port/<api_id>/<stage>``; every ``$connect``, message and
``$disconnect`` becomes an HTTP POST to the route's integration URI (``HTTP_PROXY``, see
:mod:`.integration`), with the headers API Gateway sends. The same server answers the
Management API (``@connections``, see :mod:`.management_api`), which reaches the connections
through the public methods of :class:`~.hub.ConnectionHub`, the server's base (by way of
:class:`~.disconnects.DisconnectingHub`, which sends ``$disconnect``). Nothing here
imports Django: the configuration arrives as :class:`~.config.GatewaySpec` objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDictProxy

from ..redaction import redact_loggers
from .config import GatewaySpec
from .connection import Connection
from .context import RequestContext
from .disconnects import DisconnectingHub
from .frames import FrameLimitedWebSocketResponse
from .front import Front
from .hub import Event
from .ids import new_request_id
from .integration import (
    FORBIDDEN,
    HttpProxyIntegration,
    connect_refusal,
    error_frame,
    message_error,
    message_response,
)
from .limits import Limits, RateWindow
from .log import logger
from .management_api import ManagementApi

#: ``Connection`` and ``Event`` were defined here; importing them from here still works.
__all__ = ["Connection", "Event", "LocalGateway"]

#: How long stopping waits for aiohttp's requests in progress (its runner's default).
_SHUTDOWN_TIMEOUT = 60.0
_AIOHTTP_LOGGERS = (
    "aiohttp.access",
    "aiohttp.client",
    "aiohttp.server",
    "aiohttp.web",
    "aiohttp.websocket",
)


class LocalGateway(DisconnectingHub):
    """The server. Use :meth:`start` and :meth:`stop` inside an event loop (or the
    thread runner in :mod:`.runner`).

    ``limits`` may be replaced at any time; each check reads the current value.
    ``forwarded_proto`` is sent as ``X-Forwarded-Proto`` (``https`` behind a TLS proxy).
    ``backend_keep_alive`` reuses connections to the backend (faster with gunicorn, slower
    with Django's development server).
    """

    def __init__(
        self,
        gateways: Iterable[GatewaySpec] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 8001,
        limits: Limits | None = None,
        forwarded_proto: str = "http",
        event_history: int = 10000,
        backend_keep_alive: bool = False,
    ) -> None:
        super().__init__(limits=limits, event_history=event_history)
        self.host = host
        self.port = port
        self.forwarded_proto = forwarded_proto
        self.backend_keep_alive = backend_keep_alive
        self.integration = HttpProxyIntegration()
        self.management_api = ManagementApi(self)
        self._connect_window = RateWindow()
        self._listener: asyncio.Server | None = None
        self._stopping = False
        for spec in gateways:
            self.add_gateway(spec)

    @property
    def domain_name(self) -> str:
        """``host:port`` clients reach the running server at (``context.domainName``)."""
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a bind address, not a bind
            host = "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self.domain_name}"

    def connect_url(self, api_id: str) -> str:
        spec = self.gateways[api_id]
        return f"ws://{self.domain_name}{spec.prefix}/{spec.stage}"

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (on ``port``; with 0, on a free port that :attr:`port` then holds)."""
        # Handshake URLs carry tokens: no log line of ours or aiohttp's may show them.
        redact_loggers(logger.name, *_AIOHTTP_LOGGERS)
        await self.integration.open(keep_alive=self.backend_keep_alive)
        # aiohttp's low-level server (no router, middleware or Application per request) gets
        # every request the front hands it, newlines in paths included, at _dispatch.
        self._aiohttp = web.Server(self._dispatch, access_log=None)
        self._front = Front(self.management_api, self._aiohttp)
        try:
            self._listener = await asyncio.get_running_loop().create_server(
                self._front, self.host, self.port, reuse_address=True, backlog=128
            )
        except BaseException:
            await self.integration.close()
            raise
        if self._listener.sockets:
            self.port = int(self._listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close every socket with 1001, send their ``$disconnect`` and wait for them, then
        stop listening."""
        self._stopping = True
        connections = list(self.connections.values())
        await asyncio.gather(
            *(self._close(c, WSCloseCode.GOING_AWAY, "Going away") for c in connections),
            return_exceptions=True,
        )
        if connections:
            await asyncio.wait(
                [asyncio.ensure_future(c.finished.wait()) for c in connections],
                timeout=self.limits.close_timeout + 1,
            )
        await self.drain()
        if self._listener is not None:
            self._listener.close()
            self._front.close()
            self._aiohttp.pre_shutdown()
            await self._aiohttp.shutdown(_SHUTDOWN_TIMEOUT)
            self._listener = None
        await self.integration.close()

    # -- HTTP entry point -----------------------------------------------------------------------

    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        if request.headers.get("Expect") is not None:
            refusal = await _answer_expect(request)
            if refusal is not None:
                return refusal
        raw_path = request.raw_path.split("?", 1)[0]
        if "/@connections/" in raw_path:
            return await self.management_api.handle(request, raw_path)
        spec = self._gateway_for_path(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if raw_path == "/" and request.method in ("GET", "HEAD") and not upgrade:
            return web.Response(text=self._index(), content_type="text/plain")
        if spec is not None and request.method == "GET":
            return await self._websocket(request, spec)
        return message_response(404, "Not Found")

    def _gateway_for_path(self, path: str) -> GatewaySpec | None:
        """``/<api_id>/<stage>`` or ``/<api_id>``; with one gateway also ``/`` and ``/<stage>``."""
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in self.gateways:
            spec = self.gateways[parts[0]]
            if len(parts) == 1 or (len(parts) == 2 and parts[1] == spec.stage):
                return spec
            return None
        if len(self.gateways) == 1:
            spec = next(iter(self.gateways.values()))
            if not parts or (len(parts) == 1 and parts[0] == spec.stage):
                return spec
        return None

    def _index(self) -> str:
        lines = ["Local API Gateway (WebSocket)"]
        for spec in self.gateways.values():
            lines.append(f"{spec.name}: {self.connect_url(spec.api_id)}")
        return "\n".join(lines) + "\n"

    # -- a connection's life --------------------------------------------------------------------

    def _context(
        self,
        spec: GatewaySpec,
        event_type: str,
        route_key: str,
        *,
        connection_id: str,
        request_id: str,
        source_ip: str,
        user_agent: str,
        connected_at: float,
        headers: CIMultiDictProxy[str],
        query: str,
    ) -> RequestContext:
        return RequestContext(
            api_id=spec.api_id,
            stage=spec.stage,
            connection_id=connection_id,
            request_id=request_id,
            source_ip=source_ip,
            user_agent=user_agent,
            event_type=event_type,
            route_key=route_key,
            connected_at=connected_at,
            headers=headers,
            query=query,
            domain_name=self.domain_name,
            port=self.port,
            proto=self.forwarded_proto,
        )

    def _context_of(
        self, connection: Connection, event_type: str, route_key: str, request_id: str
    ) -> RequestContext:
        return self._context(
            connection.gateway,
            event_type,
            route_key,
            connection_id=connection.connection_id,
            request_id=request_id,
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            connected_at=connection.connected_at.timestamp(),
            headers=connection.headers,
            query=connection.query,
        )

    async def _websocket(self, request: web.BaseRequest, spec: GatewaySpec) -> web.StreamResponse:
        limits = self.limits
        if self._stopping:
            return message_response(503, "Service Unavailable")
        probe = web.WebSocketResponse()
        if not probe.can_prepare(request).ok:
            return message_response(426, "Upgrade Required")
        if not self._connect_window.admit(limits.connections_per_second):
            self._record(Event("refused", "", "$connect", 429, "connection rate"))
            return message_response(429, "Too Many Requests")
        connection_id = self._new_connection_id()
        source_ip = request.remote or ""
        user_agent = request.headers.get("User-Agent", "")
        protocols: tuple[str, ...] = ()
        route = spec.routes.get("$connect")
        if route is not None:
            context = self._context(
                spec,
                "CONNECT",
                "$connect",
                connection_id=connection_id,
                request_id=new_request_id(),
                source_ip=source_ip,
                user_agent=user_agent,
                connected_at=time.time(),
                headers=request.headers,
                query=request.query_string,
            )
            result = await self.integration.call(
                route,
                context,
                b"",
                self.limits,
                client_headers=request.headers,
                abandon=functools.partial(self._abandoned_connect, context),
            )
            self._record(Event.integration("connect", connection_id, "$connect", result))
            refusal = connect_refusal(result)
            if refusal is not None:
                return refusal
            protocols = result.subprotocols()
        connected_at = datetime.now(UTC)
        ws = FrameLimitedWebSocketResponse(
            max_frame_bytes=limits.max_frame_bytes,
            # aiohttp refuses a message of exactly max_msg_size bytes.
            max_msg_size=limits.max_message_bytes + 1,
            protocols=protocols,
            autoping=False,
            compress=False,
            timeout=limits.close_timeout,
        )
        connection = Connection(
            connection_id=connection_id,
            gateway=spec,
            ws=ws,
            transport=request.transport,
            source_ip=source_ip,
            user_agent=user_agent,
            headers=request.headers,
            query=request.query_string,
            connected_at=connected_at,
            last_active_at=connected_at,
        )
        if self._stopping:
            # Django accepted the connection: tell it the connection is gone.
            await self._disconnect(connection)
            return message_response(503, "Service Unavailable")
        try:
            await ws.prepare(request)
        except (ConnectionError, RuntimeError, OSError):
            # The client left while Django was deciding.
            self._record(Event("closed", connection_id, status=1006))
            await self._disconnect(connection)
            raise
        self.connections[connection_id] = connection
        writer = asyncio.ensure_future(connection.write_queued())
        try:
            await self._receive(connection)
        finally:
            writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            await self._finish(connection)
        return ws

    async def _receive(self, connection: Connection) -> None:
        ws = connection.ws
        while not connection.gone:
            limits = self.limits
            now = time.monotonic()
            deadline = min(
                connection.last_active + limits.idle_timeout,
                connection.opened + limits.max_connection_age,
            )
            if deadline <= now:
                await self._close(connection, WSCloseCode.GOING_AWAY, "Going away")
                return
            try:
                message = await ws.receive(timeout=deadline - now)
            except TimeoutError:
                continue
            if message.type is WSMsgType.TEXT:
                connection.touch()
                task = self._spawn(self._message(connection, str(message.data)))
                connection.tasks.add(task)
                task.add_done_callback(connection.tasks.discard)
            elif message.type is WSMsgType.BINARY:
                connection.touch()
                await self._close(
                    connection, WSCloseCode.UNSUPPORTED_DATA, "Binary frames are not supported"
                )
                return
            elif message.type is WSMsgType.PING:
                connection.touch()
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.pong(message.data)
            elif message.type is WSMsgType.PONG:
                connection.touch()
            else:  # CLOSE, CLOSING, CLOSED, ERROR
                return

    async def _message(self, connection: Connection, text: str) -> None:
        spec = connection.gateway
        request_id = new_request_id()
        route_key = spec.selector.select(text, spec.routes.keys())
        if route_key is None:
            self._record(Event("message", connection.connection_id, "", 403, "no route"))
            self.send(connection, error_frame(FORBIDDEN, connection.connection_id, request_id))
            return
        route = spec.routes[route_key]
        context = self._context_of(connection, "MESSAGE", route_key, request_id)
        result = await self.integration.call(route, context, text.encode("utf-8"), self.limits)
        self._record(Event.integration("message", connection.connection_id, route_key, result))
        error = message_error(result)
        if error is not None:
            self.send(connection, error_frame(error, connection.connection_id, request_id))
        elif route.two_way and result.body:
            self.send(connection, result.body)

    async def _finish(self, connection: Connection) -> None:
        connection.gone = True
        self.connections.pop(connection.connection_id, None)
        if not connection.ws.closed:
            await self._close(connection, WSCloseCode.OK, "")
        code = connection.ws.close_code
        self._record(Event("closed", connection.connection_id, status=int(code or 1006)))
        self._spawn(self._disconnect(connection))
        connection.finished.set()


async def _answer_expect(request: web.BaseRequest) -> web.StreamResponse | None:
    """``Expect: 100-continue`` gets its interim answer (what aiohttp's ``Application`` did
    before every handler); any other expectation 417 (``None``: go on). HTTP/1.0 has none."""
    if request.version != (1, 1):
        return None
    if request.headers["Expect"].lower() != "100-continue":
        return message_response(417, "Expectation Failed")
    await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    request.writer.output_size = 0
    return None
