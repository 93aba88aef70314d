"""Admin customisations a 4.1 project makes: its own subclasses of the package's admins."""

from django.contrib import admin

from django_aws_api_gateway_websockets.admin import (
    ApiGatewayAdmin,
    ChannelPermissionAdmin,
    sync_from_aws,
    sync_to_aws,
)
from django_aws_api_gateway_websockets.models import ApiGateway, ChannelPermission

admin.site.unregister(ApiGateway)
admin.site.unregister(ChannelPermission)


@admin.register(ApiGateway)
class ProjectApiGatewayAdmin(ApiGatewayAdmin):
    list_display = ("api_name", "api_id", "provisioning_status", "last_error")
    actions = [sync_to_aws, sync_from_aws]


@admin.register(ChannelPermission)
class ProjectChannelPermissionAdmin(ChannelPermissionAdmin):
    list_display = ("channel_name", "access", "rules_summary")
    search_fields = ("channel_name",)
