"""Channel permissions in the view (release 4.1): ``can_join_channel``, ``get_channel_permission``,
``ALLOW_UNLISTED_CHANNELS``, ``CHECK_PERMISSIONS_ON_CONNECT``, on ``$connect`` (403, a failed
attempt) and on ``change_channel`` (403); the channel validated before the token is spent; and
what it costs (nothing for an open channel)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ChannelPermission,
    ChannelPermissionRule,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import (
    CHANNEL_FORBIDDEN,
    INVALID_CHANNEL,
    PERMISSION_DENIED,
    WebSocketView,
)
from tests.support.budget import data_statements, without_returning

pytestmark = pytest.mark.django_db


def gateway_at(prefix: str) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name=f"gw {prefix}",
        api_id=f"{prefix.replace('-', '')[:8]}12",
        target_base_endpoint=f"https://www.example.com/{prefix}/",
        secret="s3cret-value",
    )


def restricted(name: str, access: str, *rules: list[str]) -> ChannelPermission:
    row = ChannelPermission.objects.create(channel_name=name, access=access)
    for codenames in rules:
        rule = ChannelPermissionRule.objects.create(channel_permission=row)
        rule.permissions.set(Permission.objects.filter(codename__in=codenames))
    return row


def refused(response: Any, status: int, body: str) -> bool:
    return (response.status_code, response.content.decode()) == (status, body)


class TestConnect:
    def test_open_channel_costs_no_query(self, callbacks) -> None:
        token = callbacks.token()
        with CaptureQueriesContext(connection) as context:
            assert callbacks.connect("c1=", token=token, channel="room").status_code == 200
        # The same four statements as without channel permissions (test_views' budget): the
        # gateway with the IP's attempts, the token, the attempt, the session (its condition).
        assert len(data_statements(context)) == 4 + without_returning()
        assert WebSocketSession.objects.get().channel_name == "room"

    def test_allow_all_row_is_open(self, callbacks) -> None:
        restricted("room", "allow_all")
        assert callbacks.connect("c1=", token=callbacks.token(), channel="room").status_code == 200

    def test_staff_only_refuses_a_user_and_counts_a_failed_attempt(self, callbacks) -> None:
        restricted("room", "staff_only")
        response = callbacks.connect("c1=", token=callbacks.token(), channel="room")
        assert refused(response, 403, CHANNEL_FORBIDDEN)
        assert not WebSocketSession.objects.exists()
        assert list(ConnectionRateLimit.objects.values_list("successful", flat=True)) == [False]

    def test_staff_only_admits_staff(self, callbacks, user) -> None:
        restricted("room", "staff_only")
        get_user_model().objects.filter(pk=user.pk).update(is_staff=True)
        assert callbacks.connect("c1=", token=callbacks.token(), channel="room").status_code == 200
        assert WebSocketSession.objects.get().channel_name == "room"

    def test_permission_rules(self, callbacks, user) -> None:
        restricted("room", "permissions", ["view_user", "add_user"], ["change_user"])
        assert refused(
            callbacks.connect("c1=", token=callbacks.token(), channel="room"),
            403,
            CHANNEL_FORBIDDEN,
        )
        user.user_permissions.add(Permission.objects.get(codename="change_user"))
        assert callbacks.connect("c2=", token=callbacks.token(), channel="room").status_code == 200

    def test_the_gateways_default_channel_is_checked(self, callbacks) -> None:
        restricted("lobby", "superuser_only")
        assert refused(callbacks.connect("c1=", token=callbacks.token()), 403, CHANNEL_FORBIDDEN)

    def test_unknown_access_value_admits_no_one(self, callbacks, user) -> None:
        row = restricted("room", "allow_all")
        ChannelPermission.objects.filter(pk=row.pk).update(access="everyone!")
        get_user_model().objects.filter(pk=user.pk).update(is_superuser=True)
        response = callbacks.connect("c1=", token=callbacks.token(), channel="room")
        assert refused(response, 403, CHANNEL_FORBIDDEN)

    def test_rate_limit_still_applies_on_a_restricted_channel(self, callbacks, settings) -> None:
        settings.WEBSOCKETS = {"rate_limit_max_attempts": 1}
        restricted("room", "allow_all")  # a row, but open: the INSERT's condition passes
        ConnectionRateLimit.objects.create(ip_address="203.0.113.10")
        response = callbacks.connect("c1=", token=callbacks.token(), channel="room")
        assert response.status_code == 400
        assert not WebSocketSession.objects.exists()

    def test_invalid_channel_does_not_spend_the_token(self, callbacks) -> None:
        token = callbacks.token()
        assert refused(callbacks.connect("c1=", token=token, channel="a b"), 400, INVALID_CHANNEL)
        assert not WebSocketToken.objects.get().used
        assert callbacks.connect("c1=", token=token, channel="ab").status_code == 200


class TestUnlistedChannelsClosed:
    @pytest.fixture
    def closed(self, logged_in_client: Client) -> GatewayCallbacks:
        return GatewayCallbacks(logged_in_client, gateway_at("ws-closed"))

    def test_a_channel_without_a_row_is_refused(self, closed) -> None:
        response = closed.connect("c1=", token=closed.token(), channel="room")
        assert refused(response, 403, CHANNEL_FORBIDDEN)
        assert not WebSocketSession.objects.exists()

    def test_a_listed_channel_is_admitted(self, closed) -> None:
        restricted("room", "allow_all")
        assert closed.connect("c1=", token=closed.token(), channel="room").status_code == 200

    def test_no_channel_at_all_is_not_a_channel(self, closed) -> None:
        assert closed.connect("c1=", token=closed.token()).status_code == 200
        assert WebSocketSession.objects.get().channel_name == ""

    def test_change_channel_to_an_unlisted_channel(self, closed) -> None:
        restricted("room", "allow_all")
        assert closed.connect("c1=", token=closed.token(), channel="room").status_code == 200
        response = closed.message("c1=", {"handler": "change_channel", "channel": "elsewhere"})
        assert refused(response, 403, CHANNEL_FORBIDDEN)
        assert WebSocketSession.objects.get().channel_name == "room"


class TestChangeChannel:
    @pytest.fixture
    def joined(self, callbacks) -> GatewayCallbacks:
        assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
        return callbacks

    def test_refused_channel(self, joined) -> None:
        restricted("vip", "superuser_only")
        response = joined.message("c1=", {"handler": "change_channel", "channel": "vip"})
        assert refused(response, 403, CHANNEL_FORBIDDEN)
        assert WebSocketSession.objects.get().channel_name == "lobby"

    def test_allowed_by_a_rule(self, joined, user) -> None:
        restricted("vip", "permissions", ["view_user"])
        user.user_permissions.add(Permission.objects.get(codename="view_user"))
        response = joined.message("c1=", {"handler": "change_channel", "channel": "vip"})
        assert response.status_code == 200
        assert WebSocketSession.objects.get().channel_name == "vip"

    def test_open_channel_is_one_update(self, joined) -> None:
        with CaptureQueriesContext(connection) as context:
            response = joined.message("c1=", {"handler": "change_channel", "channel": "open"})
        assert response.status_code == 200
        # The gateway (not cached inside a test's transaction), the message's statement, and
        # the UPDATE carrying the channel's condition.
        assert len(data_statements(context)) == 3 + without_returning()


class TestOverrides:
    def test_check_permissions_on_connect(self, logged_in_client, user) -> None:
        callbacks = GatewayCallbacks(logged_in_client, gateway_at("ws-connect-guarded"))
        response = callbacks.connect("c1=", token=callbacks.token())
        assert refused(response, 403, PERMISSION_DENIED)
        assert list(ConnectionRateLimit.objects.values_list("successful", flat=True)) == [False]
        user.user_permissions.add(Permission.objects.get(codename="view_user"))
        assert callbacks.connect("c2=", token=callbacks.token()).status_code == 200

    def test_overridden_can_join_channel(self, logged_in_client, user) -> None:
        callbacks = GatewayCallbacks(logged_in_client, gateway_at("ws-own"))
        mine, theirs = f"user-{user.pk}", f"user-{user.pk + 1}"
        assert refused(
            callbacks.connect("c1=", token=callbacks.token(), channel=theirs),
            403,
            CHANNEL_FORBIDDEN,
        )
        assert callbacks.connect("c2=", token=callbacks.token(), channel=mine).status_code == 200
        response = callbacks.message("c2=", {"handler": "change_channel", "channel": theirs})
        assert refused(response, 403, CHANNEL_FORBIDDEN)

    def test_get_channel_permission_as_users_call_it(self, user) -> None:
        """The way a 4.1 project's tests call the methods: a view built directly."""
        row = restricted("room", "staff_only")
        view = WebSocketView()
        request = RequestFactory().get("/")
        request.user = user
        assert view.get_channel_permission("room") == row
        assert view.get_channel_permission("other") is None
        assert view.can_join_channel(request, "room") is False
        assert view.can_join_channel(request, "other") is True
        view.ALLOW_UNLISTED_CHANNELS = False
        assert view.can_join_channel(request, "other") is False


def test_four_one_defaults() -> None:
    assert (WebSocketView.ALLOW_UNLISTED_CHANNELS, WebSocketView.CHECK_PERMISSIONS_ON_CONNECT) == (
        True,
        False,
    )
