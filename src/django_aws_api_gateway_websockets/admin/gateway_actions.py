"""The gateway admin's actions, each a step run by :func:`.actions.run_action`.

- "Create API Gateway" and "Create Custom Domain": the existing package's one-shot actions. Their
  message texts are part of its contract (:class:`LegacyWording`); they accept any iterable of
  gateways, as projects' tests call them with a list.
- "Plan AWS changes", "Apply to AWS" and "Tear down AWS resources": provisioning that converges.
  A change is also recorded in the gateway's admin history; a step that stops names the
  provisioning step that failed and the AWS error code, and counts the changes made before it.
  Teardown asks for confirmation first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from .. import provisioning
from ..aws import describe_error
from ..models import ApiGateway
from ..models.gateways import API_NOT_CREATED
from ..provisioning import ProvisioningError, Result
from .actions import (
    AWS_ERRORS,
    ActionRefusedError,
    ActionStoppedError,
    NothingToDoError,
    Outcome,
    Wording,
    admin_action,
    run_action,
)

if TYPE_CHECKING:
    GatewayAdmin = admin.ModelAdmin[ApiGateway]
else:
    GatewayAdmin = admin.ModelAdmin

#: Changes listed in one plan message; the rest are counted.
MAX_LISTED_CHANGES = 15

TEARDOWN_TEMPLATE = "django_aws_api_gateway_websockets/admin/teardown_confirmation.html"


# -- the existing package's actions ---------------------------------------------------------------


@dataclass(frozen=True)
class LegacyWording(Wording):
    """The existing package's texts: ``<api_name> created``, ``<api_name> already created``,
    ``<api_name>: <reason>`` for a precondition, ``<failed> <api_name>: <ExceptionClassName>``
    for a failure (the audit line keeps the AWS error code and operation)."""

    failed_prefix: str
    refused_level = "error"

    def name(self, obj: Any) -> str:
        return str(getattr(obj, "api_name", obj))

    def done(self, action: str, name: str, outcome: Outcome) -> str:
        return outcome.text

    def nothing_to_do(self, action: str, name: str, reason: str) -> str:
        return reason

    def refused(self, action: str, name: str, reason: str) -> str:
        return f"{name}: {reason}"

    def failed(self, action: str, name: str, error: BaseException) -> str:
        return f"{self.failed_prefix} {name}: {type(error).__name__}"


def create_api_gateway_step(gateway: ApiGateway) -> Outcome:
    """Create the gateway on AWS (see :meth:`ApiGateway.create_gateway`)."""
    already = NothingToDoError(f"{gateway.api_name} already created")
    if gateway.api_created:
        raise already
    if not gateway.target_base_endpoint:
        raise ActionRefusedError("target_base_endpoint is empty: set it, then run the action again")
    if not gateway.create_gateway():
        raise already
    return Outcome(f"{gateway.api_name} created", f"succeeded (API id {gateway.api_id})")


def create_custom_domain_step(gateway: ApiGateway) -> Outcome:
    """Create the gateway's custom domain (see :meth:`ApiGateway.create_custom_domain`); its
    ``ValueError`` (a precondition) is shown with its text."""
    if gateway.custom_domain_created:
        raise NothingToDoError(f"{gateway.domain_name} custom domain already created")
    if not gateway.api_created:  # checked here too: a test double's method would not check it
        raise ActionRefusedError(API_NOT_CREATED)
    try:
        gateway.create_custom_domain()
    except ValueError as error:
        raise ActionRefusedError(str(error)) from error
    return Outcome(
        f"{gateway.domain_name} custom domain created",
        f"succeeded (point the DNS record at {gateway.api_gateway_domain_name})",
    )


create_api_gateway = admin_action(
    "create_api_gateway",
    "Create API Gateway",
    create_api_gateway_step,
    wording=LegacyWording("Failed to create"),
)
create_custom_domain = admin_action(
    "create_custom_domain",
    "Create Custom Domain",
    create_custom_domain_step,
    wording=LegacyWording("Failed to create custom domain for"),
)


# -- provisioning: plan, apply, teardown ---------------------------------------------------------


def _stop_reason(error: ProvisioningError) -> str:
    """Why a provisioning step failed, safe to show: the AWS error (code and operation) when AWS
    or botocore stopped it, else our own reason for a check we made."""
    cause = error.__cause__
    return describe_error(cause) if isinstance(cause, AWS_ERRORS) else error.reason


def _provision(
    action: str, operation: Callable[[ApiGateway], Result], gateway: ApiGateway
) -> Result:
    """``operation(gateway)``; a :class:`ProvisioningError` becomes :class:`ActionStoppedError`."""
    try:
        result = operation(gateway)
    except ProvisioningError as error:
        reason = _stop_reason(error)
        raise ActionStoppedError(
            f"at step “{error.step}”: {reason}. {len(error.done)} change(s) made before it are "
            f"recorded; run {action} again once the cause is fixed",
            f"failed at {error.step!r} ({reason})",
            history=f"{action}: stopped at {error.step}" if error.done else "",
            detail=str(error),
        ) from error
    return result


def _listed(result: Result) -> str:
    shown = [str(change) for change in result.changes[:MAX_LISTED_CHANGES]]
    more = len(result.changes) - len(shown)
    if more:
        shown.append(f"and {more} more")
    return "; ".join(shown)


def plan_step(gateway: ApiGateway) -> Outcome:
    """What applying would change on AWS, changing nothing."""
    result = _provision("Plan", provisioning.plan, gateway)
    audit = f"planned ({result.summary()})"
    if result.empty:
        return Outcome("matches AWS, no changes", audit, "info")
    return Outcome(f"{result.summary()}: {_listed(result)}", audit, "info", separator=": ")


def _changed(action: str, result: Result) -> Outcome:
    audit = f"succeeded ({result.summary()})"
    if result.empty:
        return Outcome("already matched AWS, nothing changed", audit, "info")
    summary = result.summary()
    return Outcome(summary, audit, history=f"{action}: {summary}", separator=": ")


def apply_step(gateway: ApiGateway) -> Outcome:
    """Make AWS match the gateway."""
    return _changed("Apply", _provision("Apply", provisioning.apply, gateway))


def teardown_step(gateway: ApiGateway) -> Outcome:
    """Delete the gateway's AWS resources."""
    return _changed("Teardown", _provision("Teardown", provisioning.teardown, gateway))


plan_gateways = admin_action("plan_gateways", "Plan", plan_step, description="Plan AWS changes")
apply_gateways = admin_action(
    "apply_gateways", "Apply", apply_step, description="Apply to AWS (create or update)"
)


@admin.action(description="Tear down AWS resources", permissions=["delete"])
def teardown_gateways(
    modeladmin: GatewayAdmin, request: HttpRequest, queryset: QuerySet[ApiGateway]
) -> Any:
    """Delete the selected gateways' AWS resources, after a confirmation page."""
    if request.POST.get("post") != "yes":
        context = {
            **modeladmin.admin_site.each_context(request),
            "title": "Tear down AWS resources?",
            "opts": modeladmin.model._meta,
            "gateways": list(queryset.order_by("pk")),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, TEARDOWN_TEMPLATE, context)
    run_action(modeladmin, request, queryset, "Teardown", teardown_step)
    return None


#: The provisioning actions of ``ApiGatewayAdmin.actions``.
PROVISIONING_ACTIONS = (plan_gateways, apply_gateways, teardown_gateways)

#: Every action of ``ApiGatewayAdmin``, in the order the admin lists them.
GATEWAY_ACTIONS = (create_api_gateway, create_custom_domain, *PROVISIONING_ACTIONS)
