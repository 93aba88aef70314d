"""Serving ``ApiGateway`` rows: the Django side of the local gateway.

:class:`LocalGatewayService` reads the rows, gives an ``api_id`` to rows that have none, starts
the server, and points each row's ``api_endpoint`` at it (``ws://host:port/<api_id>``), so
``send_message`` and ``websocket_url`` reach the local gateway with no other change. On
:meth:`~LocalGatewayService.close` it closes every socket (firing ``$disconnect``), marks
disconnected the connections whose ``$disconnect`` Django did not accept, and gives each row
back the ``api_endpoint`` it had (unless something else changed it meanwhile; a ``ws://``
endpoint left by a local gateway that was killed is cleared instead). The ``api_id`` it
generated stays, so the connect URL is the same on the next start.

This is the only module of the local gateway that uses the ORM, and only from the thread that
calls it (never from the server's event loop).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .config import GatewaySpec, spec_for_gateway
from .ids import new_api_id
from .limits import Limits
from .log import logger
from .runner import GatewayThread
from .server import LocalGateway

if TYPE_CHECKING:
    from ..models import ApiGateway


@dataclass(frozen=True)
class Attachment:
    """What the service changed on one row."""

    pk: int
    api_id: str
    previous_endpoint: str
    endpoint: str


def load_gateways(names: Sequence[str] = ()) -> list[ApiGateway]:
    """The rows named ``names`` (all rows when empty); ``LookupError`` names a missing one."""
    from ..models import ApiGateway

    rows = ApiGateway.objects.order_by("pk")
    if not names:
        return list(rows)
    found = {row.api_name: row for row in rows.filter(api_name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise LookupError(f"No ApiGateway named {', '.join(repr(n) for n in missing)}")
    return [found[name] for name in names]


def ensure_api_id(gateway: ApiGateway) -> str:
    """Give ``gateway`` an AWS-like api_id when it has none (saved at once)."""
    from django.utils import timezone

    from ..models import ApiGateway

    if not gateway.api_id:
        api_id = new_api_id()
        while ApiGateway.objects.filter(api_id=api_id).exists():
            api_id = new_api_id()
        ApiGateway.objects.filter(pk=gateway.pk).update(api_id=api_id, updated_on=timezone.now())
        gateway.api_id = api_id
    return gateway.api_id


def mark_disconnected(connection_ids: Iterable[str]) -> int:
    from ..models import WebSocketSession

    ids = list(connection_ids)
    return WebSocketSession.mark_disconnected(ids) if ids else 0


def sweep_stale_sessions(gateways: Iterable[ApiGateway]) -> int:
    """Mark disconnected the sessions left connected by an earlier run that did not stop
    cleanly. Only rows that exist on no AWS account (``api_created`` false) are swept: the
    sockets of a local-only gateway cannot outlive the process that held them."""
    from ..models import WebSocketSession

    local = [g.pk for g in gateways if not g.api_created]
    if not local:
        return 0
    return WebSocketSession.objects.filter(api_gateway_id__in=local, connected=True).update(
        connected=False
    )


class LocalGatewayService:
    """A local gateway serving ``ApiGateway`` rows from a background thread.

    ``backend_url`` sends every integration to that scheme and host instead of the one in
    the row (tests point it at the live server). ``public_url`` is what the rows' endpoint
    starts with (default ``ws://host:port``; ``127.0.0.1`` when binding every interface).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8001,
        limits: Limits | None = None,
        backend_url: str | None = None,
        public_url: str | None = None,
        forwarded_proto: str = "http",
    ) -> None:
        self.gateway = LocalGateway(
            host=host, port=port, limits=limits, forwarded_proto=forwarded_proto
        )
        self.thread = GatewayThread(self.gateway)
        self.backend_url = backend_url
        self._public_url = public_url
        self.attachments: list[Attachment] = []
        self.specs: dict[str, GatewaySpec] = {}

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        if not self.thread.running:
            self.thread.start()

    @property
    def public_url(self) -> str:
        """``ws://host:port`` (no trailing slash)."""
        if self._public_url:
            return self._public_url.rstrip("/")
        return "ws" + self.gateway.base_url[len("http") :]

    def connect_url(self, api_id: str) -> str:
        """The URL clients connect to for the served gateway ``api_id``."""
        spec = self.specs[api_id]
        return f"{self.public_url}/{spec.api_id}/{spec.stage}"

    def serve(self, *gateways: ApiGateway) -> list[GatewaySpec]:
        """Start serving ``gateways`` (starting the server first if needed) and point their
        ``api_endpoint`` at it. Each row object is updated in place too."""
        from django.utils import timezone

        from ..models import ApiGateway

        self.start()
        sweep_stale_sessions(gateways)
        specs = []
        for gateway in gateways:
            ensure_api_id(gateway)
            spec = spec_for_gateway(gateway, self.backend_url)
            endpoint = f"{self.public_url}/{spec.api_id}"
            previous = gateway.api_endpoint or ""
            if previous.startswith("ws://"):
                # Left by a local gateway that did not stop cleanly (AWS's are wss://).
                previous = ""
            if not any(a.pk == gateway.pk for a in self.attachments):
                self.attachments.append(Attachment(gateway.pk, spec.api_id, previous, endpoint))
            ApiGateway.objects.filter(pk=gateway.pk).update(
                api_endpoint=endpoint, updated_on=timezone.now()
            )
            gateway.api_endpoint = endpoint
            self.thread.call(functools.partial(self.gateway.add_gateway, spec))
            self.specs[spec.api_id] = spec
            specs.append(spec)
        return specs

    def add_virtual_connections(self, gateway: ApiGateway, count: int) -> list[str]:
        """Benchmark mode: ``count`` connections on a served ``gateway`` that exist for the
        Management API and for Django (a connected ``WebSocketSession`` each, in the gateway's
        default channel) but have no client; see ``LocalGateway.add_virtual_connections``."""
        from ..models import WebSocketSession

        ids = self.thread.call(
            functools.partial(self.gateway.add_virtual_connections, gateway.api_id, count)
        )
        WebSocketSession.objects.bulk_create(
            (
                WebSocketSession(
                    connection_id=connection_id,
                    channel_name=gateway.default_channel_name,
                    api_gateway=gateway,
                )
                for connection_id in ids
            ),
            batch_size=1000,
        )
        return ids

    def sweep(self) -> int:
        """Mark disconnected the sessions whose ``$disconnect`` Django did not accept. When
        the database cannot be reached they are kept for the next sweep."""
        if not self.thread.running:
            return 0
        ids = self.thread.call(self.gateway.pop_failed_disconnects)
        if not ids:
            return 0
        return self._mark(ids)

    def _mark(self, ids: list[str]) -> int:
        from django.db import DatabaseError, close_old_connections, connection

        if not connection.in_atomic_block:  # a long-running command: drop a broken connection
            close_old_connections()
        try:
            return mark_disconnected(ids)
        except DatabaseError:
            logger.warning("could not mark %d sessions disconnected yet", len(ids), exc_info=True)
            if self.thread.running:
                self.thread.call(functools.partial(self.gateway.failed_disconnects.update, ids))
            else:
                self.gateway.failed_disconnects.update(ids)
            return 0

    def close(self, restore: bool = True) -> None:
        """Close every socket (firing ``$disconnect``), stop, mark what Django did not
        accept as disconnected, and (with ``restore``) give the rows their endpoint back."""
        from django.db import DatabaseError

        if self.thread.running:
            self.thread.stop()
        ids = self.gateway.pop_failed_disconnects()
        if ids:
            self._mark(ids)
        if restore:
            try:
                self.restore_rows()
            except DatabaseError:
                logger.warning("could not give the rows their api_endpoint back", exc_info=True)

    def restore_rows(self) -> None:
        from django.utils import timezone

        from ..models import ApiGateway

        for attachment in self.attachments:
            ApiGateway.objects.filter(pk=attachment.pk, api_endpoint=attachment.endpoint).update(
                api_endpoint=attachment.previous_endpoint, updated_on=timezone.now()
            )
        self.attachments.clear()

    # -- descriptions ------------------------------------------------------------------------------

    def describe(self, gateway: ApiGateway) -> list[str]:
        """Start-up lines for one served row: where to connect and the Management API."""
        from ..aws import management_endpoint

        spec = self.specs[gateway.api_id]
        lines = [
            f"{gateway.api_name} (api_id {spec.api_id}, stage {spec.stage})",
            f"  connect:         {self.connect_url(spec.api_id)}",
            f"  Management API:  {management_endpoint(gateway)}/@connections/{{connectionId}}",
        ]
        for route in spec.routes.values():
            lines.append(f"  {route.route_key:<16} -> {route.uri}")
        if not spec.routes:
            lines.append("  (no routes: set target_base_endpoint on the gateway)")
        lines.extend(f"  warning: {problem}" for problem in spec.warnings())
        return lines
