"""The run order: what ``plan``, ``apply``, ``rotate_secret`` and ``teardown`` do, top to bottom.

Read this module to see the whole of a run; each resource has its own module for the how:
:mod:`._api` (the API), :mod:`._routes` (integrations, routes, route responses), :mod:`._stage`
(stage and deployments) and :mod:`._domain` (custom domain, API mapping, Route 53 DNS).
:mod:`._run` holds the machinery every step uses (changes, progress, errors, records).

Apply goes in dependency order: validate the row, make sure it has a secret, then the API, its
routes, the stage (deploying it when it does not serve the description), the custom domain and
its mapping and DNS alias; last, what is no longer described goes (stale domains, extra stages,
deployments no stage serves). Teardown goes the other way: DNS alias, mapping, domain, then
the API, which takes everything under it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from ..conf import conf
from ..routes import Gateway, gateway_description
from ..wire import SECRET_HEADER
from . import _api, _domain, _routes, _stage, _status
from ._run import Change, Progress, ProvisioningError, Result, Run

if TYPE_CHECKING:
    from ..models import ApiGateway

#: Which parts of a gateway a run covers: the API (routes, stage, deployment) and the custom
#: domain (domain name, API mapping, DNS record).
ALL_PARTS = frozenset({"api", "domain"})

#: Stands in for the secret that ``apply`` will generate, in a plan made before it exists.
_PLANNED_SECRET = "(generated-on-apply)"  # noqa: S105 (a placeholder, not a secret)


# -- the four operations ---------------------------------------------------------------------------


def plan(gateway: ApiGateway, *, parts: Iterable[str] | None = None, client: Any = None) -> Result:
    """What :func:`apply` would change, read from AWS without changing anything (the row is not
    written either). ``client``: the apigatewayv2 client to use (default: ``aws.client``)."""
    run = Run(gateway, operation="plan", dry_run=True, client=client)
    converge(run, _parts(parts))
    return run.result


def apply(
    gateway: ApiGateway,
    *,
    parts: Iterable[str] | None = None,
    progress: Progress | None = None,
    client: Any = None,
) -> Result:
    """Make AWS match the gateway's description. ``parts`` limits the run to ``"api"`` (API,
    routes, stage, deployment) or ``"domain"`` (custom domain, API mapping, DNS alias).

    Raises :class:`ProvisioningError` naming the failed step; what was done before it is
    recorded on the row (with ``provisioning_status`` and ``last_error``), and running ``apply``
    again continues from there.
    """
    if gateway.pk is None:
        gateway.save()
    chosen = _parts(parts)
    run = Run(gateway, operation="apply", dry_run=False, progress=progress, client=client)
    with recorded(run):
        converge(run, chosen)
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
    with recorded(run):
        validate(run, frozenset({"api"}))
        if gateway.secret:
            new_secret(run)
        converge(run, frozenset({"api"}))
    return run.result


def teardown(
    gateway: ApiGateway, *, dry_run: bool = False, progress: Progress | None = None
) -> Result:
    """Delete the gateway's DNS alias, API mapping, custom domain (unless another API still
    uses it) and API, in that order, and clear the row's records. ``dry_run`` only lists."""
    run = Run(
        gateway, operation="plan" if dry_run else "teardown", dry_run=dry_run, progress=progress
    )
    with recorded(run):
        tear_down(run)
    return run.result


def _parts(parts: Iterable[str] | None) -> frozenset[str]:
    chosen = ALL_PARTS if parts is None else frozenset(parts)
    unknown = chosen - ALL_PARTS
    if unknown or not chosen:
        raise ValueError(f"parts must be a non-empty subset of {sorted(ALL_PARTS)}")
    return chosen


@contextmanager
def recorded(run: Run) -> Iterator[None]:
    """Record how the run ended in ``last_error`` (see :mod:`._status`)."""
    try:
        yield
    except Exception as error:
        if not run.dry_run and run.gateway.pk is not None:
            _status.failed(run.gateway, error, claimed=run.claimed)
        raise
    _status.succeeded(run)


# -- converge and tear down ------------------------------------------------------------------------


def converge(run: Run, parts: frozenset[str] = ALL_PARTS) -> None:
    """Plan (dry run) or apply: make AWS match the gateway's description."""
    validate(run, parts)
    gateway = run.gateway
    if "api" in parts:
        ensure_secret(run)
    elif not gateway.api_id:
        raise ProvisioningError(
            "read API", "the API is not created yet: apply the API first", list(run.changes)
        )
    desired = describe(gateway, planned_secret=run.dry_run)
    if parts == {"domain"} and desired.domain is None:
        raise ProvisioningError(
            "validate gateway", "a custom domain needs both domain_name and certificate_arn"
        )
    serving: dict[str, str] = {}
    if "api" in parts:
        api_exists = _api.converge_api(run, desired)
        routes_changed = _routes.converge_routes(run, desired, api_exists)
        _status.advance(run, "routes_created")
        serving = _stage.converge_stage(run, desired, api_exists, routes_changed)
        _status.advance(run, "deployed")
    else:
        # The domain alone: the API is taken as recorded (if it is gone, creating the mapping
        # fails with AWS's NotFoundException, naming that step).
        api_exists = True
    if "domain" in parts:
        if desired.domain is not None:
            _domain.converge_domain(run, desired.domain)
            _status.advance(run, "mapped")
        if api_exists:
            _domain.remove_stale_domains(run, desired.domain.domain_name if desired.domain else "")
    if "api" in parts and api_exists:
        _stage.remove_extra_stages(run, desired, serving)
        _stage.prune_deployments(run, serving)


def tear_down(run: Run) -> None:
    """Delete the gateway's resources in dependency order: DNS alias, API mapping, custom
    domain, then the API (which takes its routes, integrations, stages and deployments)."""
    gateway = run.gateway
    current = gateway.domain_name.lower().rstrip(".")
    if current:
        _domain.delete_domain(run, current, hosted_zone_id=gateway.hosted_zone_id)
    api_exists = _api.exists(run)
    if api_exists:
        _domain.remove_stale_domains(run, current)
    _domain.forget_domain(run)
    _api.delete_api(run, recorded=api_exists)
    _api.forget_api(run)


# -- the row: its description, validation and secret -----------------------------------------------


def describe(gateway: ApiGateway, *, planned_secret: bool = False) -> Gateway:
    """The gateway's description; in a plan without a secret yet, with a stand-in for it."""
    if planned_secret and not gateway.secret:
        gateway = copy.copy(gateway)
        gateway.secret = _PLANNED_SECRET
    return gateway_description(gateway)


def validate(run: Run, parts: frozenset[str]) -> None:
    """Refuse a row that cannot be provisioned, before any AWS call."""
    gateway = run.gateway
    try:
        gateway.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ProvisioningError("validate gateway", "; ".join(error.messages)) from error
    if "api" in parts and not gateway.target_base_endpoint:
        raise ProvisioningError(
            "validate gateway",
            "target_base_endpoint is empty: set it to the URL the routes are served under "
            "(e.g. https://www.example.com/ws/)",
        )
    if "domain" in parts and gateway.domain_name and not gateway.certificate_arn:
        raise ProvisioningError(
            "validate gateway", f"domain_name {gateway.domain_name} needs a certificate_arn"
        )


def ensure_secret(run: Run) -> None:
    """Generate the gateway's secret when it has none (API Gateway sends it with callbacks)."""
    if run.gateway.secret:
        return
    run.change(
        Change("create", "secret", SECRET_HEADER, ("stored in the database, sent by API Gateway",)),
        lambda: None,
    )
    run.record(secret=run.gateway.generate_secret())


def new_secret(run: Run) -> None:
    """A new secret; the current one becomes ``previous_secret``, accepted by the view for
    ``WEBSOCKETS["secret_rotation_window_seconds"]`` while AWS deploys the new one."""
    window = conf.secret_rotation_window_seconds
    run.change(
        Change(
            "update",
            "secret",
            SECRET_HEADER,
            (f"the previous value stays accepted for {window}s",),
        ),
        lambda: None,
    )
    run.record(
        secret=run.gateway.generate_secret(),
        previous_secret=run.gateway.secret,
        secret_rotated_at=timezone.now(),
    )
