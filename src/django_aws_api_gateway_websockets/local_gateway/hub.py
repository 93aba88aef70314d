"""The connections the local gateway holds, and what can be done to them from outside a socket.

:class:`ConnectionHub` is the base of :class:`~.server.LocalGateway`: the served gateways, the
open connections, the event log and the ``$disconnect`` calls the backend did not accept, with
the public methods the Management API uses (:meth:`~ConnectionHub.get_connection`,
:meth:`~ConnectionHub.post_to_connection`, :meth:`~ConnectionHub.delete_connection`, the
:class:`~.management_api.ConnectionHost` protocol), sending and closing, and benchmark mode's
virtual connections. Sockets, HTTP and integrations are the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode

from ..wire import new_connection_id
from .config import GatewaySpec
from .connection import Connection, Delivery
from .integration import BackendResult
from .limits import Limits
from .log import logger


@dataclass(frozen=True)
class Event:
    """One thing the gateway did, kept in :attr:`ConnectionHub.events` (for tests and logs).

    ``kind`` is ``connect``, ``message``, ``disconnect`` (integration calls; ``status`` is the
    backend's, 0 when it was unreachable or timed out, ``detail`` the outcome), ``abandoned``
    (the late answer to a ``$connect`` that timed out; its ``$disconnect`` follows), ``closed``
    (``status`` is the close code), ``refused`` (a handshake refused before ``$connect``) or
    ``disconnect_dropped`` (``Limits.drop_disconnect``: the ``$disconnect`` was not sent).
    """

    kind: str
    connection_id: str
    route_key: str = ""
    status: int = 0
    detail: str = ""
    #: Seconds the integration request took.
    duration: float = 0.0
    at: float = field(default_factory=time.monotonic)

    @classmethod
    def integration(
        cls, kind: str, connection_id: str, route_key: str, result: BackendResult
    ) -> Event:
        """The event of an integration call that ended with ``result``."""
        return cls(kind, connection_id, route_key, result.status, result.outcome, result.duration)


class ConnectionHub:
    """Gateways, connections and events. ``limits`` may be replaced at any time; each check
    reads the current value."""

    def __init__(self, *, limits: Limits | None = None, event_history: int = 10000) -> None:
        self.limits = limits or Limits()
        self.gateways: dict[str, GatewaySpec] = {}
        self.connections: dict[str, Connection] = {}
        self.events: deque[Event] = deque(maxlen=event_history)
        self.failed_disconnects: set[str] = set()
        #: Frames posted to virtual connections (counted, then dropped).
        self.virtual_frames = 0
        self._background: set[asyncio.Task[Any]] = set()

    # -- gateways --------------------------------------------------------------------------------

    def add_gateway(self, spec: GatewaySpec) -> None:
        """Serve ``spec`` at ``/<api_id>/<stage>`` (replacing a spec with the same api_id)."""
        self.gateways[spec.api_id] = spec
        for problem in spec.warnings():
            logger.warning("%s: %s", spec.name, problem)

    def remove_gateway(self, api_id: str) -> None:
        self.gateways.pop(api_id, None)

    def serves(self, api_id: str) -> bool:
        """Whether the gateway ``api_id`` is served."""
        return api_id in self.gateways

    # -- connections, as the Management API sees them -------------------------------------------

    def get_connection(self, connection_id: str, api_id: str | None = None) -> Connection | None:
        """The open connection ``connection_id`` (on the gateway ``api_id`` when given)."""
        connection = self.connections.get(connection_id)
        if connection is None or not connection.is_open:
            return None
        if api_id is not None and connection.gateway.api_id != api_id:
            return None
        return connection

    def post_to_connection(
        self, connection_id: str, data: bytes, api_id: str | None = None
    ) -> Delivery:
        """Send ``data`` to the client as one frame, unless the connection is gone or the
        client's buffer would exceed ``max_client_buffer_bytes``."""
        connection = self.get_connection(connection_id, api_id)
        if connection is None:
            return "gone"
        if connection.buffered_bytes() + len(data) > self.limits.max_client_buffer_bytes:
            return "full"
        return "sent" if self.send(connection, data) else "gone"

    def delete_connection(self, connection_id: str, api_id: str | None = None) -> bool:
        """Close the connection with 1000; ``False`` when it was not found."""
        connection = self.get_connection(connection_id, api_id)
        if connection is None:
            return False
        self.close_connection(connection, WSCloseCode.OK, "")
        return True

    def send(self, connection: Connection, data: bytes) -> bool:
        """Queue ``data`` for the client as one frame (text when it is UTF-8, else binary), in
        order; ``False`` when the socket is gone. A slow client never blocks the caller."""
        if not connection.is_open:
            return False
        if connection.virtual:
            self.virtual_frames += 1
            return True
        connection.enqueue(data)
        return True

    def buffered_bytes(self, connection: Connection) -> int:
        """Bytes waiting to reach the client: queued frames and the socket's write buffer."""
        return connection.buffered_bytes()

    def close_connection(self, connection: Connection, code: int, reason: str) -> None:
        """Stop treating ``connection`` as open at once, and close it in the background."""
        connection.gone = True
        self._spawn(self._close(connection, code, reason))

    def drop(self, connection: Connection) -> None:
        """Drop a socket that cannot be written to, without a closing handshake."""
        connection.drop()

    def add_virtual_connections(self, api_id: str, count: int) -> list[str]:
        """Benchmark mode: register ``count`` open connections on the gateway ``api_id`` that
        have no client socket, and return their ids. The Management API treats them as any
        other (POST counts the frame in :attr:`virtual_frames` and drops it, GET describes
        them, DELETE closes them); no ``$connect`` or ``$disconnect`` is sent for them and they
        never time out."""
        spec = self.gateways[api_id]
        ids = []
        for _ in range(count):
            connection_id = self._new_connection_id()
            self.connections[connection_id] = Connection.virtual_on(spec, connection_id)
            ids.append(connection_id)
        return ids

    def pop_failed_disconnects(self) -> list[str]:
        """The connection ids whose ``$disconnect`` the backend did not accept (unreachable,
        timed out, non-2xx) since the last call, so the caller can mark them another way."""
        ids = sorted(self.failed_disconnects)
        self.failed_disconnects.clear()
        return ids

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

    # -- for the server --------------------------------------------------------------------------

    def _longest_timeout(self) -> float:
        if self.limits.integration_timeout is not None:
            return self.limits.integration_timeout
        timeouts = [r.timeout for g in self.gateways.values() for r in g.routes.values()]
        return max(timeouts, default=29.0)

    def _new_connection_id(self) -> str:
        while True:
            connection_id = new_connection_id()
            if connection_id not in self.connections:
                return connection_id

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _record(self, event: Event) -> None:
        self.events.append(event)

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
        except (TimeoutError, ConnectionError, RuntimeError):
            if connection.transport is not None:
                connection.transport.abort()
