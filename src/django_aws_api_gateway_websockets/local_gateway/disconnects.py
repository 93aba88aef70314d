"""``$disconnect``: when the local gateway sends it, and what it keeps when Django refuses it.

:class:`DisconnectingHub` sits between :class:`~.hub.ConnectionHub` and the server. A socket
that closes gets its ``$disconnect``; so does a ``$connect`` the gateway gave up on: API Gateway
answers the client 504 past the integration timeout, but Django, unaware, may still accept the
connection and record a connected session. The gateway keeps that request running and, once
Django answers (or ``abandoned_connect_wait`` passes), sends the connection's ``$disconnect``,
so no session row stays connected for a socket that never opened. A ``$disconnect`` Django does
not accept is kept in :attr:`~.hub.ConnectionHub.failed_disconnects` for the caller to mark.
"""

from __future__ import annotations

import asyncio
import dataclasses

from .config import RouteTarget
from .connection import Connection
from .context import RequestContext
from .hub import ConnectionHub, Event
from .ids import new_request_id
from .integration import BackendResult, HttpProxyIntegration
from .log import logger


class DisconnectingHub(ConnectionHub):
    """Sends ``$disconnect`` through :attr:`integration` (set by the server)."""

    integration: HttpProxyIntegration

    def _context_of(
        self, connection: Connection, event_type: str, route_key: str, request_id: str
    ) -> RequestContext:
        raise NotImplementedError

    async def _disconnect(self, connection: Connection) -> None:
        route = connection.gateway.routes.get("$disconnect")
        if route is None:
            return
        context = self._context_of(connection, "DISCONNECT", "$disconnect", new_request_id())
        await self._send_disconnect(route, context)

    def _abandoned_connect(
        self, context: RequestContext, call: asyncio.Task[BackendResult]
    ) -> None:
        """The integration's ``abandon`` callback for a ``$connect`` that timed out."""
        self._spawn(self._after_abandoned_connect(context, call))

    async def _after_abandoned_connect(
        self, context: RequestContext, call: asyncio.Task[BackendResult]
    ) -> None:
        """Once Django answers the abandoned ``$connect``, send its ``$disconnect`` unless it
        refused the connection (4xx). When no answer comes it is sent anyway."""
        try:
            result = await call
        except asyncio.CancelledError:
            call.cancel()
            self.failed_disconnects.add(context.connection_id)
            raise
        self._record(Event.integration("abandoned", context.connection_id, "$connect", result))
        if result.outcome == "ok" and 400 <= result.status < 500:
            return
        spec = self.gateways.get(context.api_id)
        route = spec.routes.get("$disconnect") if spec is not None else None
        if route is None:
            return
        late = dataclasses.replace(
            context, event_type="DISCONNECT", route_key="$disconnect", request_id=new_request_id()
        )
        await self._send_disconnect(route, late)

    async def _send_disconnect(self, route: RouteTarget, context: RequestContext) -> None:
        connection_id = context.connection_id
        if self.limits.drop_disconnect:
            self._record(Event("disconnect_dropped", connection_id))
            return
        try:
            result = await self.integration.call(route, context, b"", self.limits)
        except asyncio.CancelledError:
            self.failed_disconnects.add(connection_id)
            raise
        self._record(Event.integration("disconnect", connection_id, "$disconnect", result))
        if not result.accepted:
            logger.warning(
                "$disconnect for %s was not accepted (%s %s)",
                connection_id,
                result.outcome,
                result.status,
            )
            self.failed_disconnects.add(connection_id)
