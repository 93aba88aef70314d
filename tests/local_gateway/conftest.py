"""Fixtures for the local gateway tests: a stub HTTP backend, sockets, sessions and tokens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_aws_api_gateway_websockets.local_gateway import (
    GatewayThread,
    Limits,
    LocalGateway,
    spec_for_gateway,
)
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketToken

#: Small limits so that every failure test runs in well under a second.
FAST = Limits(integration_timeout=2.0, close_timeout=1.0)


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]


Behaviour = Callable[[Recorded], "tuple[int, bytes | str, dict[str, str], float]"]


def default_behaviour(request: Recorded) -> tuple[int, bytes | str, dict[str, str], float]:
    """connect/disconnect: 200 ``{}``; messages: 200 echoing the route and body."""
    if request.route in ("connect", "disconnect"):
        return 200, "{}", {}, 0.0
    return 200, json.dumps({"route": request.route, "body": request.body.decode()}), {}, 0.0


@dataclass
class StubBackend:
    """An HTTP server standing in for Django: records every request; ``behaviour`` answers."""

    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    behaviour: Behaviour = default_behaviour
    condition: threading.Condition = field(default_factory=threading.Condition)

    def record(self, request: Recorded) -> None:
        with self.condition:
            self.requests.append(request)
            self.condition.notify_all()

    def wait(self, predicate: Callable[[list[Recorded]], bool], timeout: float = 5.0) -> None:
        with self.condition:
            if not self.condition.wait_for(lambda: predicate(self.requests), timeout):
                raise AssertionError(f"backend never saw it; got {[r.path for r in self.requests]}")

    stop: Callable[[], None] = lambda: None

    def of_route(self, route: str) -> list[Recorded]:
        with self.condition:
            return [r for r in self.requests if r.route == route]


@pytest.fixture
def stub_backend() -> Iterator[StubBackend]:
    stub = StubBackend()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(
                "POST", parts.path, parts.query, {k: v for k, v in self.headers.items()}, body
            )
            stub.record(request)
            status, payload, headers, delay = stub.behaviour(request)
            if delay:
                time.sleep(delay)
            data = payload.encode() if isinstance(payload, str) else payload
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stopped: list[bool] = []

    def stop() -> None:
        """Take the backend down (idempotent)."""
        if not stopped:
            stopped.append(True)
            server.shutdown()
            server.server_close()
            thread.join()

    stub.stop = stop
    try:
        yield stub
    finally:
        stop()


@dataclass
class RunningGateway:
    gateway: LocalGateway
    thread: GatewayThread

    def url(self, api_id: str, query: str = "") -> str:
        return self.gateway.connect_url(api_id) + (f"?{query}" if query else "")

    @property
    def management_url(self) -> str:
        return self.gateway.base_url

    def set_limits(self, **changes: Any) -> None:
        self.gateway.limits = self.gateway.limits.replace(**changes)

    def events(self, kind: str | None = None) -> list[Any]:
        return self.thread.call(
            lambda: [e for e in self.gateway.events if kind is None or e.kind == kind]
        )

    def wait_events(self, kind: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        ok = self.thread.wait_for(
            lambda g: sum(1 for e in g.events if e.kind == kind) >= count, timeout
        )
        assert ok, f"no {kind} event: {self.events()}"
        return self.events(kind)

    def connection_ids(self) -> list[str]:
        return self.thread.call(lambda: list(self.gateway.connections))


def stub_gateway_row(stub_url: str, **fields: Any) -> ApiGateway:
    """An unsaved row pointing at the stub backend (its routes come from routes.py)."""
    values: dict[str, Any] = {
        "api_name": "Stub",
        "api_id": "stubapi123",
        "target_base_endpoint": f"{stub_url}/ws/",
        "secret": "stub-secret",
    }
    values.update(fields)
    return ApiGateway(**values)


@pytest.fixture
def run_gateway() -> Iterator[Callable[..., RunningGateway]]:
    """Start a LocalGateway (in a thread) serving the given rows; stopped at teardown."""
    started: list[GatewayThread] = []

    def start(*rows: ApiGateway, limits: Limits = FAST) -> RunningGateway:
        gateway = LocalGateway(
            [spec_for_gateway(row) for row in rows], host="127.0.0.1", port=0, limits=limits
        )
        thread = GatewayThread(gateway)
        thread.start()
        started.append(thread)
        return RunningGateway(gateway, thread)

    yield start
    for thread in started:
        thread.stop()


@pytest.fixture
def stub_gateway(
    stub_backend: StubBackend, run_gateway: Callable[..., RunningGateway]
) -> RunningGateway:
    return run_gateway(stub_gateway_row(stub_backend.url))


# -- Django side: a logged-in browser session and tokens ---------------------------------------


@dataclass
class Browser:
    """A logged-in browser: its session cookie, and one-time tokens for it."""

    user: Any
    client: Client
    session_key: str

    @property
    def cookie(self) -> str:
        from django.conf import settings

        return f"{settings.SESSION_COOKIE_NAME}={self.session_key}"

    def token(self) -> str:
        """A token from the real token endpoint (POST with the session cookie)."""
        response = self.client.post("/ws-token/")
        assert response.status_code == 200, response.content
        return str(response.json()["token"])

    def quick_token(self) -> str:
        return WebSocketToken.generate_token(self.user, self.session_key).token


@pytest.fixture
def browser(transactional_db: None) -> Browser:
    user = get_user_model().objects.create_user("alice", password="pw")
    client = Client()
    assert client.login(username="alice", password="pw")
    session_key = client.cookies["sessionid"].value
    return Browser(user, client, session_key)
