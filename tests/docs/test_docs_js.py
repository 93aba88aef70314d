"""The documentation's browser samples, in Chromium: ``<!-- test: page -->`` templates are
rendered by Django and loaded; ``<!-- test: browser -->`` JavaScript runs as a module. Each must
run without an error and open a WebSocket (to a scripted gateway, as in
``tests/client/test_js_client.py``) with a fresh token."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils.html import json_script

from tests.docs.test_docs import Block, params
from tests.support.browser import CLIENT_JS, ONCE_PER_SUITE, chromium, watch_page_errors

pytestmark = ONCE_PER_SUITE

ORIGIN = "http://app.test"
GATEWAY = "ws://gw.test/abc123/production"
STATIC_CLIENT = "/static/django_aws_api_gateway_websockets/client.js"


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def run_page(browser: Any, html: str) -> tuple[Any, list[str], list[str], list[str]]:
    context = browser.new_context()
    context.add_cookies([{"name": "csrftoken", "value": "csrf-cookie", "url": ORIGIN}])
    page = context.new_page()
    errors = watch_page_errors(page)
    sockets: list[str] = []
    tokens: list[str] = []

    def answer(route: Any) -> None:
        path = urlsplit(route.request.url).path
        module = CLIENT_JS.parent / path.rpartition("/")[2]
        if path.rpartition("/")[0] == STATIC_CLIENT.rpartition("/")[0] and module.is_file():
            # client.js and the module it imports (channels.js)
            route.fulfill(status=200, content_type="text/javascript", body=module.read_text())
        elif path == "/ws-token/":
            assert route.request.headers.get("x-csrftoken") == "csrf-cookie"
            tokens.append(f"token-{len(tokens) + 1}")
            route.fulfill(
                status=200, content_type="application/json", body=json.dumps({"token": tokens[-1]})
            )
        else:
            route.fulfill(status=200, content_type="text/html", body=html)

    def gateway(socket: Any) -> None:
        sockets.append(socket.url)

        def answer_message(text: str) -> None:
            message = json.loads(text)
            if message.get("handler") == "echo":
                socket.send(json.dumps({"echo": message.get("text"), "user": "ann"}))
            elif message.get("handler") == "say":
                socket.send(json.dumps({"user": "ann", "text": message.get("text")}))

        socket.on_message(answer_message)

    page.route(f"{ORIGIN}/**", answer)
    page.route_web_socket(re.compile(r"^ws://gw\.test/"), gateway)
    page.goto(f"{ORIGIN}/")
    return page, errors, sockets, tokens


def wait_for_socket(page: Any, sockets: list[str]) -> None:
    for _ in range(200):
        if sockets:
            break
        page.wait_for_timeout(25)
    page.wait_for_timeout(200)  # let the page handle what follows


@pytest.mark.parametrize("block", params("page"))
def test_page_samples(chromium_browser: Any, block: Block) -> None:
    html = Template(block.code).render(
        Context(
            {
                "request": RequestFactory().get("/"),
                "websocket_url": f"{GATEWAY}?channel=lobby",
                "channel_name": "lobby",
            }
        )
    )
    page, errors, sockets, tokens = run_page(chromium_browser, html)
    wait_for_socket(page, sockets)
    assert errors == []
    assert len(sockets) == 1 and tokens == ["token-1"]
    query = parse_qs(urlsplit(sockets[0]).query)
    assert query == {"channel": ["lobby"], "ws_token": ["token-1"]}
    if page.query_selector("#say"):  # the quickstart's chat: type, send, see the answer
        page.fill("#say input[name=text]", "<b>hi</b>")
        page.press("#say input[name=text]", "Enter")
        page.wait_for_selector("#log li")
        assert page.inner_text("#log li") == "ann: <b>hi</b>"
    page.context.close()


@pytest.mark.parametrize("block", params("browser"))
def test_browser_samples(chromium_browser: Any, block: Block) -> None:
    config = {"url": f"{GATEWAY}?channel=lobby", "tokenUrl": "/ws-token/"}
    html = (
        "<!doctype html><title>sample</title>"
        + json_script(config, "websocket-config")
        + f"<script>window.docsGatewayUrl = {json.dumps(GATEWAY)};</script>"
        + f'<script type="module">{block.code}</script>'
    )
    page, errors, sockets, tokens = run_page(chromium_browser, html)
    wait_for_socket(page, sockets)
    assert errors == []
    assert sockets and tokens
    assert all("ws_token=token-" in url for url in sockets)
    result = page.evaluate("window.docsResult || null")
    if result is not None:
        assert result["states"] == ["idle", "connecting", "open", "waiting", "closed"]
        from django_aws_api_gateway_websockets import __version__

        assert result["VERSION"] == __version__
    page.context.close()
