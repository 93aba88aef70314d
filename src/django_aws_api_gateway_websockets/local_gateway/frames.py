"""Per-frame size limit for client frames.

aiohttp limits the size of a whole message (all its frames); API Gateway also limits each
frame (32 KB). :class:`FrameLimitedWebSocketResponse` puts a small frame-header scanner in front
of aiohttp's parser: a frame over the limit fails the connection with close code 1009, as an
oversize message does.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import WSCloseCode, web
from aiohttp.http_websocket import WebSocketError

logger = logging.getLogger(__name__)

_DATA_OPCODES = frozenset({0x0, 0x1, 0x2})


class FrameScanner:
    """Follows the frame boundaries of a client byte stream, reading only the headers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._head = bytearray()
        self._skip = 0

    @staticmethod
    def _header_length(head: bytearray) -> int | None:
        if len(head) < 2:
            return None
        length_flag = head[1] & 0x7F
        size = 2 + (2 if length_flag == 126 else 8 if length_flag == 127 else 0)
        return size + (4 if head[1] & 0x80 else 0)

    def feed(self, data: bytes) -> int | None:
        """Scan ``data``; the size of the first frame over the limit, else ``None``."""
        position, end = 0, len(data)
        while position < end:
            if self._skip:
                step = min(self._skip, end - position)
                self._skip -= step
                position += step
                continue
            self._head.append(data[position])
            position += 1
            needed = self._header_length(self._head)
            if needed is None or len(self._head) < needed:
                continue
            flag = self._head[1] & 0x7F
            if flag == 126:
                length = int.from_bytes(self._head[2:4], "big")
            elif flag == 127:
                length = int.from_bytes(self._head[2:10], "big")
            else:
                length = flag
            opcode = self._head[0] & 0x0F
            self._head.clear()
            if opcode in _DATA_OPCODES and length > self.limit:
                return length
            self._skip = length
        return None


class _FrameLimitedParser:
    """Wraps aiohttp's WebSocket parser (``feed_data``/``feed_eof``)."""

    def __init__(self, inner: Any, queue: Any, limit: int) -> None:
        self._inner = inner
        self._queue = queue
        self._scanner = FrameScanner(limit)
        self._failed = False

    def scan_only(self, data: bytes) -> bool:
        """Scan bytes the inner parser has already been fed; ``True`` when they failed."""
        size = self._scanner.feed(data)
        if size is not None:
            self._fail(size)
        return self._failed

    def _fail(self, size: int) -> None:
        self._failed = True
        self._queue.set_exception(
            WebSocketError(
                WSCloseCode.MESSAGE_TOO_BIG,
                f"Frame size {size} exceeds limit {self._scanner.limit}",
            )
        )

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        if self._failed:
            return True, b""
        size = self._scanner.feed(bytes(data))
        if size is not None:
            self._fail(size)
            return True, b""
        result: tuple[bool, bytes] = self._inner.feed_data(data)
        return result

    def feed_eof(self) -> None:
        self._inner.feed_eof()


class FrameLimitedWebSocketResponse(web.WebSocketResponse):
    """A ``WebSocketResponse`` that also limits the size of each client frame."""

    def __init__(self, *, max_frame_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._max_frame_bytes = max_frame_bytes

    def _post_start(self, request: web.BaseRequest, protocol: Any, writer: Any) -> None:
        handler = request.protocol
        # Bytes that arrived with the handshake are parsed by super(); scan them too.
        tail = bytes(getattr(handler, "_message_tail", b"") or b"")
        super()._post_start(request, protocol, writer)
        inner = getattr(handler, "_payload_parser", None)
        queue = getattr(self, "_reader", None)
        if inner is None or queue is None:  # pragma: no cover - another aiohttp layout
            logger.warning("aiohttp internals changed: the per-frame limit is not enforced")
            return
        parser = _FrameLimitedParser(inner, queue, self._max_frame_bytes)
        if tail:
            parser.scan_only(tail)
        handler._payload_parser = parser
