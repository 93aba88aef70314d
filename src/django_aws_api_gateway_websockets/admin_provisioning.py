"""Admin actions for provisioning: plan, apply and teardown of the selected gateways.

Each gateway's outcome is an admin message and an audit line (logger
``django_aws_api_gateway_websockets.admin``, like the other admin actions) plus an entry in the
object's admin history. Messages name the step that failed and the AWS error code, never an AWS
error message (which can echo request values), a secret or a traceback; those details go to
the server log only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from . import provisioning
from .models import ApiGateway
from .provisioning import ProvisioningError, Result

if TYPE_CHECKING:
    GatewayAdmin = admin.ModelAdmin[ApiGateway]
else:
    GatewayAdmin = admin.ModelAdmin

logger = logging.getLogger("django_aws_api_gateway_websockets.admin")

#: Changes listed in one plan message; the rest are counted.
MAX_LISTED_CHANGES = 15

TEARDOWN_TEMPLATE = "django_aws_api_gateway_websockets/admin/teardown_confirmation.html"


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "") or "ClientError")


def safe_reason(error: BaseException) -> str:
    """Why a step failed, safe to show: the AWS error code and operation, our own reason for
    checks we made, else the exception's type name."""
    cause = error.__cause__ if isinstance(error, ProvisioningError) else error
    if isinstance(cause, ClientError):
        operation = getattr(cause, "operation_name", "") or ""
        return f"AWS error {_error_code(cause)}" + (f" in {operation}" if operation else "")
    if isinstance(cause, BotoCoreError):
        return type(cause).__name__
    if isinstance(error, ProvisioningError):
        return error.reason
    return type(error).__name__


def _audit(
    request: HttpRequest, action: str, gateway: ApiGateway, outcome: str, level: int = logging.INFO
) -> None:
    user = request.user
    logger.log(
        level,
        "admin user %r (pk=%s) ran %r on ApiGateway %r (pk=%s): %s",
        user.get_username(),
        user.pk,
        action,
        gateway.api_name,
        gateway.pk,
        outcome,
    )


def _listed(result: Result) -> str:
    shown = [str(change) for change in result.changes[:MAX_LISTED_CHANGES]]
    more = len(result.changes) - len(shown)
    if more:
        shown.append(f"and {more} more")
    return "; ".join(shown)


def _run(
    modeladmin: GatewayAdmin,
    request: HttpRequest,
    queryset: QuerySet[ApiGateway],
    action: str,
    operation: str,
) -> None:
    for gateway in queryset.order_by("pk"):
        name = gateway.api_name
        try:
            if operation == "plan":
                result = provisioning.plan(gateway)
            elif operation == "apply":
                result = provisioning.apply(gateway)
            else:
                result = provisioning.teardown(gateway)
        except ProvisioningError as error:
            reason = safe_reason(error)
            messages.error(
                request,
                f"{action} stopped for “{name}” at step “{error.step}”: {reason}. "
                f"{len(error.done)} change(s) made before it are recorded; run {action} again "
                "once the cause is fixed.",
            )
            _audit(request, action, gateway, f"failed at {error.step!r} ({reason})", logging.ERROR)
            logger.warning("%s failed for ApiGateway pk=%s: %s", action, gateway.pk, error)
            if error.done:
                modeladmin.log_change(request, gateway, f"{action}: stopped at {error.step}")
            continue
        except Exception as error:
            reason = safe_reason(error)
            messages.error(request, f"{action} failed for “{name}”: {reason}.")
            _audit(request, action, gateway, f"failed ({reason})", logging.ERROR)
            logger.error("%s failed for ApiGateway pk=%s", action, gateway.pk, exc_info=True)
            continue
        if operation == "plan":
            if result.empty:
                messages.info(request, f"{action}: “{name}” matches AWS, no changes.")
            else:
                messages.info(
                    request, f"{action}: “{name}”: {result.summary()}: {_listed(result)}."
                )
            _audit(request, action, gateway, f"planned ({result.summary()})")
            continue
        if result.empty:
            messages.info(request, f"{action}: “{name}” already matched AWS, nothing changed.")
        else:
            messages.success(request, f"{action}: “{name}”: {result.summary()}.")
            modeladmin.log_change(request, gateway, f"{action}: {result.summary()}")
        _audit(request, action, gateway, f"succeeded ({result.summary()})")


@admin.action(description="Plan AWS changes", permissions=["change"])
def plan_gateways(
    modeladmin: GatewayAdmin, request: HttpRequest, queryset: QuerySet[ApiGateway]
) -> None:
    """List what applying would change on AWS, changing nothing."""
    _run(modeladmin, request, queryset, "Plan", "plan")


@admin.action(description="Apply to AWS (create or update)", permissions=["change"])
def apply_gateways(
    modeladmin: GatewayAdmin, request: HttpRequest, queryset: QuerySet[ApiGateway]
) -> None:
    """Make AWS match the selected gateways."""
    _run(modeladmin, request, queryset, "Apply", "apply")


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
    _run(modeladmin, request, queryset, "Teardown", "teardown")
    return None


#: The actions to add to ``ApiGatewayAdmin.actions``.
PROVISIONING_ACTIONS = (plan_gateways, apply_gateways, teardown_gateways)
