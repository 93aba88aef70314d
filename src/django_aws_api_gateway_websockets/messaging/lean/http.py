"""The lean transport's HTTP/1.1 client: one connection per request in flight, kept alive and
pooled per origin, on an asyncio event loop.

It does what posting to the Management API needs and nothing more: write a request that is
already bytes, parse the status line, headers and a body framed by ``Content-Length``, chunked
encoding or the end of the stream (``100 Continue`` skipped), and keep the connection when
HTTP/1.1 allows. :class:`Pool` holds the kept-alive connections of one origin, at most
``lean_in_flight`` in use at once, opening new ones a few at a time. Read timeouts are kept by
:class:`Deadlines`, one loop timer per tick rather than one per request.

Why a hand-written client: the alternatives were measured on this workload (one small signed
POST per connection, thousands per broadcast), CPU time per post on this project's 2-core
machines: ours 122-140 µs; awscrt 86-111 µs is the only clearly cheaper one, but it does not
support ``fork()`` (gunicorn forks its workers after loading the app); pycurl ~120 µs (no
cheaper), aiohttp ~300 µs, urllib3 ~750 µs, httpx ~3,000 µs. For a 10,000-connection broadcast
that CPU is the wall (``bench/README.md``).
"""

from __future__ import annotations

import asyncio
import math
import sys
from dataclasses import dataclass
from typing import cast

from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from .route import LeanRoute

#: Idle keep-alive connections older than this are closed rather than reused (seconds).
IDLE_TIMEOUT = 20.0
#: Connections being opened at once per origin.
CONNECTS_AT_ONCE = 32
#: A read timeout fires on the first tick of this many seconds at or after it.
DEADLINE_TICK = 0.01
_MAX_HEAD = 65536


class BrokenError(Exception):
    """The connection broke; ``fresh`` is True when nothing of a response had arrived."""

    def __init__(self, message: str, *, fresh: bool) -> None:
        super().__init__(message)
        self.fresh = fresh


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


_shared_values: dict[str, str] = {}


def _shared(value: str) -> str:
    """One string object per distinct header value (the ``Date``, ``Server``...), so that the
    responses kept in a broadcast's outcomes do not hold thousands of copies."""
    if len(_shared_values) > 256:
        _shared_values.clear()
    return _shared_values.setdefault(value, value)


_header_names: dict[str, str] = {}


def _header_name(raw: str) -> str:
    """The lower-case, interned form of a header name as received (remembered)."""
    if len(_header_names) > 256:
        _header_names.clear()
    name = _header_names[raw] = sys.intern(raw.strip().lower())
    return name


class Deadlines:
    """The read deadlines of one loop's requests in flight, grouped by tick.

    A loop timer per request (``call_later`` and its ``cancel``) was a fifth of the sender's
    CPU in a broadcast; here a request joins the set of its tick (its deadline rounded up to
    :data:`DEADLINE_TICK`) and leaves it when answered, and one timer per tick times out
    whatever is left in it: never early, at most a tick late.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._ticks: dict[int, set[HTTPConnection]] = {}

    def add(self, conn: HTTPConnection, timeout: float) -> int:
        """Time ``conn`` out ``timeout`` seconds from now; the tick, for :meth:`discard`."""
        tick = math.ceil((self._loop.time() + timeout) / DEADLINE_TICK)
        waiting = self._ticks.get(tick)
        if waiting is None:
            waiting = self._ticks[tick] = set()
            self._loop.call_at(tick * DEADLINE_TICK, self._expire, tick)
        waiting.add(conn)
        return tick

    def discard(self, conn: HTTPConnection, tick: int) -> None:
        waiting = self._ticks.get(tick)
        if waiting is not None:
            waiting.discard(conn)
            if not waiting:  # its timer finds nothing; a request landing on it starts another
                del self._ticks[tick]

    def _expire(self, tick: int) -> None:
        for conn in self._ticks.pop(tick, ()):
            conn.timed_out()


class HTTPConnection(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time; its read deadline is kept
    by ``deadlines``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, deadlines: Deadlines) -> None:
        self._loop = loop
        self._deadlines = deadlines
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0
        self.idle_since = 0.0
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._tick = 0  # of the read deadline; 0: none pending
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: dict[str, str] | None = None
        self._length: int | None = None
        self._chunked = False
        self._until_eof = False
        self._keep_alive = True
        self._body = bytearray()
        self._got_bytes = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # nothing was asked: the stream is out of step
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except (ValueError, IndexError) as error:
            self._fail(BrokenError(f"malformed HTTP response: {error}", fresh=False))
            self.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers is not None and self._until_eof:
            self._complete(bytes(self._buf))
            return
        reason = str(exc) if exc else "connection closed by the server"
        self._fail(BrokenError(reason, fresh=not self._got_bytes))

    # requests
    def request(self, data: bytes, timeout: float) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._reset()
        self._buf.clear()
        waiter: asyncio.Future[Response] = self._loop.create_future()
        self._waiter = waiter
        self._tick = self._deadlines.add(self, timeout)
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def timed_out(self) -> None:
        """The read deadline passed (called by :class:`Deadlines`)."""
        self._tick = 0
        self._fail(TimeoutError("read timeout"))
        self.close()

    def _clear_deadline(self) -> None:
        if self._tick:
            self._deadlines.discard(self, self._tick)
            self._tick = 0

    def _fail(self, error: BaseException) -> None:
        self._clear_deadline()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _complete(self, body: bytes) -> None:
        self._clear_deadline()
        self.requests += 1
        waiter = self._waiter
        assert self._headers is not None
        keep_alive = self._keep_alive and not self._buf
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._headers, body, keep_alive))

    def _parse(self) -> None:
        buf = self._buf
        while self._headers is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise ValueError("response head too large")
                return
            head = buf[:end].decode("latin-1").split("\r\n")
            del buf[: end + 4]
            version, _, rest = head[0].partition(" ")
            status = int(rest[:3])
            if 100 <= status < 200:
                continue  # interim response (100 Continue): the real one follows
            headers: dict[str, str] = {}
            for line in head[1:]:
                raw_name, _, value = line.partition(":")
                name = _header_names.get(raw_name) or _header_name(raw_name)
                value = value.strip()
                if name != "x-amzn-requestid":
                    value = _shared(value)
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._status = status
            self._headers = headers
            connection = headers.get("connection", "").lower()
            self._keep_alive = version == "HTTP/1.1" and "close" not in connection
            if status in (204, 304):
                self._length = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self._chunked = True
            elif "content-length" in headers:
                self._length = int(headers["content-length"])
            else:
                self._until_eof = True
                self._keep_alive = False
        if self._length is not None:
            if len(buf) >= self._length:
                body = bytes(buf[: self._length])
                del buf[: self._length]
                self._complete(body)
        elif self._chunked:
            self._parse_chunks()

    def _parse_chunks(self) -> None:
        buf = self._buf
        while True:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buf[:line_end]).split(b";")[0].strip(), 16)
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", line_end)
                if buf[line_end : line_end + 4] == b"\r\n\r\n":
                    trailer_end = line_end
                if trailer_end < 0:
                    return
                del buf[: trailer_end + 4]
                self._complete(bytes(self._body))
                return
            if len(buf) < line_end + 2 + size + 2:
                return
            self._body += buf[line_end + 2 : line_end + 2 + size]
            del buf[: line_end + 2 + size + 2]


class Pool:
    """Kept-alive connections to one origin, at most ``limit`` in use at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, route: LeanRoute, limit: int) -> None:
        self._loop = loop
        self._route = route
        self._idle: list[HTTPConnection] = []
        self._all: set[HTTPConnection] = set()
        self._slots = asyncio.Semaphore(limit)
        # New connections are opened a few at a time: hundreds of simultaneous SYNs (or TLS
        # handshakes) overflow a server's listen backlog and cost a one-second SYN retry.
        self._connecting = asyncio.Semaphore(CONNECTS_AT_ONCE)
        self._deadlines = Deadlines(loop)
        self.limit = limit
        self.opened = 0

    async def acquire(self) -> HTTPConnection:
        await self._slots.acquire()
        try:
            now = self._loop.time()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and now - conn.idle_since < IDLE_TIMEOUT:
                    return conn
                self._drop(conn)
            return await self._open()
        except BaseException:
            self._slots.release()
            raise

    async def _open(self) -> HTTPConnection:
        async with self._connecting:
            return await self._connect()

    async def _connect(self) -> HTTPConnection:
        route = self._route
        try:
            _, conn = await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: HTTPConnection(self._loop, self._deadlines),
                    route.host,
                    route.port,
                    ssl=route.ssl_context,
                    server_hostname=route.host if route.ssl_context else None,
                ),
                route.connect_timeout,
            )
        except TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=route.endpoint_url) from error
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=route.endpoint_url) from error
        self.opened += 1
        self._all.add(conn)
        return conn

    def release(self, conn: HTTPConnection, reuse: bool) -> None:
        if reuse and not conn.closed:
            conn.idle_since = self._loop.time()
            self._idle.append(conn)
        else:
            self._drop(conn)
        self._slots.release()

    def _drop(self, conn: HTTPConnection) -> None:
        conn.close()
        self._all.discard(conn)

    def prune(self) -> int:
        """Close idle connections past :data:`IDLE_TIMEOUT`; the number still idle."""
        now = self._loop.time()
        keep = []
        for conn in self._idle:
            if conn.closed or now - conn.idle_since >= IDLE_TIMEOUT:
                self._drop(conn)
            else:
                keep.append(conn)
        self._idle = keep
        return len(keep)

    def open_connections(self) -> int:
        """Connections open to the origin, idle or in use."""
        return len(self._all)

    def close(self) -> None:
        for conn in list(self._all):
            self._drop(conn)
        self._idle.clear()
