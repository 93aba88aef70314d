"""The admin of gateways and their additional routes.

A gateway's ``secret`` shows as "set"/"not set", never its value. Saving a route of a deployed
gateway updates AWS too; when that fails the row is kept (not ``deployed``), the admin user is
warned, and saving it again retries. The gateway's actions are in :mod:`.gateway_actions`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest

from ..aws import describe_error
from ..integration_hosts import validate_integration_host
from ..models import ApiGateway, ApiGatewayAdditionalRoute
from .actions import AWS_ERRORS
from .audit import audit
from .gateway_actions import GATEWAY_ACTIONS
from .sync import SYNC_ACTIONS, SyncErrorMessages

if TYPE_CHECKING:
    GatewayAdminBase = admin.ModelAdmin[ApiGateway]
    RouteAdminBase = admin.ModelAdmin[ApiGatewayAdditionalRoute]
    RouteInlineBase = admin.TabularInline[ApiGatewayAdditionalRoute, ApiGateway]
else:
    GatewayAdminBase = RouteAdminBase = admin.ModelAdmin
    RouteInlineBase = admin.TabularInline

#: URLs typed without a scheme are https (Django 6's default; silences its deprecation warning).
#: Integration URLs must name an allowed host (``allowed_integration_hosts``): a field error.
URL_FIELD_OVERRIDES: dict[type[models.Field[Any, Any]], dict[str, Any]] = {
    models.URLField: {"assume_scheme": "https", "validators": [validate_integration_host]}
}


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
class ApiGatewayAdmin(SyncErrorMessages, GatewayAdminBase):
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
    actions = (*GATEWAY_ACTIONS, *SYNC_ACTIONS)
    inlines = (ApiGatewayAdditionalRouteInline,)
    formfield_overrides = URL_FIELD_OVERRIDES
    readonly_fields = (
        "deployment_id",
        "api_created",
        "custom_domain_created",
        "provisioning_status",
        "last_error",
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
                    ("provisioning_status", "last_error"),
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
class ApiGatewayAdditionalRouteAdmin(SyncErrorMessages, RouteAdminBase):
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
