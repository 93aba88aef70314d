"""A page whose view names a route key no additional route has (or whose gateway has no address
yet) says so: ``{% websocket_config %}`` renders the reason and the client's error carries it,
instead of a bare ``WebSocketClient needs a url``."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import RequestFactory
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.mixins import AddWebSocketRouteToContextMixin
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.templatetags.aws_websockets import client_config
from tests.client.test_templatetag_in_browser import TAG_PAGE, chromium_browser, render, serve

__all__ = ["chromium_browser"]  # the module-scoped browser fixture, reused


class RoomView(AddWebSocketRouteToContextMixin, TemplateView):
    template_name = "unused.html"
    websocket_route_key = "chat"
    channel_name = "lobby"


def page_context() -> dict[str, Any]:
    view = RoomView()
    view.setup(RequestFactory().get("/"))
    return view.get_context_data()


@pytest.mark.django_db
def test_the_missing_route_key_is_named() -> None:
    ApiGateway.objects.create(api_name="Chat", api_endpoint="ws://127.0.0.1:8001/abc")
    context = page_context()
    assert context["websocket_url"] is None and context["websocket_route_key"] == "chat"
    config = client_config(context)
    assert config["url"] is None
    assert 'route_key "chat"' in config["unavailable"]


@pytest.mark.django_db
def test_a_gateway_without_an_address_is_named() -> None:
    gateway = ApiGateway.objects.create(api_name="Chat")
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="Chat", route_key="chat", integration_url="http://x/ws/chat"
    )
    config = client_config(page_context())
    assert config["url"] is None
    assert config["unavailable"].startswith('ApiGateway "Chat" has no address yet')


@pytest.mark.django_db
def test_a_page_with_a_url_says_nothing_more() -> None:
    gateway = ApiGateway.objects.create(api_name="Chat", api_endpoint="ws://127.0.0.1:8001/abc")
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway, name="Chat", route_key="chat", integration_url="http://x/ws/chat"
    )
    config = client_config(page_context())
    assert config["url"] == "ws://127.0.0.1:8001/abc/production?channel=lobby"
    assert "unavailable" not in config


def test_the_browser_error_names_the_route_key(chromium_browser: Any) -> None:
    # What the mixin gives when no route has its key (the first test); no database here:
    # Playwright's loop runs in this thread.
    context = {"websocket_url": None, "api_gateway_route": None, "channel_name": "lobby"}
    html = render(TAG_PAGE, {**context, "websocket_route_key": "chat"})
    config = html.split('type="application/json">')[1].split("</script>")[0]
    assert json.loads(config)["url"] is None
    page, errors, sockets, _ = serve(chromium_browser, html)
    deadline = time.monotonic() + 10
    while not errors and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    page.context.close()
    assert sockets == []
    (error,) = errors
    assert "WebSocketClient needs a url: " in error
    assert 'no ApiGatewayAdditionalRoute has route_key "chat"' in error
