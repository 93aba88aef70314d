"""The gateway's listening socket: a lean HTTP/1.1 front for the Management API.

A broadcast is thousands of small ``@connections`` POSTs. Through aiohttp each cost a task,
stream, request and response objects and several loop hops; :class:`FrontProtocol` parses
them itself and answers in ``data_received`` (after the injected latency, through the shared
:class:`~.limits.LatencyTimer` tick), kept alive, pipelined or split across reads. Everything
else — WebSocket handshakes, the index page, ``Expect``, ``Transfer-Encoding``, bodies over
``max_post_bytes``, anything it does not fully understand, a malformed request included — it
hands, with the bytes already read, to the protocol aiohttp's server would have created; at
the start of a connection or between requests. The decisions are
:meth:`~.management_api.ManagementApi.answer`'s, whichever path a request takes.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable
from http import HTTPStatus
from typing import cast

from .management_api import CONTENT_TYPE, Answer, ManagementApi

#: The request lines answered here; any other goes to aiohttp.
_REQUEST_LINE = re.compile(rb"(POST|GET|DELETE) (/[!-~]*) HTTP/1\.([01])\r\n")
_TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
#: The header lines of a head, each with its CRLF.
_FIELDS = re.compile(rb"(?:" + _TOKEN + rb":[^\r\n\x00]*\r\n)*")
#: The header lines the front looks at (found from the request line's LF on).
_WANTED = re.compile(
    rb"\n(content-length|connection|transfer-encoding|expect|upgrade):([^\r]*)", re.IGNORECASE
)
#: Request heads longer than this (without their end) go to aiohttp, which refuses them.
_MAX_HEAD = 16384
_HANDED_OFF = frozenset((b"transfer-encoding", b"expect", b"upgrade"))
#: Requests waiting for their latency per connection beyond which reading pauses.
_MAX_WAITING = 32
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class _Pending:
    """A request waiting for its latency tick; answered in arrival order per connection."""

    __slots__ = ("body", "keep_alive", "method", "path", "protocol", "ready", "version")

    def __init__(
        self, protocol: FrontProtocol, request: tuple[str, str, str, bool], body: bytes
    ) -> None:
        self.protocol = protocol
        self.method, self.path, self.version, self.keep_alive = request
        self.body = body
        self.ready = False

    def fire(self) -> None:
        self.ready = True
        self.protocol.flush()


def render(answer: Answer, version: str, keep_alive: bool) -> bytes:
    """``answer`` as HTTP/1.``version`` bytes."""
    lines = [f"HTTP/1.{version} {answer.status} {_REASONS[answer.status]}"]
    lines.extend(f"{name}: {value}" for name, value in answer.headers.items())
    if answer.body:
        lines.append(f"Content-Type: {CONTENT_TYPE}")
    lines.append(f"Content-Length: {len(answer.body)}")
    if not keep_alive:
        lines.append("Connection: close")
    elif version == "0":
        lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + answer.body


class Front:
    """The listening socket's protocol factory. ``aiohttp_server`` (aiohttp's ``web.Server``,
    itself a protocol factory) creates the protocol a handed-off connection continues with."""

    def __init__(self, api: ManagementApi, aiohttp_server: Callable[[], asyncio.Protocol]) -> None:
        self.api = api
        self.aiohttp_server = aiohttp_server
        self.protocols: set[FrontProtocol] = set()

    def __call__(self) -> FrontProtocol:
        return FrontProtocol(self)

    def close(self) -> None:
        """Close the connections not handed off (answers still waiting are dropped)."""
        for protocol in list(self.protocols):
            protocol.close()


class FrontProtocol(asyncio.Protocol):
    """One client connection, until (if ever) it is handed to aiohttp."""

    def __init__(self, front: Front) -> None:
        self.front = front
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiting: deque[_Pending] = deque()
        self.handing_off = False  # a hand-off waits for the answers before it
        self.last = False  # the last request of this connection has been read
        self.eof = False
        self.write_paused = False
        self.read_paused = False

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.front.protocols.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.front.protocols.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.last:
            return
        self.buffer += data
        if not self.handing_off:
            self.parse()

    def eof_received(self) -> bool:
        self.eof = True
        return bool(self.waiting)  # keep the socket open for answers still waiting

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pace()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._pace()

    def _pace(self) -> None:
        """Read only while the client reads its answers, fewer than ``_MAX_WAITING`` wait, and
        no hand-off is pending (memory per connection stays bounded)."""
        paused = self.write_paused or self.handing_off or len(self.waiting) >= _MAX_WAITING
        if self.transport is not None and paused != self.read_paused:
            self.read_paused = paused
            (self.transport.pause_reading if paused else self.transport.resume_reading)()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    # -- requests ----------------------------------------------------------------------------

    def parse(self) -> None:
        """Take every complete request from the buffer; hand off at the first not for us."""
        buffer = self.buffer
        api = self.front.api
        out: list[bytes] = []
        hand_off = False
        while buffer and not self.last:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                line_end = buffer.find(b"\n")
                hand_off = len(buffer) > _MAX_HEAD or (
                    line_end >= 0 and _REQUEST_LINE.match(buffer, 0, line_end + 1) is None
                )
                break
            request, length = self._head(end)
            if request is None or length > api.host.limits.max_post_bytes:
                hand_off = True
                break
            total = end + 4 + length
            if len(buffer) < total:
                break
            body = bytes(buffer[end + 4 : total]) if request[0] == "POST" else b""
            del buffer[:total]
            self.last = not request[3]
            delay = api.latency()
            if delay or self.waiting:
                pending = _Pending(self, request, body)
                self.waiting.append(pending)
                api.timer.call_later(delay, pending.fire)
                self._pace()
            else:
                method, path, version, keep_alive = request
                out.append(render(api.answer(method, path, body), version, keep_alive))
        self._write(out)
        if hand_off:
            self.hand_off()

    def _head(self, end: int) -> tuple[tuple[str, str, str, bool] | None, int]:
        """``((method, path without query, minor version, keep-alive), body length)`` of the
        head ending at ``end``, or ``(None, 0)`` for one to hand off."""
        buffer = self.buffer
        line = _REQUEST_LINE.match(buffer, 0, end + 2)
        if line is None or end > _MAX_HEAD:
            return None, 0
        path = line[2].partition(b"?")[0]
        if b"/@connections/" not in path:
            return None, 0
        version = line[3].decode()
        keep_alive = version == "1"
        length = -1
        start = line.end()
        if _FIELDS.fullmatch(buffer, start, end + 2) is None:
            return None, 0
        for name, raw_value in _WANTED.findall(buffer, start - 1, end + 2):
            name, value = name.lower(), raw_value.strip(b" \t")
            if name == b"content-length":
                if length >= 0 or not value.isdigit() or len(value) > 18:
                    return None, 0
                length = int(value)
            elif name == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"upgrade" in tokens:
                    return None, 0
                keep_alive = b"keep-alive" in tokens if version == "0" else b"close" not in tokens
            elif name in _HANDED_OFF:
                return None, 0
        return (line[1].decode(), path.decode(), version, keep_alive), max(length, 0)

    def flush(self) -> None:
        """Answer the waiting requests whose tick has come, in order."""
        waiting = self.waiting
        api = self.front.api
        out: list[bytes] = []
        while waiting and waiting[0].ready:
            pending = waiting.popleft()
            answer = api.answer(pending.method, pending.path, pending.body)
            out.append(render(answer, pending.version, pending.keep_alive))
        self._write(out)
        self._pace()
        if not waiting and self.handing_off:
            self.hand_off()
        elif not waiting and self.eof and not self.last:
            self.close()

    def _write(self, out: list[bytes]) -> None:
        transport = self.transport
        if not out or transport is None:
            return
        transport.write(b"".join(out) if len(out) > 1 else out[0])
        if self.last and not self.waiting:
            transport.close()

    def hand_off(self) -> None:
        """Continue this connection (from the first request not answered here) in aiohttp,
        once every answer before it is written."""
        transport = self.transport
        if transport is None:
            return
        if self.waiting:
            self.handing_off = True
            self._pace()  # nothing more is read until aiohttp reads it
            return
        self.front.protocols.discard(self)
        self.transport = None
        handler = self.front.aiohttp_server()
        handler.connection_made(transport)
        transport.set_protocol(handler)
        if self.read_paused:
            transport.resume_reading()
        data, self.buffer = bytes(self.buffer), bytearray()
        if data:
            handler.data_received(data)
