"""One client connection of the local gateway, and its queue of frames to the client.

A :class:`Connection` is what the server keeps per open socket and what the Management API
describes (``GET``), posts to (``POST``) and closes (``DELETE``). Frames for the client are
queued and written one at a time by :meth:`Connection.write_queued`, so a slow client never
blocks whoever posts to it. Benchmark mode adds *virtual* connections (:meth:`Connection.virtual`)
that have no socket.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aiohttp import WSCloseCode, web
from multidict import CIMultiDict, CIMultiDictProxy

from .config import GatewaySpec

#: What became of a ``PostToConnection``: queued for the client, the connection is gone
#: (410), or the client's buffer is full (429).
Delivery = Literal["sent", "gone", "full"]


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

    @classmethod
    def virtual_on(cls, spec: GatewaySpec, connection_id: str) -> Connection:
        """A connection with no client socket on the gateway ``spec`` (benchmark mode)."""
        now = datetime.now(UTC)
        return cls(
            connection_id=connection_id,
            gateway=spec,
            ws=_VirtualSocket(),  # type: ignore[arg-type]
            transport=None,
            source_ip="127.0.0.1",
            user_agent="virtual",
            headers=CIMultiDictProxy(CIMultiDict()),
            query="",
            connected_at=now,
            last_active_at=now,
            virtual=True,
        )

    @property
    def is_open(self) -> bool:
        """Whether the gateway still treats the connection as open."""
        return not self.gone and not self.ws.closed

    def touch(self) -> None:
        self.last_active = time.monotonic()
        self.last_active_at = datetime.now(UTC)

    def enqueue(self, data: bytes) -> None:
        """Queue ``data`` for the client as one frame (see :meth:`write_queued`)."""
        self.outbox.put_nowait(data)
        self.queued_bytes += len(data)

    def buffered_bytes(self) -> int:
        """Bytes waiting to reach the client: queued frames and the socket's write buffer."""
        transport = self.transport
        pending = transport.get_write_buffer_size() if transport is not None else 0
        return self.queued_bytes + pending

    def drop(self) -> None:
        """Drop a socket that cannot be written to, without a closing handshake."""
        self.gone = True
        if self.transport is not None:
            self.transport.abort()

    async def write_queued(self) -> None:
        """Write queued frames to the client, one at a time (text when UTF-8, else binary),
        until cancelled."""
        ws = self.ws
        while True:
            data = await self.outbox.get()
            self.queued_bytes -= len(data)
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
                self.drop()


class _VirtualSocket:
    """The socket of a virtual connection: open until closed, and nothing to write to."""

    closed = False
    close_code: int | None = None

    async def close(self, *, code: int = WSCloseCode.OK, message: bytes = b"") -> bool:
        self.closed, self.close_code = True, code
        return True
