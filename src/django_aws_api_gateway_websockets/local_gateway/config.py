"""What the local gateway serves for one ``ApiGateway`` row, built from ``routes.py``.

:func:`spec_for_gateway` turns a row into a :class:`GatewaySpec` through
:func:`~django_aws_api_gateway_websockets.routes.gateway_routes`, the same description that
provisioning sends to AWS: route keys, integration URIs, request-parameter (header) mappings,
integration timeouts and two-way routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from ..routes import gateway_routes
from ..wire import stage_name
from .context import source_supported
from .routing import RouteSelector

if TYPE_CHECKING:
    from ..models import ApiGateway


@dataclass(frozen=True)
class RouteTarget:
    """One route: where its integration POSTs, with which mapped headers."""

    route_key: str
    uri: str
    #: ``{header name: mapping source}`` (``context.connectionId``, ``'literal'``, ...).
    mapped_headers: Mapping[str, str]
    #: Seconds.
    timeout: float
    two_way: bool


@dataclass(frozen=True)
class GatewaySpec:
    """One gateway as the local gateway serves it, at ``/<api_id>/<stage>``."""

    api_id: str
    name: str
    stage: str
    route_selection_expression: str
    routes: Mapping[str, RouteTarget]
    selector: RouteSelector = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "selector", RouteSelector.parse(self.route_selection_expression))

    @property
    def prefix(self) -> str:
        return f"/{self.api_id}"

    def warnings(self) -> list[str]:
        """Things in the configuration the local gateway cannot reproduce."""
        problems = []
        if not self.selector.supported:
            problems.append(
                f"route selection expression {self.route_selection_expression!r} is not over "
                "$request.body: every message goes to $default"
            )
        for route in self.routes.values():
            for header, source in route.mapped_headers.items():
                if not source_supported(source):
                    problems.append(f"{route.route_key}: header {header} <- {source} is not filled")
        return problems


def rewrite_origin(uri: str, backend_url: str | None) -> str:
    """``uri`` with its scheme and host replaced by ``backend_url``'s (path and query kept)."""
    if not backend_url:
        return uri
    target = urlsplit(backend_url)
    parts = urlsplit(uri)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))


def _absolute(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def spec_for_gateway(gateway: ApiGateway, backend_url: str | None = None) -> GatewaySpec:
    """The :class:`GatewaySpec` for ``gateway`` (which must have an ``api_id``).

    Routes whose integration URI is not an absolute HTTP(S) URL (a gateway without a
    ``target_base_endpoint``) are left out, as if the route did not exist. With
    ``backend_url`` every integration URI is sent to that scheme and host instead.
    """
    if not gateway.api_id:
        raise ValueError(f"API Gateway {gateway.api_name!r} has no api_id")
    targets: dict[str, RouteTarget] = {}
    for route in gateway_routes(gateway):
        uri = rewrite_origin(route.integration.uri, backend_url)
        if not _absolute(uri):
            continue
        targets[route.route_key] = RouteTarget(
            route_key=route.route_key,
            uri=uri,
            mapped_headers=route.integration.mapped_headers(),
            timeout=route.integration.timeout_ms / 1000,
            two_way=route.two_way,
        )
    return GatewaySpec(
        api_id=gateway.api_id,
        name=gateway.api_name,
        stage=stage_name(gateway),
        route_selection_expression=gateway.route_selection_expression,
        routes=targets,
    )
