"""The page-load gap closed through the mixins: a view naming channels puts them and their
positions at render time into the context, and ``{% websocket_config %}`` hands both to the
client (which subscribes ``since`` those positions: ``test_js_channels.py``)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.mixins import AddWebSocketRouteToContextMixin
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.testing import capture_messages

pytestmark = pytest.mark.django_db

NAMESPACES = {"chat": {"presence": True, "history_size": 10, "history_ttl_seconds": 600}}


@pytest.fixture(autouse=True)
def _namespaces(settings: Any) -> None:
    settings.WEBSOCKETS = {"channel_namespaces": NAMESPACES}


class RoomPage(AddWebSocketRouteToContextMixin, TemplateView):
    template_name = "unused.html"
    websocket_route_key = "room"
    channel_name = "lobby"
    # a history channel, one without history, one of no namespace, one that is no channel
    websocket_channels = ("chat:7", "room-1", "nope:1", "not a channel")


def context(view_class: type = RoomPage) -> dict[str, Any]:
    view = view_class()
    view.setup(RequestFactory().get("/room/"))
    result: dict[str, Any] = view.get_context_data()
    return result


def config(ctx: dict[str, Any]) -> dict[str, Any]:
    html = Template("{% load aws_websockets %}{% websocket_config %}").render(Context(ctx))
    found = re.search(r'<script id="websocket-config" type="application/json">(.*)</script>', html)
    assert found is not None
    result: dict[str, Any] = json.loads(found[1])
    return result


def test_channels_and_their_positions_at_render_time(django_assert_num_queries: Any) -> None:
    gateway = ApiGateway.objects.create(api_name="gw", api_id="abcdef1234")
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="room", route_key="room", integration_url="https://x/ws/room"
    )
    with capture_messages():
        for text in ("one", "two", "three"):
            publish("chat:7", {"text": text})
    with django_assert_num_queries(3):  # the route; create-if-missing and read the streams
        ctx = context()
    assert ctx["websocket_channels"] == ["chat:7", "room-1", "nope:1", "not a channel"]
    positions = ctx["channel_positions"]
    assert list(positions) == ["chat:7"]  # history channels only
    assert positions["chat:7"]["offset"] == 3 and len(positions["chat:7"]["epoch"]) >= 1
    rendered = config(ctx)
    assert rendered["channels"] == ctx["websocket_channels"]
    assert rendered["positions"] == positions


def test_a_stream_not_created_yet_is_created_with_the_epoch_the_socket_will_see() -> None:
    first = context()["channel_positions"]["chat:7"]
    assert first["offset"] == 0
    with capture_messages():
        position = publish("chat:7", {"text": "after the page"})
    assert position is not None and position.epoch == first["epoch"]
    assert position.offset == first["offset"] + 1


def test_no_channels_no_queries_and_nothing_in_the_config(
    django_assert_num_queries: Any,
) -> None:
    class Plain(RoomPage):
        websocket_channels = ()

    with django_assert_num_queries(1):  # the route only
        ctx = context(Plain)
    assert ctx["websocket_channels"] == [] and ctx["channel_positions"] == {}
    rendered = config(ctx)
    assert "channels" not in rendered and "positions" not in rendered


def test_get_websocket_channels_overrides_the_attribute() -> None:
    class Dynamic(RoomPage):
        def get_websocket_channels(self) -> list[str]:
            return [f"chat:{self.request.GET.get('room', 'lobby')}"]

    view = Dynamic()
    view.setup(RequestFactory().get("/room/", {"room": "42"}))
    ctx = view.get_context_data()
    assert ctx["websocket_channels"] == ["chat:42"]
    assert list(ctx["channel_positions"]) == ["chat:42"]
