"""Provisioning status: the step a run last completed, the claim, and the last error.

``ApiGateway.provisioning_status`` (release 4.1's column) says how far provisioning got:
``pending`` → ``creating`` → ``api_created`` → ``routes_created`` → ``deployed`` →
``domain_created`` → ``mapped``. A run moves it forward as each step completes and never moves
a finished gateway back while it only updates it; forgetting the API or the domain (teardown, or
AWS deleted them) moves it back.

The claim: before ``CreateApi`` a run moves the row to ``creating`` with one conditional UPDATE
that matches only a row without an API that no other run holds, so of two concurrent runs only
one creates an API; the other stops with a clear error. The same UPDATE writes the
``provisioning_token`` the new API is tagged with (see :mod:`._api`), so a run killed after the
claim leaves a row whose API, if it was created, the next run adopts by its tag. A claim older
than :data:`STALE_CLAIM` (its run was killed before ``CreateApi`` answered) may be taken over.

``last_error`` holds what stopped the last run: the error's class and AWS error code, nothing
else (AWS messages can echo request values); a run that succeeds clears it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from .. import aws
from ..models.gateways import ProvisioningStatus
from ._run import ProvisioningError, Run

if TYPE_CHECKING:
    from ..models import ApiGateway

#: After this long without progress, a ``creating`` claim is taken to belong to a killed run.
STALE_CLAIM = timedelta(minutes=5)

#: The statuses in the order a run passes them (the choices are declared in that order).
_ORDER = tuple(ProvisioningStatus.values)


def rank(status: str) -> int:
    return _ORDER.index(status) if status in _ORDER else 0


def effective_status(gateway: ApiGateway) -> str:
    """The status, counting a row from before release 4.1 as the model does."""
    return gateway.effective_provisioning_status


def advance(run: Run, status: str) -> None:
    """Record that the step ``status`` names has completed, unless the row is already further."""
    if run.dry_run:
        return
    current = effective_status(run.gateway)
    if current == "creating" or rank(status) > rank(current):
        run.record(provisioning_status=status)


def fall_back(run: Run, status: str) -> None:
    """Move the status back to ``status`` when it is further (something was forgotten)."""
    if not run.dry_run and rank(effective_status(run.gateway)) > rank(status):
        run.record(provisioning_status=status)


def claim(run: Run) -> None:
    """Take the row for creating its API (see the module docstring); raise
    :class:`ProvisioningError` when another run holds it or the API was recorded meanwhile."""
    if run.dry_run:
        return
    gateway = run.gateway
    token = gateway.provisioning_token or uuid.uuid4().hex
    now = timezone.now()
    free = ~Q(provisioning_status="creating") | Q(updated_on__lt=now - STALE_CLAIM)
    claimed = (
        type(gateway)
        .objects.filter(free, pk=gateway.pk, api_id="")
        .update(provisioning_status="creating", provisioning_token=token, updated_on=now)
    )
    if not claimed:
        raise ProvisioningError(
            "create API",
            "another run is creating this gateway's API (its provisioning status is "
            "'creating'): run apply again when it has finished",
            list(run.changes),
        )
    gateway.provisioning_status = "creating"
    gateway.provisioning_token = token
    run.claimed = True
    gateway.updated_on = now


def error_text(error: BaseException) -> str:
    """What ``last_error`` records: the error's class and, for AWS errors, its code."""
    cause = error.__cause__ if isinstance(error, ProvisioningError) else error
    cause = cause if cause is not None else error
    name = type(cause).__name__
    code = aws.error_code(cause)
    text = f"{name}: {code}" if code != name else name
    return text[:255]


def failed(gateway: ApiGateway, error: BaseException, *, claimed: bool = False) -> None:
    """Record ``error`` as the row's ``last_error``; release the run's own claim (``claimed``)
    when it created nothing."""
    fields: dict[str, str] = {"last_error": error_text(error)}
    if claimed and gateway.provisioning_status == "creating" and not gateway.api_id:
        fields["provisioning_status"] = "pending"
    for name, value in fields.items():
        setattr(gateway, name, value)
    type(gateway).objects.filter(pk=gateway.pk).update(**fields)


def succeeded(run: Run) -> None:
    """Clear ``last_error`` after a run that changed AWS without failing."""
    if not run.dry_run and run.gateway.last_error:
        run.record(last_error="")
