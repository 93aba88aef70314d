"""Template mixins: the seed document's context values, plus websocket_url."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from django_aws_api_gateway_websockets.mixins import app_channel_name
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from tests.testapp.views import AppPageOverrideView, AppPageView, RoomPageView

pytestmark = pytest.mark.django_db


def route(route_key: str, **gateway_fields: object) -> ApiGatewayAdditionalRoute:
    fields: dict[str, object] = {"api_name": f"gw-{route_key}", "api_id": "abcdef1234"}
    fields.update(gateway_fields)
    gateway = ApiGateway.objects.create(**fields)
    return ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name=route_key,
        route_key=route_key,
        integration_url="https://www.example.com/ws/x",
    )


def context(view_class: type, **kw: object) -> dict:
    request = RequestFactory().get("/room/")
    view = view_class(**kw)
    view.setup(request)
    return view.get_context_data()


def test_route_and_channel_in_context(django_assert_num_queries) -> None:
    expected = route("room", domain_name="ws.example.com")
    with django_assert_num_queries(1):
        ctx = context(RoomPageView)
        assert ctx["api_gateway_route"] == expected
        assert ctx["api_gateway_route"].api_gateway.domain_name == "ws.example.com"  # loaded
    assert ctx["channel_name"] == "lobby"
    assert ctx["websocket_url"] == "wss://ws.example.com/?channel=lobby"


def test_no_route() -> None:
    ctx = context(RoomPageView)
    assert ctx["api_gateway_route"] is None
    assert ctx["websocket_url"] is None


def test_seed_template_renders() -> None:
    route("room", domain_name="ws.example.com")
    html = Client().get("/room/").content.decode()
    assert 'const websocketUrl = "wss://ws.example.com?channel=lobby";' in html
    assert 'tokenEndpoint: "/ws-token/"' in html
    assert 'url: "wss://ws.example.com/?channel=lobby"' in html


def test_seed_template_without_route() -> None:
    assert "WebSocket route is not configured." in Client().get("/room/").content.decode()


@pytest.mark.parametrize(
    ("fields", "url"),
    [
        ({"domain_name": "ws.example.com"}, "wss://ws.example.com/?channel=lobby"),
        (
            {"api_endpoint": "wss://abcdef1234.execute-api.eu-west-1.amazonaws.com"},
            "wss://abcdef1234.execute-api.eu-west-1.amazonaws.com/production?channel=lobby",
        ),
        (
            {"api_endpoint": "ws://127.0.0.1:8001/abcdef1234", "stage_name": "dev"},
            "ws://127.0.0.1:8001/abcdef1234/dev?channel=lobby",
        ),
        ({}, "wss://abcdef1234.execute-api.us-east-1.amazonaws.com/production?channel=lobby"),
        ({"api_id": ""}, None),
    ],
)
def test_websocket_url_scheme(fields, url) -> None:
    route("room", **fields)
    assert context(RoomPageView)["websocket_url"] == url


def test_channel_is_url_encoded_in_websocket_url() -> None:
    route("room", domain_name="ws.example.com")
    assert context(RoomPageView, channel_name="a b&c")["websocket_url"] == (
        "wss://ws.example.com/?channel=a%20b%26c"
    )


@override_settings(AWS_REGION_NAME=None)
def test_websocket_url_without_region_is_none() -> None:
    route("room")
    assert context(RoomPageView)["websocket_url"] is None


def test_app_channel_uses_the_app_label() -> None:
    """Fix: the old mixin used the dotted package path ("tests.testapp"), an invalid channel."""
    expected = route("testapp", domain_name="ws.example.com")
    ctx = context(AppPageView)
    assert ctx["channel_name"] == "testapp"
    assert ctx["api_gateway_route"] == expected


def test_app_channel_override_replaces_only_the_channel() -> None:
    expected = route("testapp", domain_name="ws.example.com")
    ctx = context(AppPageOverrideView)
    assert ctx["channel_name"] == "public_blog"
    assert ctx["api_gateway_route"] == expected


@pytest.mark.parametrize(
    ("module", "channel"),
    [
        ("tests.testapp.views", "testapp"),
        ("tests.testapp", "testapp"),
        ("django.contrib.auth.views", "auth"),
        ("not_an_app.views", "not_an_app"),
    ],
)
def test_app_channel_name(module, channel) -> None:
    assert app_channel_name(module) == channel
