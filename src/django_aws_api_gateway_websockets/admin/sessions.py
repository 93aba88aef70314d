"""The admin of the rows the package writes itself: connections, tokens, rate-limit attempts.

Connections are made by ``$connect``; tokens and rate-limit attempts can be viewed and deleted,
never added or changed. Secrets are never displayed: a token shows only its first characters, and
its browser session key not at all.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone

from ..conf import conf
from ..models import ConnectionRateLimit, WebSocketSession, WebSocketToken

if TYPE_CHECKING:
    SessionAdminBase = admin.ModelAdmin[WebSocketSession]
    TokenAdminBase = admin.ModelAdmin[WebSocketToken]
    RateLimitAdminBase = admin.ModelAdmin[ConnectionRateLimit]
else:
    SessionAdminBase = TokenAdminBase = RateLimitAdminBase = admin.ModelAdmin

#: Characters of a token shown in the admin: enough to tell tokens apart, useless to connect.
TOKEN_PREFIX_LENGTH = 8


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

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Read-only, as in release 4.1: view and delete only (a connection's state is the
        gateway's to change: ``$disconnect``, or ``reconcileWebSocketSessions``)."""
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

    @admin.display(description="Token")
    def token_preview(self, obj: WebSocketToken) -> str:
        """The existing package's column (projects list it in ``list_display``): the first 16
        characters of the token."""
        return f"{obj.token[:16]}..."

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
