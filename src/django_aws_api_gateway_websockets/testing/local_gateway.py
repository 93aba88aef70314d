"""The local gateway in your own tests: what the ``local_gateway`` pytest fixture returns.

::

    def test_chat(local_gateway, gateway):            # gateway: an ApiGateway row
        local_gateway.serve(gateway)                  # integrations go to the live server
        with websockets.sync.client.connect(
            local_gateway.url(gateway, channel="room", ws_token=token),
            additional_headers={"Cookie": cookie},
            origin=local_gateway.origin,
        ) as ws:
            ws.send('{"action": "echo"}')
            ...

``send_message`` on the row's sessions reaches the sockets through the gateway's Management
API, and :meth:`LocalGatewayFixture.management_client` is a boto3 client for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from ..local_gateway import Event, Limits, LocalGateway, LocalGatewayService

if TYPE_CHECKING:
    from ..models import ApiGateway


#: Integration requests in flight at once in tests: the local gateway's default, made for
#: Django's development server (the live server), a thread (and a database connection) per
#: request, with a listen backlog of 10.
TEST_BACKEND_CONCURRENCY = Limits().backend_concurrency


def default_test_limits() -> Limits:
    """AWS's limits, with integrations to the live server :data:`TEST_BACKEND_CONCURRENCY` at
    a time, and one at a time on an in-memory SQLite database (whose single connection the
    live server's threads share)."""
    from django.db import connection

    in_memory = connection.vendor == "sqlite" and bool(
        connection.is_in_memory_db()  # type: ignore[attr-defined]
    )
    return Limits(backend_concurrency=1) if in_memory else Limits()


class LocalGatewayFixture(LocalGatewayService):
    """A :class:`LocalGatewayService` on a free port, sending integrations to ``backend_url``
    (the live server), with helpers for tests."""

    def __init__(self, backend_url: str | None, limits: Limits | None = None) -> None:
        super().__init__(host="127.0.0.1", port=0, limits=limits, backend_url=backend_url)
        self.backend_url = backend_url

    @property
    def origin(self) -> str:
        """An ``Origin`` header matching the live server (what a page it served would send)."""
        if not self.backend_url:
            raise ValueError("no backend URL")
        parts = urlsplit(self.backend_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def limits(self) -> Limits:
        return self.gateway.limits

    @limits.setter
    def limits(self, value: Limits) -> None:
        self.gateway.limits = value

    def set_limits(self, **changes: Any) -> Limits:
        """Change some limits at once (e.g. ``idle_timeout=0.2``); returns the new limits."""
        self.gateway.limits = self.gateway.limits.replace(**changes)
        return self.gateway.limits

    def url(self, gateway: ApiGateway, **query: str) -> str:
        """The connect URL of a served gateway, with a query string."""
        base = self.connect_url(gateway.api_id)
        return f"{base}?{urlencode(query)}" if query else base

    def management_client(self, gateway: ApiGateway, **config: Any) -> Any:
        """A boto3 ``apigatewaymanagementapi`` client for the gateway (dummy credentials)."""
        import boto3
        from botocore.config import Config

        from ..aws import management_endpoint

        gateway.refresh_from_db(fields=["api_endpoint"])
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=management_endpoint(gateway),
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the local gateway checks nothing
            config=Config(**config) if config else None,
        )

    def connection_ids(self) -> list[str]:
        """The ids of the sockets open now, oldest first."""
        return self.thread.call(
            lambda: [c.connection_id for c in self.gateway.connections.values() if not c.gone]
        )

    def events(self) -> list[Event]:
        return self.thread.call(lambda: list(self.gateway.events))

    def wait_for(self, predicate: Callable[[LocalGateway], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate(gateway)`` holds; ``AssertionError`` after ``timeout``."""
        if not self.thread.wait_for(predicate, timeout):
            raise AssertionError("the local gateway did not get there in time")

    def wait_for_event(
        self,
        kind: str,
        connection_id: str | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[Event]:
        """Wait for ``count`` events of ``kind`` (``connect``, ``message``, ``disconnect``,
        ``abandoned``, ``closed``, ``refused``, ``disconnect_dropped``), for ``connection_id``
        when given; returns them."""

        def matching(gateway: LocalGateway) -> list[Event]:
            return [
                e
                for e in gateway.events
                if e.kind == kind and (connection_id is None or e.connection_id == connection_id)
            ]

        self.wait_for(lambda g: len(matching(g)) >= count, timeout)
        return self.thread.call(lambda: matching(self.gateway))
