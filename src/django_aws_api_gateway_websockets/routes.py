"""The one description of a gateway's routes and integrations.

Provisioning sends exactly this to AWS and the local gateway serves exactly this, so the two
cannot drift: route keys, integration URIs, the headers API Gateway adds to every callback
(request-parameter mappings), timeouts, and which routes answer the client (two-way).

:func:`gateway_description` adds the rest of what provisioning makes AWS match for a row: the
API's settings and tags, the stage, and the custom domain with its mapping and DNS alias.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .conf import OPTIONS, conf
from .wire import CONTEXT_HEADERS, SECRET_HEADER, SETTINGS_SECRET_HEADER, stage_name

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


def request_parameters(gateway: ApiGateway | None) -> dict[str, str]:
    """The headers API Gateway adds to every callback of ``gateway``.

    ``connectionId`` and ``X-Real-Ip`` come from the request context; the secret, when the
    gateway has one, and the first of ``WEBSOCKETS["gateway_secret"]``, when set, are static
    values (quoted, as API Gateway requires). ``None``: only what every gateway gets.
    """
    params = {
        f"integration.request.header.{name}": source for name, source in CONTEXT_HEADERS.items()
    }
    if gateway is not None and gateway.secret:
        params[f"integration.request.header.{SECRET_HEADER}"] = f"'{gateway.secret}'"
    site_secrets = conf.gateway_secrets
    if site_secrets:
        params[f"integration.request.header.{SETTINGS_SECRET_HEADER}"] = f"'{site_secrets[0]}'"
    return params


def integration_request_parameters(gateway: ApiGateway | None = None) -> dict[str, str]:
    """Release 4.1's ``models.integration_request_parameters()``: the ``RequestParameters``
    provisioning gives an integration (of ``gateway``, with its own secret; without one, what
    every gateway gets). 4.1's takes no argument and maps ``connectionId`` and the site-wide
    secret; ours also maps ``X-Real-Ip``.

    :raises ValueError: ``WEBSOCKETS["gateway_secret"]`` is set but invalid (as 4.1).
    """
    if conf.gateway_secret_invalid:
        raise ValueError(
            'WEBSOCKETS["gateway_secret"] is invalid: ' + OPTIONS["gateway_secret"].expected
        )
    return request_parameters(gateway)


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


# -- the whole gateway: API, routes, stage, custom domain -----------------------------------------

#: The key of the route response two-way routes answer with.
ROUTE_RESPONSE_KEY = "$default"

#: Tag keys AWS reserves for itself; they are never ours to set or remove.
RESERVED_TAG_PREFIX = "aws:"


@dataclass(frozen=True)
class Stage:
    """The stage clients connect to."""

    name: str
    description: str


@dataclass(frozen=True)
class CustomDomain:
    """A regional custom domain, its root API mapping to the stage, and (when ``hosted_zone_id``
    is set) a Route 53 alias ``A`` record pointing the domain at API Gateway."""

    domain_name: str
    certificate_arn: str
    hosted_zone_id: str
    tags: Mapping[str, str] = field(default_factory=dict)
    endpoint_type: str = "REGIONAL"
    security_policy: str = "TLS_1_2"
    mapping_key: str = ""


@dataclass(frozen=True)
class Gateway:
    """Everything one ``ApiGateway`` row asks AWS for."""

    name: str
    description: str
    route_selection_expression: str
    api_key_selection_expression: str
    tags: Mapping[str, str]
    routes: tuple[Route, ...]
    stage: Stage
    domain: CustomDomain | None

    def route(self, route_key: str) -> Route | None:
        """The route with ``route_key``, if the gateway has one."""
        return next((r for r in self.routes if r.route_key == route_key), None)

    def fingerprint(self) -> str:
        """A short digest of what a deployment serves (API selection expressions and every
        route), recorded in each deployment's description so that ``plan`` can tell whether the
        stage serves the current description. It changes whenever a redeploy is needed."""
        material = {
            "route_selection_expression": self.route_selection_expression,
            "api_key_selection_expression": self.api_key_selection_expression,
            "routes": [
                {
                    "route_key": r.route_key,
                    "two_way": r.two_way,
                    "uri": r.integration.uri,
                    "method": r.integration.method,
                    "type": r.integration.integration_type,
                    "timeout_ms": r.integration.timeout_ms,
                    "request_parameters": dict(sorted(r.integration.request_parameters.items())),
                }
                for r in sorted(self.routes, key=lambda r: r.route_key)
            ],
        }
        encoded = json.dumps(material, sort_keys=True).encode()
        return hashlib.sha256(encoded).hexdigest()[:16]


def gateway_tags(gateway: ApiGateway) -> dict[str, str]:
    """The row's ``tags`` as AWS takes them (string keys and values), without reserved keys."""
    tags = gateway.tags if isinstance(gateway.tags, dict) else {}
    return {
        str(key): "" if value is None else str(value)
        for key, value in tags.items()
        if not str(key).startswith(RESERVED_TAG_PREFIX)
    }


def gateway_description(gateway: ApiGateway) -> Gateway:
    """The full description of ``gateway``: what provisioning makes AWS match.

    The custom domain is part of it when the row has both a ``domain_name`` and a
    ``certificate_arn``.
    """
    tags = gateway_tags(gateway)
    domain = None
    if gateway.domain_name and gateway.certificate_arn:
        domain = CustomDomain(
            domain_name=gateway.domain_name.lower().rstrip("."),
            certificate_arn=gateway.certificate_arn,
            hosted_zone_id=gateway.hosted_zone_id,
            tags=tags,
        )
    return Gateway(
        name=gateway.api_name,
        description=gateway.api_description,
        route_selection_expression=gateway.route_selection_expression,
        api_key_selection_expression=gateway.api_key_selection_expression,
        tags=tags,
        routes=tuple(gateway_routes(gateway)),
        stage=Stage(name=stage_name(gateway), description=gateway.stage_description),
        domain=domain,
    )
