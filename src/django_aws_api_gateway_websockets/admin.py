"""The Django admin of the package.

Gateway actions are small functions run through :func:`run_gateway_action`, which reports each
gateway's outcome as an admin message and writes one audit log line per gateway (logger
``django_aws_api_gateway_websockets.admin``). Messages never carry secrets, AWS error texts or
tracebacks: a failure names the gateway and the error type or AWS error code (with the AWS
operation that failed), and the details stay in the server's log.

Secrets are never displayed: a gateway's ``secret`` shows as "set"/"not set", a token only as
its first characters, and a token's browser session key not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest
from django.utils import timezone

from .admin_provisioning import PROVISIONING_ACTIONS
from .conf import conf
from .messaging import error_code
from .models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)

if TYPE_CHECKING:
    GatewayAdminBase = admin.ModelAdmin[ApiGateway]
    RouteAdminBase = admin.ModelAdmin[ApiGatewayAdditionalRoute]
    RouteInlineBase = admin.TabularInline[ApiGatewayAdditionalRoute, ApiGateway]
    SessionAdminBase = admin.ModelAdmin[WebSocketSession]
    TokenAdminBase = admin.ModelAdmin[WebSocketToken]
    RateLimitAdminBase = admin.ModelAdmin[ConnectionRateLimit]
else:
    GatewayAdminBase = RouteAdminBase = SessionAdminBase = admin.ModelAdmin
    TokenAdminBase = RateLimitAdminBase = admin.ModelAdmin
    RouteInlineBase = admin.TabularInline

logger = logging.getLogger(__name__)

#: Errors from AWS (or from botocore before reaching it) that saving or an action reports.
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

#: URLs typed without a scheme are https (Django 6's default; silences its deprecation warning).
URL_FIELD_OVERRIDES: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https"}
}

#: Characters of a token shown in the admin: enough to tell tokens apart, useless to connect.
TOKEN_PREFIX_LENGTH = 8


# -- outcomes, messages and the audit log -----------------------------------------------------


class ActionRefusedError(Exception):
    """A precondition of an action failed. The message is ours and is shown to the admin user."""


class NothingToDoError(Exception):
    """The object is already in the state the action would bring it to."""


def describe_error(error: BaseException) -> str:
    """A description of ``error`` that is safe to show: the AWS error code and operation for a
    ``ClientError``, else the exception's type name. Never the error's message."""
    if isinstance(error, ClientError):
        operation = getattr(error, "operation_name", "") or ""
        suffix = f" in {operation}" if operation else ""
        return f"AWS error {error_code(error)}{suffix}"
    return type(error).__name__


def _admin_user(request: HttpRequest) -> str:
    user = request.user
    return f"{user.get_username()!r} (pk={user.pk})"


def audit(
    request: HttpRequest, action: str, obj: Any, outcome: str, level: int = logging.INFO
) -> None:
    """One audit line: who ran what on which object, and how it ended."""
    logger.log(
        level,
        "admin user %s ran %r on %s %r (pk=%s): %s",
        _admin_user(request),
        action,
        type(obj).__name__,
        str(obj),
        obj.pk,
        outcome,
    )


# -- gateway actions ----------------------------------------------------------------------------

#: One step of a gateway action: does the work and returns the success message, or raises
#: :class:`NothingToDoError` / :class:`ActionRefusedError` (any other exception is a failure).
GatewayStep = Callable[[ApiGateway], str]


def run_gateway_action(
    request: HttpRequest, queryset: QuerySet[ApiGateway], action: str, step: GatewayStep
) -> None:
    """Run ``step`` on every selected gateway, reporting and auditing each outcome."""
    for gateway in queryset.order_by("pk"):
        name = gateway.api_name
        try:
            text = step(gateway)
        except NothingToDoError as skipped:
            messages.info(request, f"{action}: “{name}” {skipped}.")
            audit(request, action, gateway, f"nothing to do ({skipped})")
        except ActionRefusedError as refused:
            messages.warning(request, f"{action}: “{name}” {refused}.")
            audit(request, action, gateway, f"refused ({refused})", logging.WARNING)
        except AWS_ERRORS as error:
            described = describe_error(error)
            messages.error(request, f"{action} failed for “{name}”: {described}.")
            audit(request, action, gateway, f"failed ({described})", logging.ERROR)
        except Exception as error:
            described = describe_error(error)
            messages.error(request, f"{action} failed for “{name}”: {described}.")
            audit(request, action, gateway, f"failed ({described})", logging.ERROR)
            # The details (possibly including request values) go to the server log only.
            logger.error("%s failed for ApiGateway pk=%s", action, gateway.pk, exc_info=True)
        else:
            messages.success(request, f"{action}: “{name}” {text}.")
            audit(request, action, gateway, "succeeded")


def create_api_gateway_step(gateway: ApiGateway) -> str:
    """Create the gateway on AWS (see :meth:`ApiGateway.create_gateway`)."""
    if gateway.api_created:
        raise NothingToDoError("is already created")
    if not gateway.target_base_endpoint:
        raise ActionRefusedError("has no target base endpoint: set it, then run the action again")
    if not gateway.create_gateway():
        raise NothingToDoError("is already created")
    return f"created (API id {gateway.api_id})"


def create_custom_domain_step(gateway: ApiGateway) -> str:
    """Create the gateway's custom domain (see :meth:`ApiGateway.create_custom_domain`)."""
    if gateway.custom_domain_created:
        raise NothingToDoError("already has its custom domain")
    if not gateway.api_created:
        raise ActionRefusedError("is not created yet: run “Create API Gateway” first")
    if not gateway.domain_name:
        raise ActionRefusedError("has no domain name: set it, then run the action again")
    if not gateway.certificate_arn:
        raise ActionRefusedError("has no certificate ARN: set it, then run the action again")
    gateway.create_custom_domain()
    return (
        f"custom domain {gateway.domain_name} created; point its DNS record at "
        f"{gateway.api_gateway_domain_name}"
    )


@admin.action(description="Create API Gateway", permissions=["change"])
def create_api_gateway(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[ApiGateway]
) -> None:
    run_gateway_action(request, queryset, "Create API Gateway", create_api_gateway_step)


@admin.action(description="Create Custom Domain", permissions=["change"])
def create_custom_domain(
    modeladmin: admin.ModelAdmin[Any], request: HttpRequest, queryset: QuerySet[ApiGateway]
) -> None:
    run_gateway_action(request, queryset, "Create Custom Domain", create_custom_domain_step)


# -- saving routes (which updates AWS once the gateway is deployed) ------------------------------


def save_route(request: HttpRequest, route: ApiGatewayAdditionalRoute) -> None:
    """Save a route; when updating it on AWS fails, keep the row and say so instead of failing
    the page. Saving it again retries (it stays not ``deployed``)."""
    updates_aws = bool(route.api_gateway.deployment_id)
    try:
        route.save()
    except AWS_ERRORS as error:
        described = describe_error(error)
        messages.warning(
            request,
            f"Route “{route.name}” was saved, but updating it on AWS failed: {described}. "
            "Save it again to retry.",
        )
        audit(
            request,
            "Save route",
            route,
            f"saved; AWS update failed ({described})",
            logging.WARNING,
        )
    else:
        if updates_aws:
            audit(request, "Save route", route, "saved and deployed to AWS")


class ApiGatewayAdditionalRouteInline(RouteInlineBase):
    model = ApiGatewayAdditionalRoute
    extra = 0
    fields = ("name", "route_key", "integration_url", "deployed")
    readonly_fields = ("deployed",)
    show_change_link = True
    formfield_overrides = URL_FIELD_OVERRIDES


# -- model admins -------------------------------------------------------------------------------


@admin.register(ApiGateway)
class ApiGatewayAdmin(GatewayAdminBase):
    list_display = (
        "api_name",
        "domain_name",
        "default_channel_name",
        "api_id",
        "stage_name",
        "api_created",
        "custom_domain_created",
        "route_count",
        "secret_status",
        "created_on",
    )
    list_filter = ("api_created", "custom_domain_created", "stage_name")
    search_fields = ("api_name", "domain_name", "=api_id")
    date_hierarchy = "created_on"
    ordering = ("api_name",)
    actions = (create_api_gateway, create_custom_domain, *PROVISIONING_ACTIONS)
    inlines = (ApiGatewayAdditionalRouteInline,)
    formfield_overrides = URL_FIELD_OVERRIDES
    readonly_fields = (
        "deployment_id",
        "api_created",
        "custom_domain_created",
        "secret_status",
        "created_on",
        "updated_on",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "api_name",
                    "api_description",
                    "default_channel_name",
                    "target_base_endpoint",
                    "tags",
                )
            },
        ),
        ("Custom domain", {"fields": ("domain_name", "certificate_arn", "hosted_zone_id")}),
        (
            "Routing and stage",
            {
                "classes": ("collapse",),
                "fields": (
                    "route_selection_expression",
                    "api_key_selection_expression",
                    "route_key",
                    "stage_name",
                    "stage_description",
                ),
            },
        ),
        (
            "State on AWS",
            {
                "description": "Filled in by the “Create API Gateway” and “Create Custom "
                "Domain” actions.",
                "fields": (
                    ("api_created", "custom_domain_created"),
                    "api_id",
                    "api_endpoint",
                    "api_gateway_domain_name",
                    "api_mapping_id",
                    "deployment_id",
                    "secret_status",
                    ("created_on", "updated_on"),
                ),
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiGateway]:
        return super().get_queryset(request).annotate(_route_count=Count("additional_routes"))

    @admin.display(description="additional routes", ordering="_route_count")
    def route_count(self, obj: ApiGateway) -> int:
        return int(getattr(obj, "_route_count", 0))

    @admin.display(description="secret")
    def secret_status(self, obj: ApiGateway) -> str:
        return "set" if obj.secret else "not set"

    def save_formset(
        self, request: HttpRequest, form: ModelForm[Any], formset: Any, change: bool
    ) -> None:
        if formset.model is not ApiGatewayAdditionalRoute:
            super().save_formset(request, form, formset, change)
            return
        assert isinstance(formset, BaseInlineFormSet)
        routes = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        if formset.instance.deployment_id:
            # Unchanged routes that are not deployed yet (an earlier AWS update failed) are
            # saved again, so saving the gateway retries them.
            deleted = {obj.pk for obj in formset.deleted_objects}
            routes += [
                form.instance
                for form in formset.initial_forms
                if form.instance.pk not in deleted
                and not form.instance.deployed
                and form.instance not in routes
            ]
        for route in routes:
            save_route(request, route)
        formset.save_m2m()


@admin.register(ApiGatewayAdditionalRoute)
class ApiGatewayAdditionalRouteAdmin(RouteAdminBase):
    list_display = ("name", "api_gateway", "route_key", "integration_url", "deployed", "updated_on")
    list_select_related = ("api_gateway",)
    list_filter = ("deployed", "api_gateway")
    search_fields = ("name", "route_key", "api_gateway__api_name")
    date_hierarchy = "created_on"
    ordering = ("api_gateway__api_name", "route_key")
    autocomplete_fields = ("api_gateway",)
    formfield_overrides = URL_FIELD_OVERRIDES
    fields = (
        "api_gateway",
        "name",
        "route_key",
        "integration_url",
        "deployed",
        "created_on",
        "updated_on",
    )
    readonly_fields = ("deployed", "created_on", "updated_on")

    def save_model(
        self,
        request: HttpRequest,
        obj: ApiGatewayAdditionalRoute,
        form: ModelForm[ApiGatewayAdditionalRoute],
        change: bool,
    ) -> None:
        save_route(request, obj)


def _user_search_field() -> str:
    return f"^user__{get_user_model().USERNAME_FIELD}"


@admin.register(WebSocketSession)
class WebSocketSessionAdmin(SessionAdminBase):
    """Connections. They are made by ``$connect``, so they cannot be added here, and their user
    and gateway cannot be changed (that would route someone's messages to another connection)."""

    list_display = (
        "connection_id",
        "channel_name",
        "user",
        "api_gateway",
        "connected",
        "request_count",
        "created_on",
        "updated_on",
    )
    list_select_related = ("user", "api_gateway")
    list_filter = ("connected", "api_gateway")
    date_hierarchy = "created_on"
    ordering = ("-created_on",)
    show_full_result_count = False
    fields = (
        "connection_id",
        "channel_name",
        "connected",
        "user",
        "api_gateway",
        "request_count",
        "created_on",
        "updated_on",
    )
    readonly_fields = (
        "connection_id",
        "user",
        "api_gateway",
        "request_count",
        "created_on",
        "updated_on",
    )

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["=connection_id", "^channel_name", _user_search_field()]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class ReadOnlyAdminMixin:
    """Rows written by the package only: they can be viewed and deleted, not added or changed."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebSocketToken)
class WebSocketTokenAdmin(ReadOnlyAdminMixin, TokenAdminBase):
    """One-time connection tokens. Only a prefix of the token is ever shown, and the browser
    session key the token is bound to not at all: both are credentials."""

    list_display = ("token_prefix", "user", "created_at", "used", "expired")
    list_select_related = ("user",)
    list_filter = ("used",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    show_full_result_count = False
    # Never "token" or "session_key": the view-only change page renders these fields only.
    fields = ("token_prefix", "user", "created_at", "used", "expired")
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [_user_search_field()]

    @admin.display(description="token")
    def token_prefix(self, obj: WebSocketToken) -> str:
        return f"{obj.token[:TOKEN_PREFIX_LENGTH]}…"

    @admin.display(description="expired", boolean=True)
    def expired(self, obj: WebSocketToken) -> bool:
        return obj.created_at < timezone.now() - timedelta(seconds=conf.token_expiry_seconds)


@admin.register(ConnectionRateLimit)
class ConnectionRateLimitAdmin(ReadOnlyAdminMixin, RateLimitAdminBase):
    """``$connect`` attempts recorded for rate limiting."""

    list_display = ("ip_address", "user", "attempt_time", "successful")
    list_select_related = ("user",)
    list_filter = ("successful",)
    date_hierarchy = "attempt_time"
    ordering = ("-attempt_time",)
    show_full_result_count = False
    fields = ("ip_address", "user", "attempt_time", "successful")
    readonly_fields = fields

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        # Prefix match (not "=") so a search for a user name is not compared as an inet value.
        return ["^ip_address", _user_search_field()]
