"""Provisioning that converges: ``plan``, ``apply`` and ``teardown`` of a gateway's AWS resources.

The desired state of a gateway is its description in :mod:`..routes` (the same one the local
gateway serves). ``plan`` reads the live resources with apigatewayv2 (and Route 53) and lists
what ``apply`` would create, update and delete; ``apply`` makes those changes one step at a
time, recording ids on the row as it goes, so running it again after a failure resumes and
converges (no duplicates, no orphans); ``teardown`` deletes the resources in dependency order.

Every AWS client comes from ``models.get_boto3_client`` at call time, so a project that patches
it (to use moto, a Stubber or an ``endpoint_url``) sees every call.

The functions the models call for the existing package's API (``create_gateway``,
``create_custom_domain``, ``upsert_additional_route``, ``deploy``) are built on the same steps
and raise what the existing package raised: the botocore error of the failing call (with a note
naming the step), or ``ValueError``/``ValidationError`` for a row that cannot be provisioned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ValidationError

from . import _steps
from ._run import Change, Event, Progress, ProvisioningError, Result, Run
from ._steps import ALL_PARTS, describe, integration_kwargs, route_kwargs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ..models import ApiGateway, ApiGatewayAdditionalRoute
    from ..routes import Route

__all__ = [
    "ALL_PARTS",
    "Change",
    "Event",
    "Progress",
    "ProvisioningError",
    "Result",
    "apply",
    "create_custom_domain",
    "create_gateway",
    "deploy",
    "integration_kwargs",
    "plan",
    "rotate_secret",
    "route_kwargs",
    "teardown",
    "upsert_additional_route",
    "upsert_route",
]


def _parts(parts: Iterable[str] | None) -> frozenset[str]:
    chosen = ALL_PARTS if parts is None else frozenset(parts)
    unknown = chosen - ALL_PARTS
    if unknown or not chosen:
        raise ValueError(f"parts must be a non-empty subset of {sorted(ALL_PARTS)}")
    return chosen


def plan(gateway: ApiGateway, *, parts: Iterable[str] | None = None) -> Result:
    """What :func:`apply` would change, read from AWS without changing anything (the row is not
    written either)."""
    run = Run(gateway, operation="plan", dry_run=True)
    _steps.converge(run, _parts(parts))
    return run.result


def apply(
    gateway: ApiGateway,
    *,
    parts: Iterable[str] | None = None,
    progress: Progress | None = None,
) -> Result:
    """Make AWS match the gateway's description. ``parts`` limits the run to ``"api"`` (API,
    routes, stage, deployment) or ``"domain"`` (custom domain, API mapping, DNS alias).

    Raises :class:`ProvisioningError` naming the failed step; what was done before it is
    recorded on the row, and running ``apply`` again continues from there.
    """
    if gateway.pk is None:
        gateway.save()
    run = Run(gateway, operation="apply", dry_run=False, progress=progress)
    _steps.converge(run, _parts(parts))
    return run.result


def rotate_secret(gateway: ApiGateway, *, progress: Progress | None = None) -> Result:
    """Replace the gateway's secret with no callback refused: the new value is stored first
    (the old one stays accepted for ``WEBSOCKETS["secret_rotation_window_seconds"]``), then the
    API is applied, which updates every integration's secret header and redeploys the stage.

    When a step fails the new secret is already stored and both are accepted: run ``apply``
    again (within the window) to finish. Without a secret yet, this is ``apply`` for the API.
    """
    if gateway.pk is None:
        gateway.save()
    run = Run(gateway, operation="apply", dry_run=False, progress=progress)
    _steps.validate(run, frozenset({"api"}))
    if gateway.secret:
        _steps.rotate_secret(run)
    _steps.converge(run, frozenset({"api"}))
    return run.result


def teardown(
    gateway: ApiGateway, *, dry_run: bool = False, progress: Progress | None = None
) -> Result:
    """Delete the gateway's DNS alias, API mapping, custom domain (unless another API still
    uses it) and API, in that order, and clear the row's records. ``dry_run`` only lists."""
    run = Run(
        gateway, operation="plan" if dry_run else "teardown", dry_run=dry_run, progress=progress
    )
    _steps.teardown(run)
    return run.result


# -- the existing package's entry points ---------------------------------------------------------


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


def upsert_additional_route(route: ApiGatewayAdditionalRoute, client: Any) -> None:
    """Create or update one additional route (integration, route, route response) on AWS."""
    gateway = route.api_gateway
    spec = describe(gateway).route(route.route_key)
    if spec is None or not gateway.api_id:
        return
    with _legacy_errors():
        _steps.upsert_one_route(Run(gateway, operation="apply", dry_run=False, client=client), spec)


def upsert_route(client: Any, api_id: str, route: Route) -> None:
    """Create or update ``route`` on the API ``api_id`` (kept for earlier callers)."""
    from ..models import ApiGateway

    gateway = ApiGateway.objects.filter(api_id=api_id).first() or ApiGateway(api_id=api_id)
    with _legacy_errors():
        _steps.upsert_one_route(
            Run(gateway, operation="apply", dry_run=False, client=client), route
        )


def deploy(gateway: ApiGateway, client: Any) -> str:
    """Deploy the gateway's stage with ``client``; sets (and records) ``deployment_id``."""
    with _legacy_errors():
        return _steps.deploy(
            Run(gateway, operation="apply", dry_run=False, client=client), describe(gateway)
        )
