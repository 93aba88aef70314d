"""The 4.1 project's own test suite, written the way a 4.1 project tests: the Django test client
with API Gateway's headers spelled out, and ``models.get_boto3_client`` patched with a
``MagicMock`` (AWS cannot run in a project's tests). With ``PROJECT41_EXISTING_DB=1`` it runs
against the configured database as it is (one a real 4.1.0 install built, then migrated by
ours), each test rolled back."""

from __future__ import annotations

import json
import os
from io import StringIO
from unittest.mock import MagicMock, patch

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client, RequestFactory

from django_aws_api_gateway_websockets import admin as ws_admin
from django_aws_api_gateway_websockets.conf import get_boolean_setting, get_setting
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ChannelPermission,
    ChannelPermissionRule,
    WebSocketSession,
)

from .views import RoomView

FACTORY = "django_aws_api_gateway_websockets.models.get_boto3_client"
API_ID = "p41api0001"
HOST = "www.example.com"

if os.environ.get("PROJECT41_EXISTING_DB") == "1":

    @pytest.fixture(scope="session")
    def django_db_setup():
        """pytest-django's documented way to test against an existing database."""


@pytest.fixture
def gateway(db):
    return ApiGateway.objects.create(
        api_name="Project41",
        api_id=API_ID,
        api_endpoint=f"wss://{API_ID}.execute-api.eu-west-1.amazonaws.com",
        target_base_endpoint=f"https://{HOST}/ws/",
        default_channel_name="lobby",
        api_created=True,
    )


@pytest.fixture
def member(db):
    user = User.objects.create_user("p41-member", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_user"))
    return user


def gateway_headers(connection_id, *, secret=settings.GATEWAY_SECRET, event="message"):
    agent = f"AmazonAPIGateway_{API_ID}"  # CHECK_CONNECT_USERAGENT = True: API Gateway's own
    headers = {
        "Host": HOST,
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Port": "443",
        "X-Real-Ip": "203.0.113.7",
        "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
        "Connectionid": connection_id,
        "User-Agent": agent,
        "X-Amzn-Apigateway-Api-Id": API_ID,
        "X-Ws-Gateway-Secret": secret,
        "Content-Length": "0",
    }
    if event == "connect":
        headers.update(
            {
                "Origin": f"https://{HOST}",
                "Sec-Websocket-Extensions": "permessage-deflate; client_max_window_bits",
                "Sec-Websocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-Websocket-Version": "13",
            }
        )
    return headers


def connect(client, connection_id, channel="lobby", **extra):
    token = client.post("/ws-token/").json()["token"]
    headers = {**gateway_headers(connection_id, event="connect"), **extra}
    return client.post(f"/ws/connect?channel={channel}&ws_token={token}", headers=headers)


def message(client, connection_id, body, **extra):
    text = json.dumps(body)
    headers = {**gateway_headers(connection_id), "Content-Length": str(len(text)), **extra}
    return client.post("/ws/default", data=text, content_type="application/json", headers=headers)


@pytest.fixture
def browser(member):
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def lobby(db):
    return ChannelPermission.objects.create(channel_name="lobby", description="everyone")


def test_settings_read_through_4_1_conf():
    assert get_setting("token_expiry_seconds") == 60
    assert get_boolean_setting("push_changes_to_aws") is True


def test_connect_chat_disconnect(gateway, lobby, browser, member):
    assert connect(browser, "p41conn1=").status_code == 200
    row = WebSocketSession.objects.get(connection_id="p41conn1=")
    assert (row.user, row.channel_name, row.connected) == (member, "lobby", True)
    with patch(FACTORY) as factory:
        client = MagicMock()
        factory.return_value = client
        response = message(browser, "p41conn1=", {"handler": "chat", "text": "hello"})
    assert response.status_code == 200 and response.json() == {"sent": True}
    sent = client.post_to_connection.call_args_list
    assert [(c.kwargs["ConnectionId"], json.loads(c.kwargs["Data"])) for c in sent] == [
        ("p41conn1=", {"text": "hello"})
    ]
    response = browser.post("/ws/disconnect", headers=gateway_headers("p41conn1="))
    assert response.status_code == 200
    assert not WebSocketSession.objects.get(connection_id="p41conn1=").connected


def test_unlisted_channel_is_refused(gateway, lobby, browser):
    assert connect(browser, "p41conn2=", channel="nowhere").status_code == 403
    assert not WebSocketSession.objects.filter(connection_id="p41conn2=").exists()


def test_channel_rules(gateway, browser, member):
    staff = ChannelPermission.objects.create(channel_name="staff", access="staff_only")
    assert connect(browser, "p41conn3=", channel=staff.channel_name).status_code == 403
    ruled = ChannelPermission.objects.create(channel_name="ruled", access="permissions")
    rule = ChannelPermissionRule.objects.create(channel_permission=ruled)
    rule.permissions.add(Permission.objects.get(codename="view_user"))
    assert connect(browser, "p41conn4=", channel="ruled").status_code == 200


def test_connect_needs_the_view_permission(gateway, lobby, db):
    outsider = User.objects.create_user("p41-outsider", password="pw")
    client = Client()
    client.force_login(outsider)
    assert connect(client, "p41conn5=").status_code == 403


def test_change_channel(gateway, lobby, browser):
    connect(browser, "p41conn6=")
    ChannelPermission.objects.create(channel_name="other")
    response = message(browser, "p41conn6=", {"handler": "change_channel", "channel": "other"})
    assert response.status_code == 200
    assert WebSocketSession.objects.get(connection_id="p41conn6=").channel_name == "other"
    refused = message(browser, "p41conn6=", {"handler": "change_channel", "channel": "closed"})
    assert refused.status_code == 403


def test_gateway_secret_and_its_hook(gateway, lobby, browser):
    previous = settings.WEBSOCKETS["gateway_secret"][1]
    assert connect(browser, "p41conn7=", **{"X-Ws-Gateway-Secret": previous}).status_code == 200
    response = message(
        browser, "p41conn7=", {"handler": "default"}, **{"X-Ws-Gateway-Secret": "x" * 40}
    )
    assert (response.status_code, response.content) == (403, b"Not from our gateway")


def test_session_not_found_hook(gateway, browser):
    response = message(browser, "p41nobody=", {"handler": "default"})
    assert (response.status_code, response.content) == (400, b"Invalid connection ID")


def test_connect_useragent_is_checked(gateway, lobby, browser):
    response = connect(browser, "p41conn8=", **{"User-Agent": "Mozilla/5.0"})
    assert response.status_code == 400


def test_room_page_uses_the_mixin(gateway, db):
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="Room",
        route_key="room",
        integration_url=f"https://{HOST}/ws/room",
    )
    request = RequestFactory().get("/room/")
    request.user = MagicMock()
    html = RoomView.as_view()(request).render().content.decode()
    assert f'data-endpoint="wss://{API_ID}.execute-api.eu-west-1.amazonaws.com"' in html
    assert 'data-route="room"' in html and 'data-channel="lobby"' in html


def test_admin_customisations_and_sync_action(gateway, db, admin_user):
    from django.contrib import admin

    model_admin = admin.site._registry[ApiGateway]
    assert type(model_admin).__name__ == "ProjectApiGatewayAdmin"
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    with patch(FACTORY) as factory, patch.object(ws_admin, "messages") as messages:
        factory.return_value = MagicMock()
        ws_admin.sync_to_aws(model_admin, request, ApiGateway.objects.filter(pk=gateway.pk))
    assert messages.method_calls, "the action reports each gateway"
    changelist = Client()
    changelist.force_login(admin_user)
    assert changelist.get("/admin/django_aws_api_gateway_websockets/apigateway/").status_code == 200
    page = changelist.get("/admin/django_aws_api_gateway_websockets/channelpermission/")
    assert page.status_code == 200


def test_commands(gateway, lobby, browser):
    out = StringIO()
    with patch(FACTORY) as factory:
        factory.return_value = MagicMock()
        call_command(
            "updateApiGatewayIntegrations", "--pk", str(gateway.pk), "--dry-run", stdout=out
        )
    assert "Project41" in out.getvalue()
    connect(browser, "p41conn9=")
    connect(browser, "p41conn10=")
    browser.post("/ws/disconnect", headers=gateway_headers("p41conn9="))
    call_command("cleanupWebSocketTokens", stdout=StringIO())
    call_command("clearWebSocketSessions", stdout=StringIO())
    left = WebSocketSession.objects.filter(connection_id__startswith="p41conn")
    assert list(left.values_list("connection_id", flat=True)) == ["p41conn10="]


def test_checks_pass(db):
    call_command("check")


@pytest.mark.skipif(
    os.environ.get("PROJECT41_EXISTING_DB") != "1", reason="rows a 4.1.0 install wrote"
)
def test_rows_written_by_4_1_work(db):
    legacy = ApiGateway.objects.get(api_id="abc123defg")
    with patch(FACTORY) as factory:
        client = MagicMock()
        factory.return_value = client
        WebSocketSession.objects.filter(api_gateway=legacy, connected=True).send_message(
            {"notice": "maintenance"}, max_workers=2
        )
    sent = sorted(c.kwargs["ConnectionId"] for c in client.post_to_connection.call_args_list)
    assert sent == ["conn-1=", "conn-3="]
    staff_room = ChannelPermission.objects.get(channel_name="staff-room")
    alice = User.objects.get(username="alice")
    assert not staff_room.allows(alice)
    alice.user_permissions.add(Permission.objects.get(codename="change_user"))
    assert staff_room.allows(User.objects.get(pk=alice.pk))
