"""The seed document's mixins (shared/seed/templates_and_mixins.txt), as projects test them:
``RequestFactory`` requests, ``mixins.resolve`` patched, and the seed's template examples."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import resolve
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets import mixins
from django_aws_api_gateway_websockets.mixins import (
    AddWebSocketRouteToContextMixin,
    AppChannelWebSocketMixin,
)
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.views import WebSocketView
from tests.client.test_templatetag import SEED_BASIC, SEED_TOKENS

pytestmark = pytest.mark.django_db

RESOLVE = "django_aws_api_gateway_websockets.mixins.resolve"


class DashboardView(AddWebSocketRouteToContextMixin, TemplateView):
    template_name = "dashboard/index.html"
    websocket_route_key = "dashboard"
    channel_name = "dashboard"


class BlogIndexView(AppChannelWebSocketMixin, TemplateView):
    template_name = "blog/index.html"


class PublicBlogView(AppChannelWebSocketMixin, TemplateView):
    template_name = "blog/index.html"
    app_channel_override = "public_blog"


def add_route(route_key: str, domain: str = "ws.example.com") -> ApiGatewayAdditionalRoute:
    gateway = ApiGateway.objects.create(
        api_name=f"gw-{route_key}", api_id="abcdef1234", domain_name=domain
    )
    return ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name=route_key,
        route_key=route_key,
        integration_url=f"https://www.example.com/ws/{route_key}",
    )


def context_of(view_class: type, path: str = "/blog/") -> dict[str, Any]:
    view = view_class()
    view.setup(RequestFactory().get(path))
    return view.get_context_data()


def test_resolve_is_a_module_attribute() -> None:
    assert mixins.resolve is resolve


def test_route_and_channel_from_the_view() -> None:
    expected = add_route("dashboard")
    context = context_of(DashboardView)
    assert context["api_gateway_route"] == expected
    assert context["channel_name"] == "dashboard"


def test_app_from_a_patched_resolve() -> None:
    """The seed's pattern: the app "blog" from the view that served the request, which a
    project's test gives with a patched ``mixins.resolve``."""
    expected = add_route("auth")  # django.contrib.auth is an installed app: label "auth"
    with patch(RESOLVE) as fake:
        fake.return_value.func.__module__ = "django.contrib.auth.views"
        context = context_of(BlogIndexView, "/accounts/login/")
    fake.assert_called_once_with("/accounts/login/")
    assert (context["channel_name"], context["api_gateway_route"]) == ("auth", expected)


def test_override_changes_the_channel_only() -> None:
    expected = add_route("auth")
    with patch(RESOLVE) as fake:
        fake.return_value.func.__module__ = "django.contrib.auth.views"
        context = context_of(PublicBlogView)
    assert (context["channel_name"], context["api_gateway_route"]) == ("public_blog", expected)


def test_a_real_resolver_match_wins() -> None:
    """Rendered through the URL resolver: ``request.resolver_match`` names the view (the room
    page of the test app), and ``resolve`` is not called again."""
    add_route("testapp")
    request = RequestFactory().get("/room/")
    request.resolver_match = resolve("/room/")
    view = BlogIndexView()
    view.setup(request)
    with patch(RESOLVE) as fake:
        context = view.get_context_data()
    fake.assert_not_called()
    assert context["channel_name"] == "testapp"


def test_unresolvable_path_falls_back_to_the_view_class() -> None:
    context = context_of(BlogIndexView, "/no/such/page/")
    assert context["channel_name"] == "tests"  # this module is not in an installed app


def test_channel_from_a_dotted_app_path_is_valid() -> None:
    view = WebSocketView()
    with patch(RESOLVE) as fake:
        fake.return_value.func.__module__ = "tests.testapp.views"
        channel = context_of(BlogIndexView)["channel_name"]
    assert view._valid_channel(channel)


# -- the seed's templates ---------------------------------------------------------------------

# The seed's templates, shared with tests/client/test_templatetag.py; the dashboard example
# adds an else branch.
BASIC = SEED_BASIC
TOKENS = SEED_TOKENS.replace(
    "{% endif %}", "{% else %}\n<p>WebSocket route is not configured.</p>\n{% endif %}"
)


def render(source: str, view_class: type) -> str:
    return Template(source).render(Context(context_of(view_class)))


def test_seed_basic_template() -> None:
    add_route("dashboard")
    html = render(BASIC, DashboardView)
    assert 'const websocketUrl = "wss://ws.example.com?channel=dashboard";' in html


def test_seed_token_template() -> None:
    add_route("dashboard")
    html = render(TOKENS, DashboardView)
    assert 'baseUrl: "wss://ws.example.com",' in html
    assert 'channel: "dashboard",' in html
    assert 'tokenEndpoint: "/ws-token/"' in html


def test_seed_escaping_of_channel_names() -> None:
    add_route("dashboard")

    class Odd(DashboardView):
        channel_name = 'a b"&<'

    html = render(BASIC + TOKENS, Odd)
    assert "channel=a%20b%22%26%3C" in html
    assert 'channel: "a b\\u0022\\u0026\\u003C"' in html


def test_seed_common_problem_route_is_empty() -> None:
    """The seed's "api_gateway_route is empty": no route with the view's key."""
    add_route("support")
    assert context_of(DashboardView)["api_gateway_route"] is None
    assert "WebSocket route is not configured." in render(TOKENS, DashboardView)


def test_the_gateway_secret_is_not_loaded_into_the_context() -> None:
    route = add_route("dashboard")
    ApiGateway.objects.filter(pk=route.api_gateway_id).update(secret="hidden-secret")
    gateway = context_of(DashboardView)["api_gateway_route"].api_gateway
    assert "secret" in gateway.get_deferred_fields()


def test_page_served_by_django_uses_the_view(client: Client) -> None:
    add_route("room")
    assert "wss://ws.example.com?channel=lobby" in client.get("/room/").content.decode()
