"""Release 4.1's sync, on the plan/apply engine: push a deployed gateway's rows to AWS, remove
one additional route, and the errors both raise.

``push_gateway`` is ``apply`` for a gateway that is deployed, with one difference: when the API
recorded on the row no longer exists in AWS it stops with :class:`ApiGatewaySyncError` and
changes nothing (``apply`` would create a new API; that stays ``provisionApiGateway apply``'s
decision). Every failure becomes :class:`ApiGatewaySyncError` naming the step and the AWS error
code; ``last_error`` records it (see :mod:`._status`). The answer is one sentence per change.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..models.aws_sync import ApiGatewaySyncError
from ..models.gateways import SYNCED_GATEWAY_FIELDS
from ..routes import BUILTIN_ROUTES
from . import _status
from ._legacy import sync_additional_route
from ._order import apply, describe
from ._routes import live_routes
from ._run import (
    NOT_A_RESPONSE,
    Change,
    ProvisioningError,
    Run,
    integration_id_of,
    integration_target,
    text,
)
from ._stage import deploy

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute

logger = logging.getLogger("django_aws_api_gateway_websockets.sync")

#: Release 4.1's ``ValueError`` texts for a gateway that is not deployed.
NOT_DEPLOYED_TO = "The API must be deployed before it can be synced to AWS"
NOT_DEPLOYED_FROM = "The API must be deployed before it can be synced from AWS"

_DOMAIN_FIELDS = frozenset({"domain_name", "certificate_arn", "hosted_zone_id", "tags"})


def sentence(change: Change) -> str:
    """A change as release 4.1's sync reports it: one plain sentence."""
    verb = {"create": "Created", "update": "Updated", "delete": "Deleted"}[change.action]
    details = f" ({'; '.join(change.details)})" if change.details else ""
    return f"{verb} {change.resource} {change.name}{details}".replace("  ", " ").strip()


@contextmanager
def sync_errors(gateway: ApiGateway, direction: str) -> Iterator[None]:
    """Turn what stops a sync into :class:`ApiGatewaySyncError` (logged, in ``last_error``)."""
    try:
        yield
    except ApiGatewaySyncError:
        raise
    except (ProvisioningError, ClientError, BotoCoreError) as error:
        _status.failed(gateway, error)
        reason = _status.error_text(error)
        step = f"{error.step}: " if isinstance(error, ProvisioningError) else ""
        logger.error("Syncing %s %s AWS failed: %s%s", gateway.api_name, direction, step, reason)
        raise ApiGatewaySyncError(f"{step}{reason}") from error


def require_api(run: Run, direction: str) -> dict[str, Any]:
    """The recorded API as AWS describes it; :class:`ApiGatewaySyncError` when it is gone."""
    gateway = run.gateway
    live = run.read(
        "read API",
        partial(run.api.get_api, ApiId=gateway.api_id),
        missing_ok=True,
        not_a_response=NOT_A_RESPONSE,
    )
    if live is None:
        gateway.last_error = "ClientError: NotFoundException"
        type(gateway).objects.filter(pk=gateway.pk).update(last_error=gateway.last_error)
        raise ApiGatewaySyncError(
            f"the API {gateway.api_id} of {gateway.api_name} no longer exists in AWS "
            f"(NotFoundException); nothing was synced {direction} AWS and no row was changed. "
            "Run `provisionApiGateway apply` to create it again, or delete the gateway"
        )
    return live


def push_gateway(
    gateway: ApiGateway, client: Any = None, fields: Iterable[str] | None = None
) -> list[str]:
    """Make AWS match a deployed gateway's rows (``apply``); ``fields``: the names of the fields
    that changed (``None``: all); nothing AWS holds among them does nothing."""
    if not gateway.is_deployed:
        raise ValueError(NOT_DEPLOYED_TO)
    changed = set(SYNCED_GATEWAY_FIELDS if fields is None else fields)
    if fields is not None and not changed & set(SYNCED_GATEWAY_FIELDS):
        return []
    parts = {"api"}
    if (
        gateway.custom_domain_created
        and gateway.domain_name
        and (fields is None or changed & _DOMAIN_FIELDS)
    ):
        parts.add("domain")
    run = Run(gateway, operation="apply", dry_run=False, client=client)
    with sync_errors(gateway, "to"):
        require_api(run, "to")
        result = apply(gateway, parts=parts, client=run.api)
    return [sentence(change) for change in result.changes]


def push_route(route: ApiGatewayAdditionalRoute) -> None:
    """Push a changed deployed route after the commit (what ``save()`` defers): as saving a
    route does at once, but AWS's errors become :class:`ApiGatewaySyncError` (the row is kept,
    marked not deployed)."""
    gateway = route.api_gateway
    try:
        with sync_errors(gateway, "to"):
            sync_additional_route(route)
    except ApiGatewaySyncError as error:
        raise ApiGatewaySyncError(
            f"updating the route “{route.name}” on AWS failed ({error})"
        ) from error.__cause__


def remove_route(route: ApiGatewayAdditionalRoute, client: Any = None) -> list[str]:
    """Delete an additional route and its integration from AWS and deploy the stage again; a
    route already gone is not an error. The route is found by key, else by its recorded id."""
    # The gateway as it is now (this may run after the commit); gone with it: nothing to do.
    gateway = type(route.api_gateway).objects.filter(pk=route.api_gateway_id).first()
    if gateway is None or not gateway.is_deployed or route.route_key in BUILTIN_ROUTES:
        return []
    run = Run(gateway, operation="apply", dry_run=False, client=client)
    api_id = gateway.api_id
    with sync_errors(gateway, "to"):
        routes, _integrations = live_routes(run)
        live = routes.get(route.route_key)
        route_id = text(live, "RouteId") if live else route.route_id
        integration_id = integration_id_of(live) or route.integration_id
        if not route_id:
            return []
        run.change(
            Change("delete", "route", route.route_key),
            partial(run.api.delete_route, ApiId=api_id, RouteId=route_id),
        )
        in_use = {text(r, "Target") for key, r in routes.items() if key != route.route_key}
        if integration_id and integration_target(integration_id) not in in_use:
            run.change(
                Change("delete", "integration", route.route_key, (integration_id,)),
                partial(run.api.delete_integration, ApiId=api_id, IntegrationId=integration_id),
            )
        gateway.additional_routes.model.objects.filter(pk=route.pk).update(
            route_id="", integration_id=""
        )
        desired = describe(gateway)
        kept = tuple(r for r in desired.routes if r.route_key != route.route_key)
        deploy(run, dataclasses.replace(desired, routes=kept))
    return [sentence(change) for change in run.changes]
