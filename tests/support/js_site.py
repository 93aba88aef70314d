"""A made-up site for the shipped JS client in Chromium: the page's origin (``http://app.test``)
with its HTML, the client's modules and the token endpoint answered from here (Playwright's
``page.route``), and its gateway (``ws://gw.test``) a WebSocket answered from here too
(``page.route_web_socket``): every token request and every socket the client opens is seen, in
order, with small timings. Used by ``tests/client/test_js_client.py`` and
``tests/client/test_js_channels.py``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.browser import CLIENT_JS, watch_page_errors

ORIGIN = "http://app.test"
GATEWAY = "ws://gw.test/abc123/production"
CSRF_COOKIE = "csrf-cookie-value"
#: The client's modules, served as /static/<name>.js.
STATIC = CLIENT_JS.parent

EVENTS = ["statechange", "open", "message", "close", "retry", "error", "drop"]
#: The events of channels (subscriptions, history, presence).
CHANNEL_EVENTS = [
    "subscribed",
    "unsubscribed",
    "refused",
    "publication",
    "duplicate",
    "join",
    "leave",
    "presence",
]
BOOT = """async (options) => {
  const module = await import("/static/client.js");
  window.clientModule = module;
  window.events = [];
  const client = new module.WebSocketClient(options);
  for (const type of EVENT_TYPES) {
    client.on(type, (detail) => {
      const { error, ...rest } = detail || {};
      window.events.push({ ...rest, event: type, at: performance.now() });
    });
  }
  window.client = client;
  return module.VERSION;
}""".replace("EVENT_TYPES", json.dumps(EVENTS + CHANNEL_EVENTS))


@dataclass
class Socket:
    """One WebSocket the page opened to the fake gateway."""

    route: Any
    url: str
    at: float
    messages: list[tuple[float, str]] = field(default_factory=list)
    closed_by_client: tuple[int | None, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json_messages(self) -> list[Any]:
        return [json.loads(text) for _, text in self.messages]


@dataclass
class TokenRequest:
    method: str
    headers: dict[str, str]
    at: float
    token: str | None


@dataclass
class FakeSite:
    """The page's origin and gateway, answered from the test."""

    page: Any
    tokens: list[TokenRequest] = field(default_factory=list)
    sockets: list[Socket] = field(default_factory=list)
    #: (status, body) answers for the next token requests; then tokens t1, t2, ...
    token_answers: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def boot(self, **options: Any) -> None:
        options.setdefault("url", f"{GATEWAY}?channel=room")
        options.setdefault("tokenUrl", "/ws-token/")
        assert self.page.evaluate(BOOT, options)

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self.page.evaluate("window.events")
        return [e for e in events if kind is None or e["event"] == kind]

    def states(self) -> list[str]:
        return [e["state"] for e in self.events("statechange")]

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait, letting Playwright deliver the page's requests, until ``predicate()``."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out; sockets={[s.url for s in self.sockets]} events={self.events()}"
                )
            self.page.wait_for_timeout(20)

    def wait_js(self, expression: str, timeout: float = 5.0) -> None:
        self.page.wait_for_function(expression, timeout=timeout * 1000)

    def wait_open(self, count: int = 1) -> None:
        self.wait(lambda: len(self.events("open")) >= count)


@contextmanager
def fake_site(chromium_browser: Any) -> Iterator[FakeSite]:
    """A new browser context on the fake origin; its page must see no uncaught error."""
    context = chromium_browser.new_context()
    context.add_cookies([{"name": "csrftoken", "value": CSRF_COOKIE, "url": ORIGIN}])
    page = context.new_page()
    errors = watch_page_errors(page)
    fake = FakeSite(page)

    def answer(route: Any) -> None:
        path = urlsplit(route.request.url).path
        module = STATIC / path.removeprefix("/static/")
        if path.startswith("/static/") and module.parent == STATIC and module.is_file():
            route.fulfill(status=200, content_type="text/javascript", body=module.read_text())
        elif path == "/ws-token/":
            with fake.lock:
                pending = fake.token_answers.pop(0) if fake.token_answers else None
                token = None if pending else f"t{len(fake.tokens) + 1}"
                fake.tokens.append(
                    TokenRequest(
                        route.request.method,
                        {k.lower(): v for k, v in route.request.headers.items()},
                        time.monotonic(),
                        token,
                    )
                )
            if pending:
                route.fulfill(status=pending[0], content_type="text/plain", body=pending[1])
            else:
                body = json.dumps({"token": token, "expires_in": 60})
                route.fulfill(status=200, content_type="application/json", body=body)
        else:
            page_html = "<!doctype html><title>t</title>"
            route.fulfill(status=200, content_type="text/html", body=page_html)

    def gateway(route: Any) -> None:
        socket = Socket(route, route.url, time.monotonic())
        fake.sockets.append(socket)
        route.on_message(lambda text: socket.messages.append((time.monotonic(), text)))

        def closed(code: int | None, reason: str) -> None:
            socket.closed_by_client = (code, reason)
            route.close(code=code, reason=reason)

        route.on_close(closed)

    page.route(f"{ORIGIN}/**", answer)
    page.route_web_socket(re.compile(r"^ws://gw\.test/"), gateway)
    page.goto(f"{ORIGIN}/")
    try:
        yield fake
    finally:
        context.close()
    assert errors == []
