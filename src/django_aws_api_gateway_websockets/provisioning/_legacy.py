"""The existing package's entry points, built on the same steps as ``apply``.

``ApiGateway.create_gateway()``, ``create_custom_domain()``, ``deploy_api()`` and
``ApiGatewayAdditionalRoute.save()``/``create_route()`` delegate here (through the hook described
in :mod:`..provisioning`). They raise what the existing package raised: the botocore error of the
failing call (with a note naming the step), or ``ValueError``/``ValidationError`` for a row that
cannot be provisioned, instead of :class:`ProvisioningError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ValidationError

from .. import aws
from . import _routes, _stage
from ._order import apply, describe
from ._run import ProvisioningError, Run

if TYPE_CHECKING:
    from ..models import ApiGateway, ApiGatewayAdditionalRoute


@contextmanager
def _legacy_errors() -> Iterator[None]:
    """Raise what the existing package raised instead of :class:`ProvisioningError`."""
    try:
        yield
    except ProvisioningError as error:
        cause = error.__cause__
        if isinstance(cause, ClientError | BotoCoreError | ValidationError | KeyError):
            if hasattr(cause, "add_note"):  # Python 3.11+
                cause.add_note(f"django_aws_api_gateway_websockets: {error}")
            raise cause from None
        raise ValueError(str(error)) from None


def create_gateway(gateway: ApiGateway) -> None:
    """Create (or finish creating) the API, its routes, stage and deployment; ``api_created``
    is set once all of them exist."""
    with _legacy_errors():
        apply(gateway, parts={"api"})


def create_custom_domain(gateway: ApiGateway) -> None:
    """Create (or finish creating) the custom domain, its API mapping and, when the row has a
    ``hosted_zone_id``, the Route 53 alias; ``custom_domain_created`` is set once they exist."""
    with _legacy_errors():
        apply(gateway, parts={"domain"})


def deploy(gateway: ApiGateway, client: Any) -> str:
    """Deploy the gateway's stage with ``client``; sets (and records) ``deployment_id``."""
    with _legacy_errors():
        return _stage.deploy(
            Run(gateway, operation="apply", dry_run=False, client=client), describe(gateway)
        )


def upsert_additional_route(
    route: ApiGatewayAdditionalRoute, client: Any, *, and_deploy: bool = False
) -> None:
    """Create or update one additional route (integration, route, route response) on AWS.
    With ``and_deploy`` (what ``create_route()`` does), then deploy the stage and mark the route
    deployed."""
    gateway = route.api_gateway
    spec = describe(gateway).route(route.route_key)
    if spec is not None and gateway.api_id:
        with _legacy_errors():
            _routes.upsert_one_route(
                Run(gateway, operation="apply", dry_run=False, client=client), spec
            )
    if and_deploy:
        deploy(gateway, client)
        gateway.save(update_fields=["deployment_id"])
        route.deployed = True
        route.save(update_fields=["deployed"])


def sync_additional_route(route: ApiGatewayAdditionalRoute) -> None:
    """What saving an additional route does (kept from the existing package): when its gateway's
    stage is deployed, create or update the route on AWS and deploy the stage again. When AWS
    fails the row is kept, marked not deployed (the stage does not serve this version of it),
    and the error is raised; saving again or ``provisionApiGateway apply`` retries."""
    if not route.api_gateway.deployment_id:
        return
    try:
        upsert_additional_route(route, aws.client("apigatewayv2"), and_deploy=True)
    except Exception:
        if route.deployed:
            route.deployed = False
            route.save(update_fields=["deployed"])
        raise
