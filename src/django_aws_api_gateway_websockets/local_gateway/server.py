"""The local gateway: a WebSocket server that calls Django the way API Gateway does.

Browsers connect to ``ws://host:port/<api_id>/<stage>``; every ``$connect``, message and
``$disconnect`` becomes an HTTP POST to the route's integration URI (``HTTP_PROXY``), with the
headers API Gateway sends. The same server answers the Management API (``@connections``), see
:mod:`.management_api`. Nothing here imports Django: the configuration arrives as
:class:`~.config.GatewaySpec` objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict, CIMultiDictProxy

from ..wire import SECRET_HEADER
from . import management_api
from .config import GatewaySpec, RouteTarget
from .frames import FrameLimitedWebSocketResponse
from .ids import new_connection_id, new_request_id, new_trace_id
from .limits import Limits

logger = logging.getLogger("django_aws_api_gateway_websockets.local_gateway")

INTERNAL_ERROR = "Internal server error"
TIMED_OUT = "Endpoint request timed out"
FORBIDDEN = "Forbidden"

#: Client handshake headers never forwarded to ``$connect``: hop-by-hop headers, and every
#: header the gateway sets itself (so a client cannot forge its connection id or the secret).
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "host",
        "content-length",
        "content-type",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-real-ip",
        "connectionid",
        SECRET_HEADER.lower(),
    }
)

Outcome = Literal["ok", "timeout", "unreachable"]


@dataclass(frozen=True)
class BackendResult:
    """The answer of one integration request."""

    outcome: Outcome
    status: int = 0
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds the integration request took.
    duration: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.outcome == "ok" and 200 <= self.status < 300


@dataclass(frozen=True)
class Event:
    """One thing the gateway did, kept in :attr:`LocalGateway.events` (for tests and logs).

    ``kind`` is ``connect``, ``message``, ``disconnect`` (integration calls; ``status`` is the
    backend's, 0 when it was unreachable or timed out, ``detail`` the outcome), ``closed``
    (``status`` is the close code) or ``refused`` (a handshake refused before ``$connect``).
    """

    kind: str
    connection_id: str
    route_key: str = ""
    status: int = 0
    detail: str = ""
    #: Seconds the integration request took.
    duration: float = 0.0
    at: float = field(default_factory=time.monotonic)


@dataclass(eq=False)
class Connection:
    """One open client socket."""

    connection_id: str
    gateway: GatewaySpec
    ws: web.WebSocketResponse
    transport: asyncio.Transport | None
    source_ip: str
    user_agent: str
    headers: CIMultiDictProxy[str]
    query: str
    connected_at: datetime
    last_active_at: datetime
    opened: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    outbox: asyncio.Queue[bytes] = field(default_factory=asyncio.Queue)
    queued_bytes: int = 0
    #: Set once the gateway stops treating the connection as open (Management API: 410).
    gone: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    #: Benchmark mode: a connection with no client socket (see ``add_virtual_connections``).
    virtual: bool = False

    def touch(self) -> None:
        self.last_active = time.monotonic()
        self.last_active_at = datetime.now(timezone.utc)


def _json_response(status: int, payload: Mapping[str, Any]) -> web.Response:
    return web.json_response(dict(payload), status=status)


class RateWindow:
    """At most ``limit`` events in any second (0: unlimited)."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def admit(self, limit: int) -> bool:
        if not limit:
            return True
        now = time.monotonic()
        while self._times and now - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= limit:
            return False
        self._times.append(now)
        return True


class _VirtualSocket:
    """The socket of a virtual connection: open until closed, and nothing to write to."""

    closed = False
    close_code: int | None = None

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"") -> bool:
        self.closed, self.close_code = True, code
        return True


class LocalGateway:
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
        self.host = host
        self.port = port
        self.limits = limits or Limits()
        self.forwarded_proto = forwarded_proto
        self.backend_keep_alive = backend_keep_alive
        self.gateways: dict[str, GatewaySpec] = {}
        self.connections: dict[str, Connection] = {}
        self.events: deque[Event] = deque(maxlen=event_history)
        self.failed_disconnects: set[str] = set()
        #: Frames posted to virtual connections (counted, then dropped).
        self.virtual_frames = 0
        self._connect_window = RateWindow()
        self._management_window = RateWindow()
        self._background: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._backend_slots: asyncio.Semaphore | None = None
        self._backend_slots_size = 0
        self._stopping = False
        for spec in gateways:
            self.add_gateway(spec)

    # -- configuration ---------------------------------------------------------------------------

    def add_gateway(self, spec: GatewaySpec) -> None:
        """Serve ``spec`` at ``/<api_id>/<stage>`` (replacing a spec with the same api_id)."""
        self.gateways[spec.api_id] = spec
        for problem in spec.warnings():
            logger.warning("%s: %s", spec.name, problem)

    def remove_gateway(self, api_id: str) -> None:
        self.gateways.pop(api_id, None)

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        return f"http://{self._url_host}:{self.port}"

    @property
    def _url_host(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a bind address, not a bind
            host = "127.0.0.1"
        return f"[{host}]" if ":" in host else host

    def connect_url(self, api_id: str) -> str:
        spec = self.gateways[api_id]
        return f"ws://{self._url_host}:{self.port}{spec.prefix}/{spec.stage}"

    # -- life cycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen (on ``port``; with 0, on a free port that :attr:`port` then holds)."""
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            # Django's development server (and pytest-django's live server) answers a request
            # on a kept-alive connection ~40 ms late (its two writes meet our delayed ACK), so
            # by default every integration request opens a connection, as urllib does.
            connector=aiohttp.TCPConnector(limit=0, force_close=not self.backend_keep_alive),
            skip_auto_headers=("User-Agent", "Content-Type"),
        )
        app = web.Application(client_max_size=max(self.limits.max_post_bytes, 1) * 8)
        # [\s\S]: any path, newlines (%0A) included; ".*" left those to aiohttp's plain 404.
        app.router.add_route("*", r"/{tail:[\s\S]*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        try:
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
            await site.start()
        except BaseException:
            await self._runner.cleanup()
            self._runner = None
            await self._session.close()
            self._session = None
            raise
        addresses = self._runner.addresses
        if addresses:
            self.port = int(addresses[0][1])

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
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for pending ``$disconnect`` calls and connection closes."""
        if timeout is None:
            timeout = self._longest_timeout() + self.limits.close_timeout + 1
        pending = {t for t in self._background if not t.done()}
        if pending:
            _done, late = await asyncio.wait(pending, timeout=timeout)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)

    def _longest_timeout(self) -> float:
        if self.limits.integration_timeout is not None:
            return self.limits.integration_timeout
        timeouts = [r.timeout for g in self.gateways.values() for r in g.routes.values()]
        return max(timeouts, default=29.0)

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _record(self, event: Event) -> None:
        self.events.append(event)

    # -- HTTP entry point -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.raw_path.split("?", 1)[0]
        if "/@connections/" in raw_path:
            return await management_api.handle(self, request, raw_path)
        spec = self._gateway_for_path(request.path)
        upgrade = request.headers.get("Upgrade", "").lower() == "websocket"
        if raw_path == "/" and request.method in ("GET", "HEAD") and not upgrade:
            return web.Response(text=self._index(), content_type="text/plain")
        if spec is not None and request.method == "GET":
            return await self._websocket(request, spec)
        return _json_response(404, {"message": "Not Found"})

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

    # -- connections ----------------------------------------------------------------------------

    def _new_connection_id(self) -> str:
        while True:
            connection_id = new_connection_id()
            if connection_id not in self.connections:
                return connection_id

    def add_virtual_connections(self, api_id: str, count: int) -> list[str]:
        """Benchmark mode: register ``count`` open connections on the gateway ``api_id`` that
        have no client socket, and return their ids. The Management API treats them as any
        other (POST counts the frame in :attr:`virtual_frames` and drops it, GET describes
        them, DELETE closes them); no ``$connect`` or ``$disconnect`` is sent for them and they
        never time out."""
        spec = self.gateways[api_id]
        now = datetime.now(timezone.utc)
        headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())
        ids = []
        for _ in range(count):
            connection_id = self._new_connection_id()
            self.connections[connection_id] = Connection(
                connection_id=connection_id,
                gateway=spec,
                ws=_VirtualSocket(),  # type: ignore[arg-type]
                transport=None,
                source_ip="127.0.0.1",
                user_agent="virtual",
                headers=headers,
                query="",
                connected_at=now,
                last_active_at=now,
                virtual=True,
            )
            ids.append(connection_id)
        return ids

    async def _websocket(self, request: web.Request, spec: GatewaySpec) -> web.StreamResponse:
        limits = self.limits
        if self._stopping:
            return _json_response(503, {"message": "Service Unavailable"})
        probe = web.WebSocketResponse()
        if not probe.can_prepare(request).ok:
            return _json_response(426, {"message": "Upgrade Required"})
        if not self._connect_window.admit(limits.connections_per_second):
            self._record(Event("refused", "", "$connect", 429, "connection rate"))
            return _json_response(429, {"message": "Too Many Requests"})
        connection_id = self._new_connection_id()
        request_id = new_request_id()
        source_ip = request.remote or ""
        user_agent = request.headers.get("User-Agent", "")
        protocols: tuple[str, ...] = ()
        route = spec.routes.get("$connect")
        if route is not None:
            context = _Context(
                spec=spec,
                connection_id=connection_id,
                request_id=request_id,
                source_ip=source_ip,
                user_agent=user_agent,
                event_type="CONNECT",
                route_key="$connect",
                connected_at=time.time(),
                headers=request.headers,
                query=request.query_string,
            )
            result = await self._integrate(route, context, b"", client_headers=request.headers)
            self._record(
                Event(
                    "connect",
                    connection_id,
                    "$connect",
                    result.status,
                    result.outcome,
                    result.duration,
                )
            )
            if result.outcome == "timeout":
                return _json_response(504, {"message": TIMED_OUT})
            if result.outcome == "unreachable" or result.status >= 500:
                return _json_response(500, {"message": INTERNAL_ERROR})
            if not result.accepted:
                return web.Response(
                    status=result.status,
                    body=result.body,
                    content_type=_content_type(result.headers),
                )
            protocol = result.headers.get("Sec-WebSocket-Protocol")
            if protocol:
                protocols = tuple(p.strip() for p in protocol.split(",") if p.strip())
        connected_at = datetime.now(timezone.utc)
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
            return _json_response(503, {"message": "Service Unavailable"})
        try:
            await ws.prepare(request)
        except (ConnectionError, RuntimeError, OSError):
            # The client left while Django was deciding.
            self._record(Event("closed", connection_id, status=1006))
            await self._disconnect(connection)
            raise
        self.connections[connection_id] = connection
        writer = asyncio.ensure_future(self._writer(connection))
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
            except asyncio.TimeoutError:
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

    async def _close(self, connection: Connection, code: int, reason: str) -> None:
        """Close the socket with ``code``; drop it when the client does not answer in time."""
        ws = connection.ws
        if ws.closed:
            return
        if connection.virtual:
            await ws.close(code=code)
            connection.gone = True
            self.connections.pop(connection.connection_id, None)
            self._record(Event("closed", connection.connection_id, status=code))
            connection.finished.set()
            return
        try:
            await asyncio.wait_for(
                ws.close(code=code, message=reason.encode()), self.limits.close_timeout
            )
        except (asyncio.TimeoutError, ConnectionError, RuntimeError):
            if connection.transport is not None:
                connection.transport.abort()

    def close_connection(self, connection: Connection, code: int, reason: str) -> None:
        """Stop treating ``connection`` as open at once, and close it in the background."""
        connection.gone = True
        self._spawn(self._close(connection, code, reason))

    def drop(self, connection: Connection) -> None:
        """Drop a socket that cannot be written to, without a closing handshake."""
        connection.gone = True
        if connection.transport is not None:
            connection.transport.abort()

    async def _finish(self, connection: Connection) -> None:
        connection.gone = True
        self.connections.pop(connection.connection_id, None)
        if not connection.ws.closed:
            await self._close(connection, WSCloseCode.OK, "")
        code = connection.ws.close_code
        self._record(Event("closed", connection.connection_id, status=int(code or 1006)))
        self._spawn(self._disconnect(connection))
        connection.finished.set()

    async def _disconnect(self, connection: Connection) -> None:
        spec = connection.gateway
        route = spec.routes.get("$disconnect")
        if route is None:
            return
        context = _Context(
            spec=spec,
            connection_id=connection.connection_id,
            request_id=new_request_id(),
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            event_type="DISCONNECT",
            route_key="$disconnect",
            connected_at=connection.connected_at.timestamp(),
            headers=connection.headers,
            query=connection.query,
        )
        try:
            result = await self._integrate(route, context, b"")
        except asyncio.CancelledError:
            self.failed_disconnects.add(connection.connection_id)
            raise
        self._record(
            Event(
                "disconnect",
                connection.connection_id,
                "$disconnect",
                result.status,
                result.outcome,
                result.duration,
            )
        )
        if not result.accepted:
            logger.warning(
                "$disconnect for %s was not accepted (%s %s)",
                connection.connection_id,
                result.outcome,
                result.status,
            )
            self.failed_disconnects.add(connection.connection_id)

    def pop_failed_disconnects(self) -> list[str]:
        """The connection ids whose ``$disconnect`` the backend did not accept (unreachable,
        timed out, non-2xx) since the last call, so the caller can mark them another way."""
        ids = sorted(self.failed_disconnects)
        self.failed_disconnects.clear()
        return ids

    # -- messages -------------------------------------------------------------------------------

    async def _message(self, connection: Connection, text: str) -> None:
        spec = connection.gateway
        request_id = new_request_id()
        route_key = spec.selector.select(text, spec.routes.keys())
        if route_key is None:
            self._record(Event("message", connection.connection_id, "", 403, "no route"))
            await self._send_error(connection, FORBIDDEN, request_id)
            return
        route = spec.routes[route_key]
        context = _Context(
            spec=spec,
            connection_id=connection.connection_id,
            request_id=request_id,
            source_ip=connection.source_ip,
            user_agent=connection.user_agent,
            event_type="MESSAGE",
            route_key=route_key,
            connected_at=connection.connected_at.timestamp(),
            headers=connection.headers,
            query=connection.query,
        )
        result = await self._integrate(route, context, text.encode("utf-8"))
        self._record(
            Event(
                "message",
                connection.connection_id,
                route_key,
                result.status,
                result.outcome,
                result.duration,
            )
        )
        if result.outcome == "timeout":
            await self._send_error(connection, TIMED_OUT, request_id)
        elif result.outcome == "unreachable" or result.status >= 500:
            await self._send_error(connection, INTERNAL_ERROR, request_id)
        elif route.two_way and result.body:
            self.send(connection, result.body)

    async def _send_error(self, connection: Connection, message: str, request_id: str) -> None:
        frame = {
            "message": message,
            "connectionId": connection.connection_id,
            "requestId": request_id,
        }
        self.send(connection, json.dumps(frame).encode())

    def send(self, connection: Connection, data: bytes) -> bool:
        """Queue ``data`` for the client as one frame (text when it is UTF-8, else binary), in
        order; ``False`` when the socket is gone. A slow client never blocks the caller."""
        if connection.gone or connection.ws.closed:
            return False
        if connection.virtual:
            self.virtual_frames += 1
            return True
        connection.outbox.put_nowait(data)
        connection.queued_bytes += len(data)
        return True

    def buffered_bytes(self, connection: Connection) -> int:
        """Bytes waiting to reach the client: queued frames and the socket's write buffer."""
        transport = connection.transport
        pending = transport.get_write_buffer_size() if transport is not None else 0
        return connection.queued_bytes + pending

    async def _writer(self, connection: Connection) -> None:
        """Write queued frames to the client, one at a time."""
        ws = connection.ws
        while True:
            data = await connection.outbox.get()
            connection.queued_bytes -= len(data)
            if ws.closed:
                continue
            try:
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(text)
            except (ConnectionError, RuntimeError):
                self.drop(connection)

    # -- integration requests -------------------------------------------------------------------

    def _slots(self) -> asyncio.Semaphore | None:
        size = self.limits.backend_concurrency
        if not size:
            return None
        if self._backend_slots is None or self._backend_slots_size != size:
            self._backend_slots = asyncio.Semaphore(size)
            self._backend_slots_size = size
        return self._backend_slots

    async def _integrate(
        self,
        route: RouteTarget,
        context: _Context,
        body: bytes,
        *,
        client_headers: CIMultiDictProxy[str] | None = None,
    ) -> BackendResult:
        """POST to the route's integration as ``HTTP_PROXY`` does."""
        headers = self._headers(route, context, client_headers)
        url = route.uri
        if client_headers is not None and context.query:
            url = f"{url}{'&' if '?' in url else '?'}{context.query}"
        timeout = self.limits.integration_timeout
        if timeout is None:
            timeout = route.timeout
        slots = self._slots()
        if slots is None:
            return await self._post(url, headers, body, timeout)
        async with slots:
            return await self._post(url, headers, body, timeout)

    async def _post(
        self, url: str, headers: CIMultiDict[str], body: bytes, timeout: float
    ) -> BackendResult:
        session = self._session
        if session is None:
            return BackendResult("unreachable")
        started = time.monotonic()
        try:
            async with session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                payload = await response.read()
                return BackendResult(
                    "ok",
                    response.status,
                    payload,
                    CIMultiDict(response.headers),
                    time.monotonic() - started,
                )
        except asyncio.TimeoutError:
            return BackendResult("timeout", duration=time.monotonic() - started)
        except (aiohttp.ClientError, OSError, ValueError) as error:
            logger.warning("integration %s unreachable: %s", url, error)
            return BackendResult("unreachable", duration=time.monotonic() - started)

    def _headers(
        self,
        route: RouteTarget,
        context: _Context,
        client_headers: CIMultiDictProxy[str] | None,
    ) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict()
        mapped = {name.lower() for name in route.mapped_headers}
        if client_headers is not None:
            for name, value in client_headers.items():
                lowered = name.lower()
                if lowered in _NOT_FORWARDED or lowered in mapped or lowered.startswith("x-amzn-"):
                    continue
                headers.add(name, value)
        else:
            headers["User-Agent"] = f"AmazonAPIGateway_{context.spec.api_id}"
        headers["X-Forwarded-For"] = context.source_ip
        headers["X-Forwarded-Port"] = str(self.port)
        headers["X-Forwarded-Proto"] = self.forwarded_proto
        headers["X-Amzn-Trace-Id"] = new_trace_id()
        headers["X-Amzn-Apigateway-Api-Id"] = context.spec.api_id
        for name, source in route.mapped_headers.items():
            resolved = context.resolve(source, self)
            if resolved is not None:
                headers[name] = resolved
        return headers


def _content_type(headers: Mapping[str, str]) -> str:
    value = headers.get("Content-Type") or "text/plain"
    return value.split(";", 1)[0].strip() or "text/plain"


@dataclass(frozen=True)
class _Context:
    """The ``context.*`` values of one event, for request-parameter mappings."""

    spec: GatewaySpec
    connection_id: str
    request_id: str
    source_ip: str
    user_agent: str
    event_type: str
    route_key: str
    connected_at: float
    headers: CIMultiDictProxy[str]
    query: str

    def resolve(self, source: str, gateway: LocalGateway) -> str | None:
        if len(source) >= 2 and source[0] == source[-1] == "'":
            return source[1:-1]
        values = {
            "context.connectionId": self.connection_id,
            "context.requestId": self.request_id,
            "context.apiId": self.spec.api_id,
            "context.stage": self.spec.stage,
            "context.routeKey": self.route_key,
            "context.eventType": self.event_type,
            "context.domainName": f"{gateway._url_host}:{gateway.port}",
            "context.requestTimeEpoch": str(int(time.time() * 1000)),
            "context.connectedAt": str(int(self.connected_at * 1000)),
            "context.identity.sourceIp": self.source_ip,
            "context.identity.userAgent": self.user_agent,
        }
        if source in values:
            return values[source]
        if self.event_type != "CONNECT":
            return None
        if source.startswith("route.request.header."):
            return self.headers.get(source[len("route.request.header.") :])
        if source.startswith("route.request.querystring."):
            name = source[len("route.request.querystring.") :]
            return dict(parse_qsl(self.query, keep_blank_values=True)).get(name)
        return None
