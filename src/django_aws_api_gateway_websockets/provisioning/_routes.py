"""Integrations, routes and route responses: what :mod:`..routes` describes, made true on AWS.

Routes are found by route key and integrations through their route's target, so nothing but
the API's id needs recording. An integration no route uses is deleted; so is a route the
description no longer has.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from ..routes import BUILTIN_ROUTES, ROUTE_RESPONSE_KEY, Gateway, Integration, Route
from ._compare import diff, params_diff
from ._run import Change, Run, integration_id_of, integration_target, text


def integration_kwargs(integration: Integration) -> dict[str, Any]:
    """The parameters of CreateIntegration/UpdateIntegration for ``integration``."""
    return {
        "ConnectionType": "INTERNET",
        "IntegrationMethod": integration.method,
        "IntegrationType": integration.integration_type,
        "IntegrationUri": integration.uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": dict(integration.request_parameters),
        "TimeoutInMillis": integration.timeout_ms,
    }


def _integration_diff(live: Mapping[str, Any], integration: Integration) -> list[str]:
    diffs = diff("uri", live.get("IntegrationUri"), integration.uri)
    diffs += diff("method", live.get("IntegrationMethod"), integration.method)
    diffs += diff("type", live.get("IntegrationType"), integration.integration_type)
    diffs += diff("timeout", live.get("TimeoutInMillis"), integration.timeout_ms)
    diffs += diff("connection type", live.get("ConnectionType") or "INTERNET", "INTERNET")
    diffs += params_diff(live.get("RequestParameters"), integration.request_parameters)
    return diffs


def route_kwargs(route: Route, integration_id: str) -> dict[str, Any]:
    """The parameters of CreateRoute/UpdateRoute for ``route``."""
    kwargs: dict[str, Any] = {
        "ApiKeyRequired": False,
        "AuthorizationType": "NONE",
        "RouteKey": route.route_key,
        "Target": integration_target(integration_id),
    }
    if route.two_way:
        kwargs["RouteResponseSelectionExpression"] = ROUTE_RESPONSE_KEY
    return kwargs


def _route_diff(live: Mapping[str, Any], route: Route, integration_id: str) -> list[str]:
    diffs = diff("target", live.get("Target"), integration_target(integration_id))
    diffs += diff("authorization", live.get("AuthorizationType") or "NONE", "NONE")
    if route.two_way:
        diffs += diff(
            "route response selection",
            live.get("RouteResponseSelectionExpression"),
            ROUTE_RESPONSE_KEY,
        )
    return diffs


def converge_route(
    run: Run,
    route: Route,
    live_route: dict[str, Any] | None,
    integrations: Mapping[str, dict[str, Any]],
    used: set[str],
) -> bool:
    """Make one route, its integration and (two-way) its route response match. ``True`` when
    anything changed (the stage then needs a new deployment)."""
    api_id = run.gateway.api_id
    key = route.route_key
    changed = False
    integration_id = integration_id_of(live_route)
    live_integration = integrations.get(integration_id)
    kwargs = integration_kwargs(route.integration)
    if live_integration is None:
        change = Change("create", "integration", key, (f"uri {route.integration.uri}",))
        created = run.change(change, lambda: run.api.create_integration(ApiId=api_id, **kwargs))
        integration_id = (
            (run.created_id(created, "IntegrationId", change) or "")
            if created is not None
            else "(new)"
        )
        changed = True
    else:
        diffs = _integration_diff(live_integration, route.integration)
        if diffs:
            run.change(
                Change("update", "integration", key, tuple(diffs)),
                lambda: run.api.update_integration(
                    ApiId=api_id, IntegrationId=integration_id, **kwargs
                ),
            )
            changed = True
    used.add(integration_id)
    wanted = route_kwargs(route, integration_id)
    route_id = ""
    if live_route is None:
        change = Change("create", "route", key, ("two-way",) if route.two_way else ())
        created = run.change(change, lambda: run.api.create_route(ApiId=api_id, **wanted))
        route_id = (run.created_id(created, "RouteId", change) or "") if created is not None else ""
        changed = True
        responses: list[dict[str, Any]] = []
    else:
        route_id = text(live_route, "RouteId")
        diffs = _route_diff(live_route, route, integration_id)
        if diffs:
            run.change(
                Change("update", "route", key, tuple(diffs)),
                lambda: run.api.update_route(ApiId=api_id, RouteId=route_id, **wanted),
            )
            changed = True
        responses = (
            list(
                run.items(
                    f"read route responses of {key}",
                    "get_route_responses",
                    ApiId=api_id,
                    RouteId=route_id,
                )
            )
            if route.two_way
            else []
        )
    if route.two_way and not any(
        r.get("RouteResponseKey") == ROUTE_RESPONSE_KEY for r in responses
    ):
        run.change(
            Change("create", "route response", f"{key} {ROUTE_RESPONSE_KEY}"),
            lambda: run.api.create_route_response(
                ApiId=api_id, RouteId=route_id, RouteResponseKey=ROUTE_RESPONSE_KEY
            ),
        )
        changed = True
    record_ids(run, key, route_id, integration_id)
    return changed


def record_ids(run: Run, route_key: str, route_id: str, integration_id: str) -> None:
    """Write the AWS ids of an additional route and its integration to its row (release 4.1's
    ``route_id``/``integration_id``), when they are known and differ."""
    if run.dry_run or route_key in BUILTIN_ROUTES or not route_id or integration_id == "(new)":
        return
    run.gateway.additional_routes.filter(route_key=route_key).exclude(
        route_id=route_id, integration_id=integration_id
    ).update(route_id=route_id, integration_id=integration_id)


def live_routes(run: Run) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    api_id = run.gateway.api_id
    routes = {text(r, "RouteKey"): r for r in run.items("read routes", "get_routes", ApiId=api_id)}
    integrations = {
        text(i, "IntegrationId"): i
        for i in run.items("read integrations", "get_integrations", ApiId=api_id)
    }
    return routes, integrations


def converge_routes(run: Run, desired: Gateway, api_exists: bool) -> bool:
    """Every desired route; then delete routes and integrations the description does not have.
    ``True`` when anything changed."""
    if not api_exists:
        used: set[str] = set()
        for route in desired.routes:
            converge_route(run, route, None, {}, used)
        return True
    api_id = run.gateway.api_id
    found, integrations = live_routes(run)
    changed = False
    used = set()
    for route in desired.routes:
        changed |= converge_route(run, route, found.get(route.route_key), integrations, used)
    wanted_keys = {route.route_key for route in desired.routes}
    for key, live in sorted(found.items()):
        if key in wanted_keys:
            continue
        route_id = text(live, "RouteId")
        run.change(
            Change("delete", "route", key, ("not in the description",)),
            partial(run.api.delete_route, ApiId=api_id, RouteId=route_id),
        )
        changed = True
    for integration_id, live in sorted(integrations.items()):
        if integration_id in used:
            continue
        run.change(
            Change(
                "delete",
                "integration",
                integration_id,
                (f"uri {live.get('IntegrationUri')}", "no route uses it"),
            ),
            partial(run.api.delete_integration, ApiId=api_id, IntegrationId=integration_id),
        )
        changed = True
    return changed


def upsert_one_route(run: Run, route: Route) -> bool:
    """Create or update one route (and its integration) without touching the others."""
    found, integrations = live_routes(run)
    return converge_route(run, route, found.get(route.route_key), integrations, set())
