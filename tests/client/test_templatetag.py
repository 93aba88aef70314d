"""``{% websocket_config %}``: the connect configuration, from the mixins' context, as JSON that
cannot break out of its element; and the seed's hand-written template examples beside it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory, override_settings
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets import __version__
from django_aws_api_gateway_websockets.mixins import AddWebSocketRouteToContextMixin
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.templatetags.aws_websockets import CLIENT_OPTIONS
from tests.support.browser import CLIENT_JS

HOSTILE = '</script><script>alert("x")</script><!--'
CONFIG_RE = re.compile(
    r'<script id="(?P<id>[^"]+)" type="application/json">(?P<json>.*?)</script>', re.S
)

#: The seed document's template examples, as users have them in their templates today.
SEED_BASIC = """{% if api_gateway_route %}
{% with api_gateway_route.api_gateway as websocket %}
<script>
const websocketUrl = "wss://{{ websocket.domain_name }}?channel={{ channel_name|urlencode }}";
</script>
{% endwith %}
{% endif %}"""
SEED_TOKENS = """{% if api_gateway_route %}
{% with api_gateway_route.api_gateway as websocket %}
<script>
window.websocketConfig = {
baseUrl: "wss://{{ websocket.domain_name }}",
channel: "{{ channel_name|escapejs }}",
tokenEndpoint: "{% url 'websocket_token' %}"
};
</script>
{% endwith %}
{% endif %}"""


def render(source: str, context: dict[str, Any]) -> str:
    return Template("{% load aws_websockets %}" + source).render(Context(context))


def config_of(html: str, element_id: str = "websocket-config") -> dict[str, Any]:
    found = {m["id"]: m["json"] for m in CONFIG_RE.finditer(html)}
    assert element_id in found, html
    data: dict[str, Any] = json.loads(found[element_id])
    return data


def gateway_route(route_key: str = "chat", **fields: Any) -> ApiGatewayAdditionalRoute:
    values: dict[str, Any] = {
        "api_name": "Tag",
        "api_id": "tagapi1234",
        "domain_name": "ws.example.com",
    }
    values.update(fields)
    return ApiGatewayAdditionalRoute(
        api_gateway=ApiGateway(**values),
        name=route_key,
        route_key=route_key,
        integration_url="https://www.example.com/ws/chat",
    )


class DashboardView(AddWebSocketRouteToContextMixin, TemplateView):
    websocket_route_key = "chat"
    channel_name = "dashboard"


def mixin_context(view_class: type = DashboardView) -> dict[str, Any]:
    request = RequestFactory().get("/dashboard/")
    view = view_class()
    view.setup(request)
    context: dict[str, Any] = view.get_context_data()
    context["request"] = request
    return context


@pytest.mark.django_db
def test_config_from_the_mixins_context() -> None:
    route = gateway_route()
    route.api_gateway.save()
    route.save()
    context = mixin_context()
    html = render("{% websocket_config %}", context)
    config = config_of(html)
    assert config == {
        "url": "wss://ws.example.com/?channel=dashboard",
        "channel": "dashboard",
        "tokenUrl": "/ws-token/",
        "version": __version__,
        "routeKey": "chat",
        "routeSelectionKey": "action",
        "csrfToken": config["csrfToken"],
        "csrfCookieName": "csrftoken",
        "csrfHeaderName": "X-CSRFTOKEN",
    }
    assert len(config["csrfToken"]) == 64  # a masked token, as {% csrf_token %} renders it


def test_a_hostile_channel_name_stays_inside_the_element() -> None:
    context = {
        "websocket_url": "wss://ws.example.com/?channel=x",
        "channel_name": HOSTILE,
        "api_gateway_route": None,
    }
    html = render("{% websocket_config %}", context)
    assert html.count("</script>") == 1 and "<script>" not in html and "<!--" not in html
    assert config_of(html)["channel"] == HOSTILE  # and the value survives, byte for byte


def test_options_element_id_and_overrides() -> None:
    context = {"websocket_url": "ws://127.0.0.1:8001/abc/production", "channel_name": "room"}
    html = render(
        '{% websocket_config "chat-config" heartbeat_interval=60000 backoffMax=5000 '
        'debug=True channel="other" url="ws://override/x" %}',
        context,
    )
    config = config_of(html, "chat-config")
    assert config["heartbeatInterval"] == 60000 and config["backoffMax"] == 5000
    assert config["debug"] is True
    assert (config["channel"], config["url"]) == ("other", "ws://override/x")
    assert "csrfToken" not in config  # no request in the context


def test_unknown_option_is_a_template_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="unknown option 'heartbeat_intervall'"):
        render("{% websocket_config heartbeat_intervall=1 %}", {})


def test_without_a_route_or_url() -> None:
    config = config_of(render("{% websocket_config %}", {}))
    assert config["url"] is None and config["channel"] is None
    assert "routeKey" not in config


@pytest.mark.parametrize(
    ("expression", "route_key", "expected"),
    [
        ("$request.body.action", "chat", {"routeKey": "chat", "routeSelectionKey": "action"}),
        ("$request.body.service", "chat", {"routeKey": "chat", "routeSelectionKey": "service"}),
        ("${request.body.a}/${request.body.b}", "x/y", {}),  # a template: the page sends the keys
        ("$request.body.action", "$default", {}),
    ],
)
def test_route_key_only_for_a_body_key_expression(
    expression: str, route_key: str, expected: dict[str, str]
) -> None:
    route = gateway_route(route_key, route_selection_expression=expression)
    config = config_of(render("{% websocket_config %}", {"api_gateway_route": route}))
    assert {k: config[k] for k in ("routeKey", "routeSelectionKey") if k in config} == expected


@pytest.mark.urls("tests.urls_without_token")
def test_no_token_url_when_none_is_routed() -> None:
    assert config_of(render("{% websocket_config %}", {}))["tokenUrl"] is None


@override_settings(CSRF_COOKIE_HTTPONLY=True, CSRF_HEADER_NAME="HTTP_X_MY_CSRF")
def test_csrf_settings() -> None:
    config = config_of(render("{% websocket_config %}", {"request": RequestFactory().get("/")}))
    assert config["csrfCookieName"] is None  # JS cannot read it: the client uses csrfToken
    assert config["csrfHeaderName"] == "X-MY-CSRF" and config["csrfToken"]


@override_settings(CSRF_COOKIE_NAME="my_csrf")
def test_csrf_cookie_name() -> None:
    assert config_of(render("{% websocket_config %}", {}))["csrfCookieName"] == "my_csrf"


def test_python_options_match_the_clients_defaults() -> None:
    source = CLIENT_JS.read_text()
    block = source.split("export const DEFAULTS = Object.freeze({", 1)[1].split("});", 1)[0]
    keys = re.findall(r"^\s{2}([A-Za-z]+):", block, re.M)
    assert tuple(keys) == CLIENT_OPTIONS


# -- the seed's hand-written examples keep working beside the tag ---------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("template", [SEED_BASIC, SEED_TOKENS])
def test_seed_examples_render_with_the_mixins_context(template: str) -> None:
    route = gateway_route()
    route.api_gateway.save()
    route.save()
    html = render(template + "{% websocket_config %}", mixin_context())
    if template is SEED_BASIC:
        assert 'const websocketUrl = "wss://ws.example.com?channel=dashboard";' in html
    else:
        assert 'baseUrl: "wss://ws.example.com"' in html
        assert 'channel: "dashboard"' in html and 'tokenEndpoint: "/ws-token/"' in html
    assert config_of(html)["url"] == "wss://ws.example.com/?channel=dashboard"


def test_seed_token_example_escapes_a_hostile_channel() -> None:
    route = gateway_route()
    html = render(SEED_TOKENS, {"api_gateway_route": route, "channel_name": HOSTILE})
    assert "</script><script>" not in html
    assert 'channel: "\\u003C/script\\u003E\\u003Cscript\\u003Ealert(\\u0022x\\u0022)' in html
