"""The admin of channel permissions (release 4.1's): one row per channel, its rules inline, and
the rules summarised as ``(A AND B) OR (C)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest

from ..models import ChannelAccess, ChannelPermission, ChannelPermissionRule

if TYPE_CHECKING:
    PermissionAdminBase = admin.ModelAdmin[ChannelPermission]
    RuleInlineBase = admin.TabularInline[ChannelPermissionRule, ChannelPermission]
else:
    PermissionAdminBase = admin.ModelAdmin
    RuleInlineBase = admin.TabularInline


def rules_summary(permission: ChannelPermission) -> str:
    """The rules of ``permission`` as ``(app.a AND app.b) OR (app.c)``: the permissions of a
    rule are all required, any one rule suffices. Empty rules are left out; ``""`` when there
    is no non-empty rule. Uses prefetched rules and permissions when the queryset has them."""
    alternatives = []
    for rule in permission.rules.all():
        labels = sorted(f"{p.content_type.app_label}.{p.codename}" for p in rule.permissions.all())
        if labels:
            alternatives.append("(" + " AND ".join(labels) + ")")
    return " OR ".join(alternatives)


class ChannelPermissionRuleInline(RuleInlineBase):
    """One line per alternative: a user needs every permission of one of them."""

    model = ChannelPermissionRule
    extra = 0
    filter_horizontal = ("permissions",)
    verbose_name = "rule (all of its permissions are required)"
    verbose_name_plural = "rules (any one rule suffices; used when access is 'permissions')"


@admin.register(ChannelPermission)
class ChannelPermissionAdmin(PermissionAdminBase):
    list_display = ("channel_name", "access", "who_may_join", "description", "updated_on")
    list_filter = ("access",)
    search_fields = ("^channel_name", "description")
    ordering = ("channel_name",)
    readonly_fields = ("created_on", "updated_on")
    inlines = (ChannelPermissionRuleInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChannelPermission]:
        rules = ChannelPermissionRule.objects.prefetch_related("permissions__content_type")
        return super().get_queryset(request).prefetch_related(Prefetch("rules", queryset=rules))

    @admin.display(description="rules")
    def rules_summary(self, obj: ChannelPermission) -> str:
        """Release 4.1's column: a ``permissions`` channel's rules (``""`` for other levels)."""
        return rules_summary(obj) if obj.access == ChannelAccess.PERMISSIONS else ""

    @admin.display(description="who may join")
    def who_may_join(self, obj: ChannelPermission) -> str:
        if obj.access == ChannelAccess.PERMISSIONS:
            return rules_summary(obj) or "superusers only (no rules)"
        if obj.access not in ChannelAccess.values:
            return f"no one (unknown access value {obj.access!r})"
        return str(obj.get_access_display())
