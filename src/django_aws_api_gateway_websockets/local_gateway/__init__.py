"""A local stand-in for AWS API Gateway's WebSocket APIs (install the ``[local]`` extra).

Browsers connect to it; it calls your Django views over HTTP exactly as an ``HTTP_PROXY``
integration does, and serves the Management API (``@connections``) so ``send_message`` and
boto3's ``apigatewaymanagementapi`` client work unchanged. Run it with
``python manage.py runwsgateway`` or ``python -m django_aws_api_gateway_websockets.local_gateway``;
use it in tests through the ``local_gateway`` pytest fixture.

Modules: :mod:`.server` (the WebSocket server, on :mod:`.hub`, its gateways and connections,
and :mod:`.disconnects`, which sends ``$disconnect``),
:mod:`.connection` (one client socket), :mod:`.integration` (the ``HTTP_PROXY`` calls to
Django) and :mod:`.context` (what their header mappings read), :mod:`.management_api`
and :mod:`.front` (the listening socket, which answers most Management API calls itself),
:mod:`.routing` (route selection), :mod:`.config` (what is served, from ``routes.py``),
:mod:`.limits`, :mod:`.frames`, :mod:`.ids`, :mod:`.service` (the rows in the database),
:mod:`.runner` (a background thread), :mod:`.cli`.
"""

from __future__ import annotations

try:
    import aiohttp  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "The local gateway needs aiohttp: pip install 'django-aws-api-gateway-websockets[local]'"
    ) from error

from .config import GatewaySpec, RouteTarget, spec_for_gateway
from .connection import Connection
from .hub import Event
from .limits import Limits
from .routing import RouteSelector
from .runner import GatewayThread
from .server import LocalGateway
from .service import LocalGatewayService

__all__ = [
    "Connection",
    "Event",
    "GatewaySpec",
    "GatewayThread",
    "Limits",
    "LocalGateway",
    "LocalGatewayService",
    "RouteSelector",
    "RouteTarget",
    "spec_for_gateway",
]
