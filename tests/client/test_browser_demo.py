"""The demo chat in Chromium, through the real stack: pages served by the demo's Django
(``runserver``), their WebSockets held by the local gateway (``runwsgateway``), both real
processes, as ``scripts/demo.sh`` runs them. Nothing is faked.

- two logged-in users chat in one room; the gateway process is then killed (SIGKILL) and
  started again: both pages reconnect with new one-time tokens and keep chatting;
- a page whose user logged out cannot connect again, and an anonymous page cannot connect;
- no script injected through a message (or a channel name) runs;
- against a gateway with short limits, the client's heartbeat holds a connection past the idle
  timeout, and it renews connections before the maximum age, on the same channel.

Screenshots go to ``$SCREENSHOT_DIR`` (``scripts/screenshots.sh`` sets ``docs/images``).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.browser import ONCE_PER_SUITE, SCREENSHOT_ENV, chromium, watch_page_errors
from tests.support.paths import ROOT
from tests.support.ports import HOST, free_port, port_open

EXAMPLE = ROOT / "example"
PASSWORD = "browser-pw"  # a throwaway demo user's
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
TABLE = "django_aws_api_gateway_websockets_"

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    ONCE_PER_SUITE,  # the demo runs on its own SQLite database
]


@dataclass
class Demo:
    """The demo's Django and local gateway, as processes of their own."""

    directory: Path
    http_port: int
    ws_port: int
    env: dict[str, str]
    django: subprocess.Popen[bytes] | None = None
    gateway: subprocess.Popen[bytes] | None = None
    gateway_starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        self.logs.append(log)
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=EXAMPLE,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_port(self, port: int, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a demo server did not start:\n{self.output()}")
            time.sleep(0.05)

    def start_django(self) -> None:
        self.django = self._spawn("django", "runserver", f"{HOST}:{self.http_port}", "--noreload")
        self._wait_port(self.http_port, self.django)

    def start_gateway(self, *limits: str) -> None:
        self.gateway_starts += 1
        self.gateway = self._spawn(
            f"gateway-{self.gateway_starts}",
            "runwsgateway",
            "--api",
            "Demo",
            "--host",
            HOST,
            "--port",
            str(self.ws_port),
            *limits,
        )
        self._wait_port(self.ws_port, self.gateway)

    def kill_gateway(self) -> None:
        """SIGKILL: no clean close, no $disconnect, the row still points at the dead port."""
        assert self.gateway is not None
        self.gateway.kill()
        self.gateway.wait(timeout=30)
        self.gateway = None

    def stop_gateway(self) -> None:
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait()
        self.gateway = None

    def stop(self) -> None:
        self.stop_gateway()
        if self.django is not None and self.django.poll() is None:
            self.django.terminate()
            try:
                self.django.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.django.kill()
                self.django.wait()

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in self.logs)

    # -- the demo's database ------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.env["DEMO_DB"], timeout=30) as db:
            rows = db.execute(sql, params).fetchall()
        db.close()
        return rows

    def api_id(self) -> str:
        ((api_id,),) = self.query(f"SELECT api_id FROM {TABLE}apigateway WHERE api_name='Demo'")
        return str(api_id)

    def connect_url(self, channel: str) -> str:
        return f"ws://{HOST}:{self.ws_port}/{self.api_id()}/production?channel={channel}"

    def sessions(self, username: str) -> list[tuple[str, str, int]]:
        """(connection_id, channel, connected) of the user's sessions, oldest first."""
        return [
            (str(c), str(ch), int(on))
            for c, ch, on in self.query(
                "SELECT s.connection_id, s.channel_name, s.connected "
                f"FROM {TABLE}websocketsession s JOIN auth_user u ON u.id = s.user_id "
                "WHERE u.username = ? ORDER BY s.id",
                username,
            )
        ]

    def forget_rate_limits(self) -> None:
        """Every test connects from 127.0.0.1: start each with a clean $connect rate limit."""
        with sqlite3.connect(self.env["DEMO_DB"], timeout=30) as db:
            db.execute(f"DELETE FROM {TABLE}connectionratelimit")
            db.execute(f"DELETE FROM {TABLE}websockettoken")
        db.close()

    def delete_connection(self, connection_id: str) -> int:
        """DeleteConnection through the local gateway's Management API."""
        url = (
            f"http://{HOST}:{self.ws_port}/{self.api_id()}/production/@connections/"
            f"{quote(connection_id, safe='')}"
        )
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "DEMO_DB": str(directory / "demo.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "PYTHONUNBUFFERED": "1",
    }
    running = Demo(directory, free_port(), free_port(), env)
    backend = running.base
    running.manage("migrate", "--noinput", "-v", "0")
    running.manage("setup_demo", "--backend", backend)
    users = "; ".join(f"User.objects.create_user({u!r}, password={PASSWORD!r})" for u in USERS)
    running.manage("shell", "-c", f"from django.contrib.auth.models import User; {users}")
    try:
        running.start_django()
        running.start_gateway()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def chromium_browser(demo: Demo) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def fresh(demo: Demo) -> Demo:
    demo.forget_rate_limits()
    return demo


@pytest.fixture
def browser(chromium_browser: Any) -> Iterator[Any]:
    """The browser, with every context a test opened closed when it ends (closing the pages'
    sockets)."""
    contexts: list[Any] = []
    original = chromium_browser.new_context

    class Tracking:
        def new_context(self, **kwargs: Any) -> Any:
            context = original(**kwargs)
            contexts.append(context)
            return context

    yield Tracking()
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    directory = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@dataclass
class ChatPage:
    """One browser tab of the demo, with the WebSockets it opened."""

    page: Any
    errors: list[str]
    sockets: list[str] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return [parse_qs(urlsplit(url).query)["ws_token"][0] for url in self.sockets]

    def lines(self) -> list[str]:
        result: list[str] = self.page.eval_on_selector_all(
            "#log p", "nodes => nodes.map(n => n.textContent)"
        )
        return result

    def state(self) -> str:
        return str(self.page.get_attribute("#status", "data-state"))

    def wait_state(self, *states: str, timeout: float = 20) -> None:
        self.page.wait_for_function(
            "states => states.includes(document.getElementById('status').dataset.state)",
            arg=list(states),
            timeout=timeout * 1000,
        )

    def wait_line(self, text: str, timeout: float = 15) -> None:
        self.page.wait_for_function(
            "text => [...document.querySelectorAll('#log p')].some(p => p.textContent === text)",
            arg=text,
            timeout=timeout * 1000,
        )

    def wait_connected(self, count: int = 1) -> None:
        """Connected, and the whoami answer of the ``count``-th connection is shown."""
        self.wait_state("open")
        self.page.wait_for_function(
            "n => [...document.querySelectorAll('#log p')]"
            ".filter(p => p.textContent.startsWith('connected as')).length >= n",
            arg=count,
            timeout=15000,
        )

    def say(self, text: str) -> None:
        self.page.fill("#say input[name=text]", text)
        self.page.press("#say input[name=text]", "Enter")


def log_in(browser: Any, demo: Demo, username: str) -> Any:
    context = browser.new_context(viewport={"width": 900, "height": 720})
    page = context.new_page()
    page.goto(f"{demo.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[method=post] button")
    page.wait_for_url(f"{demo.base}/")
    return context


def open_room(context: Any, demo: Demo, room: str) -> ChatPage:
    page = context.new_page()
    chat = ChatPage(page, watch_page_errors(page))
    page.on("websocket", lambda ws: chat.sockets.append(ws.url))
    page.goto(f"{demo.base}/room/{room}/")
    return chat


def test_two_users_chat_and_survive_a_gateway_restart(
    fresh: Demo, browser: Any, screenshot_dir: Path
) -> None:
    demo = fresh
    alice = open_room(log_in(browser, demo, "alice"), demo, "lobby")
    bob = open_room(log_in(browser, demo, "bob"), demo, "lobby")
    for chat in (alice, bob):
        chat.wait_connected()

    alice.say("Hello Bob, this went through the local gateway")
    bob.wait_line("alice: Hello Bob, this went through the local gateway")
    bob.say("Hi Alice! Same here.")
    for chat in (alice, bob):
        chat.wait_line("bob: Hi Alice! Same here.")
    alice.page.screenshot(path=str(screenshot_dir / "demo-chat-alice.png"))
    bob.page.screenshot(path=str(screenshot_dir / "demo-chat-bob.png"))
    first_tokens = {"alice": alice.tokens(), "bob": bob.tokens()}
    assert [len(t) for t in first_tokens.values()] == [1, 1]
    before = {user: demo.sessions(user) for user in ("alice", "bob")}
    assert all(len(s) == 1 and s[0][1:] == ("lobby", 1) for s in before.values())

    demo.kill_gateway()
    for chat in (alice, bob):
        chat.wait_state("waiting", "connecting")
    alice.say("sent while the gateway is down")  # queued by the client
    time.sleep(1.0)  # a few failed attempts, each with a token of its own
    demo.start_gateway()
    for chat in (alice, bob):
        chat.wait_connected(2)
        chat.wait_line("reconnected")

    alice.wait_line("alice: sent while the gateway is down")  # the queued message, delivered
    bob.say("Still here after the restart")
    alice.wait_line("bob: Still here after the restart")
    alice.page.screenshot(path=str(screenshot_dir / "demo-reconnected.png"))

    for name, chat in (("alice", alice), ("bob", bob)):
        tokens = chat.tokens()
        assert len(tokens) >= 2 and len(set(tokens)) == len(tokens)  # a new token every time
        assert tokens[0] == first_tokens[name][0]
        after = demo.sessions(name)
        # the killed gateway's connection was swept as disconnected; the new one is connected
        assert after[0] == (before[name][0][0], "lobby", 0)
        assert after[-1][1:] == ("lobby", 1) and after[-1][0] != after[0][0]
        assert [s[2] for s in after].count(1) == 1
        assert chat.errors == []


def test_a_logged_out_page_cannot_connect(fresh: Demo, browser: Any) -> None:
    demo = fresh
    context = log_in(browser, demo, "carol")
    chat = open_room(context, demo, "lobby")
    chat.wait_connected()
    ((connection_id, _, _),) = demo.sessions("carol")

    other_tab = context.new_page()  # the user logs out in another tab
    other_tab.goto(f"{demo.base}/")
    other_tab.click("text=Log out")
    other_tab.wait_for_url(f"{demo.base}/login/")

    # Logging out closes the socket itself (login binding: DeleteConnection through the local
    # gateway's Management API once the logout commits); no one else has to drop it.
    chat.wait_state("closed")
    chat.wait_line("not logged in: log in again to reconnect")
    chat.page.wait_for_timeout(1500)
    assert len(chat.sockets) == 1  # it never tried the gateway without a token
    assert demo.sessions("carol") == [(connection_id, "lobby", 0)]

    # an anonymous visitor: no room page, and neither a bare socket nor the client gets in
    anonymous = browser.new_context().new_page()
    errors = watch_page_errors(anonymous)
    anonymous.goto(f"{demo.base}/room/lobby/")
    assert anonymous.url.startswith(f"{demo.base}/login/")
    outcome = anonymous.evaluate(
        """async ({ url, client }) => {
          const attempt = (target) => new Promise((done) => {
            const socket = new WebSocket(target);
            let opened = false;
            socket.onopen = () => { opened = true; socket.close(); };
            socket.onclose = (event) => done({ opened, code: event.code });
          });
          const bare = await attempt(url);
          const forged = await attempt(url + "&ws_token=" + "A".repeat(43));
          const { WebSocketClient } = await import(client);
          const shipped = new WebSocketClient({ url, tokenUrl: "/ws-token/" });
          const refusal = await new Promise((done) => {
            shipped.on("error", (detail) => done({ type: detail.type, status: detail.status }));
            shipped.connect();
          });
          return { bare, forged, refusal, state: shipped.state };
        }""",
        {
            "url": demo.connect_url("lobby"),
            "client": "/static/django_aws_api_gateway_websockets/client.js",
        },
    )
    assert outcome["bare"] == {"opened": False, "code": 1006}
    assert outcome["forged"] == {"opened": False, "code": 1006}
    assert outcome["refusal"] == {"type": "forbidden", "status": 403}
    assert outcome["state"] == "closed"
    assert demo.query(f"SELECT COUNT(*) FROM {TABLE}websocketsession WHERE user_id IS NULL") == [
        (0,)
    ]
    refused = demo.query(f"SELECT COUNT(*) FROM {TABLE}connectionratelimit WHERE successful = 0")
    assert refused == [(2,)]  # the gateway asked Django, and Django said no, twice
    assert errors == [] and chat.errors == []


XSS = [
    '<img src=x onerror="window.__xss = 1; alert(1)">',
    "<script>window.__xss = 2; alert(2)</script>",
    '</p><svg onload="window.__xss = 3; alert(3)"></svg>',
    '"; window.__xss = 4; alert(4); //',
    "{{ 7|add:7 }} {% now 'Y' %}",
    "</script><script>alert(5)</script>",
]


def test_no_injected_code_runs(fresh: Demo, browser: Any, screenshot_dir: Path) -> None:
    demo = fresh
    alice = open_room(log_in(browser, demo, "erin"), demo, "xss-test")
    bob = open_room(log_in(browser, demo, "frank"), demo, "xss-test")
    for chat in (alice, bob):
        chat.wait_connected()
    for payload in XSS:
        alice.say(payload)
    for payload in XSS:
        bob.wait_line(f"erin: {payload}")  # shown as the text it is
    # a channel name is never HTML either: the room URL only takes slugs, the client and the
    # server refuse anything else
    response = bob.page.request.get(f"{demo.base}/room/{quote('<script>alert(6)</script>')}/")
    assert response.status == 404
    refused = bob.page.evaluate(
        """() => { try { demoSocket.changeChannel('<img src=x onerror=alert(7)>'); }
                   catch (error) { return error.name; } }"""
    )
    assert refused == "RangeError"
    bob.page.evaluate(
        """() => demoSocket.sendJSON({ action: "chat", handler: "change_channel",
                                       channel: "<img src=x onerror=alert(8)>" })"""
    )
    bob.wait_line("error: unknown handler")  # the demo's view does not offer change_channel
    bob.page.screenshot(path=str(screenshot_dir / "demo-xss.png"))
    for chat in (alice, bob):
        assert chat.page.evaluate("window.__xss") is None
        assert (
            chat.page.eval_on_selector_all("#log img, #log svg, #log script", "n => n.length") == 0
        )
        assert chat.errors == []  # no alert() dialog, no uncaught error
    assert [s[1:] for s in demo.sessions("frank")] == [("xss-test", 1)]


def test_heartbeat_and_renewal_against_the_gateways_limits(fresh: Demo, browser: Any) -> None:
    """A gateway closing idle connections after 1 s and any connection after 2.5 s: a client
    with a heartbeat every 0.3 s and renewals after about 1.5 s is never cut off, and a client
    without a heartbeat is."""
    demo = fresh
    demo.stop_gateway()
    demo.start_gateway("--idle-timeout", "1", "--max-connection-age", "2.5")
    try:
        context = log_in(browser, demo, "dave")
        page = context.new_page()
        errors = watch_page_errors(page)
        sockets: list[str] = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"{demo.base}/")
        result = page.evaluate(
            """async ({ url, client }) => {
              const { WebSocketClient } = await import(client);
              const csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
              const events = [];
              const record = (socket, name) => {
                for (const type of ["open", "close", "message"]) {
                  socket.on(type, (detail) => events.push({ name, type, ...detail }));
                }
              };
              const options = { url, csrfToken, tokenUrl: "/ws-token/", routeKey: "chat" };
              const kept = new WebSocketClient({
                ...options, channel: "beat", heartbeatInterval: 300, maxConnectionAge: 1600,
              });
              const idle = new WebSocketClient({
                ...options, channel: "idle", heartbeatInterval: 0, maxConnectionAge: 0,
                reconnect: false,
              });
              record(kept, "kept");
              record(idle, "idle");
              kept.connect();
              idle.connect();
              await new Promise((done) => setTimeout(done, 4500));
              // a push to the channel reaches the renewed connection
              const body = new URLSearchParams({ scope: "channel", channel: "beat" });
              const response = await fetch("/push/", {
                method: "POST", body, headers: { "X-CSRFToken": csrfToken },
              });
              const pushed = await response.json();
              await new Promise((done) => setTimeout(done, 500));
              const state = kept.state;
              kept.close();
              return { events, pushed, state };
            }""",
            {
                "url": demo.connect_url("beat"),
                "client": "/static/django_aws_api_gateway_websockets/client.js",
            },
        )
    finally:
        demo.stop_gateway()
        demo.start_gateway()
    events = result["events"]
    kept = [e for e in events if e["name"] == "kept"]
    idle = [e for e in events if e["name"] == "idle"]
    opens = [e for e in kept if e["type"] == "open"]
    assert len(opens) >= 3 and all(o["renewed"] for o in opens[1:])
    closes = [(e["code"], e["willReconnect"]) for e in kept if e["type"] == "close"]
    assert closes == [(1000, False)]  # only close() at the end: the gateway never cut it off
    assert result["state"] == "open"
    assert result["pushed"]["sent"] == 1
    pushes = [e for e in kept if e["type"] == "message" and isinstance(e["data"], dict)]
    assert [p["data"]["type"] for p in pushes] == ["push"]
    # without a heartbeat the gateway's idle timeout closes the connection
    assert [(e["type"], e.get("code")) for e in idle if e["type"] != "message"] == [
        ("open", None),
        ("close", 1001),
    ]
    kept_tokens = [
        parse_qs(urlsplit(url).query)["ws_token"][0] for url in sockets if "channel=beat" in url
    ]
    # every socket used a fresh token; on a loaded machine a renewal may still be opening when
    # close() runs, so there can be one socket more than the opens counted
    assert len(opens) <= len(kept_tokens) <= len(opens) + 1
    assert len(set(kept_tokens)) == len(kept_tokens)
    channels = {channel for _, channel, _ in demo.sessions("dave")}
    assert channels == {"beat", "idle"}
    assert errors == []
