"""Pages rendered by Django (the tag, and the seed's hand-written dashboard example) in Chromium:
they connect, and a channel name made of markup and script runs nothing.

The pages are rendered here and served from ``http://app.test`` through Playwright's routing,
with a stand-in token endpoint and gateway (see ``test_js_client.py``); the real stack is in
``test_browser_demo.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from tests.support.browser import CLIENT_JS, ONCE_PER_SUITE, chromium, watch_page_errors

pytestmark = ONCE_PER_SUITE

ORIGIN = "http://app.test"
HOSTILE = "</script><script>window.__xss = 1; alert(1)</script>\"'; window.__xss = 2; //"

TAG_PAGE = """{% load aws_websockets %}<!doctype html><title>tag</title>
{% websocket_config %}
<script type="module">
  import { connect } from "/static/django_aws_api_gateway_websockets/client.js";
  window.client = connect();
</script>"""

#: The seed document's "Example: dashboard page" template, as written there.
SEED_DASHBOARD = """{% if api_gateway_route %}
{% with api_gateway_route.api_gateway as websocket %}
<div id="dashboard-status">Connecting...</div>
<script>
window.dashboardWebSocket = {
baseUrl: "wss://{{ websocket.domain_name }}",
channel: "{{ channel_name|escapejs }}",
tokenEndpoint: "{% url 'websocket_token' %}"
};
</script>
<script>
async function getCookie(name) {
let cookieValue = null;
if (document.cookie && document.cookie !== "") {
const cookies = document.cookie.split(";");
for (let i = 0; i < cookies.length; i++) {
const cookie = cookies[i].trim();
if (cookie.substring(0, name.length + 1) === `${name}=`) {
cookieValue = decodeURIComponent(cookie.substring(name.length + 1));
break;
}
}
}
return cookieValue;
}
async function getToken() {
const csrfToken = await getCookie("csrftoken");
const response = await fetch(window.dashboardWebSocket.tokenEndpoint, {
method: "POST",
headers: {
"X-CSRFToken": csrfToken,
"Content-Type": "application/json"
},
credentials: "same-origin"
});
if (!response.ok) {
throw new Error(`Token request failed: ${response.status}`);
}
const data = await response.json();
return data.token;
}
async function connectDashboardWebSocket() {
const token = await getToken();
const websocketUrl = (
`${window.dashboardWebSocket.baseUrl}?ws_token=${encodeURIComponent(token)}` +
`&channel=${encodeURIComponent(window.dashboardWebSocket.channel)}`
);
const socket = new WebSocket(websocketUrl);
socket.onopen = function () {
document.getElementById("dashboard-status").textContent = "Connected";
};
socket.onmessage = function (event) {
const data = JSON.parse(event.data);
console.log("Dashboard update:", data);
};
socket.onclose = function () {
document.getElementById("dashboard-status").textContent = "Disconnected";
};
}
connectDashboardWebSocket();
</script>
{% endwith %}
{% else %}
<p>WebSocket route is not configured.</p>
{% endif %}"""


def route() -> ApiGatewayAdditionalRoute:
    gateway = ApiGateway(api_name="Tag", api_id="tagapi1234", domain_name="ws.example.com")
    return ApiGatewayAdditionalRoute(api_gateway=gateway, route_key="dashboard", name="d")


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def serve(browser: Any, html: str) -> tuple[Any, list[str], list[str], list[dict[str, str]]]:
    """A page showing ``html``; returns it, its errors, the socket URLs and token requests."""
    context = browser.new_context()
    context.add_cookies([{"name": "csrftoken", "value": "cookie-csrf", "url": ORIGIN}])
    page = context.new_page()
    errors = watch_page_errors(page)
    sockets: list[str] = []
    tokens: list[dict[str, str]] = []

    def answer(request_route: Any) -> None:
        path = urlsplit(request_route.request.url).path
        if path.endswith(("/client.js", "/channels.js")):  # client.js imports channels.js
            body, kind = (CLIENT_JS.parent / path.rpartition("/")[2]).read_text(), "text/javascript"
        elif path == "/ws-token/":
            tokens.append(dict(request_route.request.headers))
            body, kind = json.dumps({"token": f"token-{len(tokens)}"}), "application/json"
        else:
            body, kind = html, "text/html"
        request_route.fulfill(status=200, content_type=kind, body=body)

    def gateway(socket_route: Any) -> None:
        sockets.append(socket_route.url)

    page.route(f"{ORIGIN}/**", answer)
    page.route_web_socket(re.compile(r"^wss?://(gw|ws)\.example\.com"), gateway)
    page.goto(f"{ORIGIN}/")
    return page, errors, sockets, tokens


def render(source: str, context: dict[str, Any]) -> str:
    request = RequestFactory().get("/")
    return Template(source).render(Context({"request": request, **context}))


def test_the_tag_and_the_client_connect_with_a_hostile_channel(chromium_browser: Any) -> None:
    html = render(
        TAG_PAGE,
        {
            "websocket_url": "wss://ws.example.com/?channel=lobby",
            "channel_name": HOSTILE,
            "api_gateway_route": route(),
        },
    )
    page, errors, sockets, tokens = serve(chromium_browser, html)
    page.wait_for_function("window.client && window.client.state === 'open'", timeout=10000)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.client.channel") == HOSTILE
    (url,) = sockets
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {"channel": HOSTILE, "ws_token": "token-1"}  # the server judges the name
    assert tokens[0]["x-csrftoken"] == "cookie-csrf"
    page.context.close()
    assert errors == []


def test_the_seed_dashboard_example_still_connects_and_escapes(chromium_browser: Any) -> None:
    html = render(SEED_DASHBOARD, {"api_gateway_route": route(), "channel_name": HOSTILE})
    page, errors, sockets, tokens = serve(chromium_browser, html)
    page.wait_for_function(
        "document.getElementById('dashboard-status').textContent === 'Connected'", timeout=10000
    )
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.dashboardWebSocket.channel") == HOSTILE
    (url,) = sockets
    assert url.startswith("wss://ws.example.com/?ws_token=token-1&channel=")
    assert parse_qs(urlsplit(url).query)["channel"] == [HOSTILE]
    assert tokens[0]["x-csrftoken"] == "cookie-csrf"
    page.context.close()
    assert errors == []
