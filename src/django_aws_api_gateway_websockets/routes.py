"""The one description of a gateway's routes and integrations.

Provisioning sends exactly this to AWS and the local gateway serves exactly this, so the two
cannot drift: route keys, integration URIs, the headers API Gateway adds to every callback
(request-parameter mappings), timeouts, and which routes answer the client (two-way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .aws import SECRET_HEADER

if TYPE_CHECKING:
    from .models import ApiGateway

#: API Gateway's maximum (and default) integration timeout.
INTEGRATION_TIMEOUT_MS = 29000

#: The three routes every gateway has, and the last path segment Django serves them on.
BUILTIN_ROUTES: Mapping[str, str] = {
    "$connect": "connect",
    "$disconnect": "disconnect",
    "$default": "default",
}


@dataclass(frozen=True)
class Integration:
    """An ``HTTP_PROXY`` integration: POST to ``uri`` with the mapped headers."""

    uri: str
    request_parameters: Mapping[str, str] = field(default_factory=dict)
    timeout_ms: int = INTEGRATION_TIMEOUT_MS
    method: str = "POST"
    integration_type: str = "HTTP_PROXY"

    def mapped_headers(self) -> dict[str, str]:
        """``{header name: source}`` for every ``integration.request.header.*`` mapping."""
        prefix = "integration.request.header."
        return {
            key[len(prefix) :]: source
            for key, source in self.request_parameters.items()
            if key.startswith(prefix)
        }


@dataclass(frozen=True)
class Route:
    """A route key, its integration, and whether the backend's answer goes back to the client."""

    route_key: str
    integration: Integration
    two_way: bool


def request_parameters(gateway: ApiGateway) -> dict[str, str]:
    """The headers API Gateway adds to every callback of ``gateway``.

    ``connectionId`` and ``X-Real-Ip`` come from the request context; the secret, when the
    gateway has one, is a static value (quoted, as API Gateway requires).
    """
    params = {
        "integration.request.header.connectionId": "context.connectionId",
        "integration.request.header.X-Real-Ip": "context.identity.sourceIp",
    }
    if gateway.secret:
        params[f"integration.request.header.{SECRET_HEADER}"] = f"'{gateway.secret}'"
    return params


def gateway_routes(gateway: ApiGateway) -> list[Route]:
    """Every route of ``gateway``: the three built-in ones at ``target_base_endpoint`` and each
    additional route at its own ``integration_url``."""
    params = request_parameters(gateway)
    base = gateway.target_base_endpoint or ""
    routes = [
        Route(key, Integration(f"{base}{slug}", params), two_way=key == "$default")
        for key, slug in BUILTIN_ROUTES.items()
    ]
    if gateway.pk:
        routes.extend(
            Route(extra.route_key, Integration(extra.integration_url, params), two_way=True)
            for extra in gateway.additional_routes.order_by("route_key")
        )
    return routes
