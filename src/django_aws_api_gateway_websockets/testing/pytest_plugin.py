"""pytest plugin (registered as an entry point): fixtures for projects that use this package.

- ``ws_gateway``: an ``ApiGateway`` row made by
  :func:`django_aws_api_gateway_websockets.testing.make_gateway` (needs the database).
- ``ws_outbox``: records what ``send_message`` posts instead of sending it
  (see :func:`django_aws_api_gateway_websockets.testing.capture_messages`).
- ``local_gateway``: a real local API Gateway in front of pytest-django's ``live_server``
  (see :mod:`django_aws_api_gateway_websockets.testing.local_gateway`).

Imports of Django code happen inside the fixtures: the plugin loads before Django is set up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..models import ApiGateway
    from .local_gateway import LocalGatewayFixture
    from .outbox import Outbox


@pytest.fixture
def ws_gateway(db: None) -> ApiGateway:
    """An ``ApiGateway`` row for ``GatewayCallbacks`` (see ``testing.make_gateway``)."""
    from .gateways import make_gateway

    return make_gateway()


@pytest.fixture
def ws_outbox() -> Iterator[Outbox]:
    """An :class:`~django_aws_api_gateway_websockets.testing.Outbox` capturing every post."""
    from .outbox import capture_messages

    with capture_messages() as outbox:
        yield outbox


@pytest.fixture
def local_gateway(live_server: Any, transactional_db: None) -> Iterator[LocalGatewayFixture]:
    """A local API Gateway (``local_gateway`` package) in front of pytest-django's live server.

    Call ``local_gateway.serve(api_gateway_row)``: the row's integrations go to the live
    server, its ``api_endpoint`` points at the local gateway (so ``send_message`` reaches the
    sockets), and ``local_gateway.url(row, channel=...)`` is where to connect. Every socket is
    closed (with ``$disconnect``) and the row restored when the test ends. Needs the
    ``[local]`` extra and pytest-django.
    """
    from .local_gateway import LocalGatewayFixture, default_test_limits

    gateway = LocalGatewayFixture(backend_url=live_server.url, limits=default_test_limits())
    try:
        yield gateway
    finally:
        gateway.close()
