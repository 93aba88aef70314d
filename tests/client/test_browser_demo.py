"""The demo chat in Chromium, through the real stack: pages served by the demo's Django
(``runserver``), their WebSockets held by the local gateway (``runwsgateway``), both real
processes, as ``scripts/demo.sh`` runs them. Nothing is faked.

- two logged-in users chat in one room; the gateway process is then killed (SIGKILL) and
  started again: both pages reconnect with new one-time tokens and keep chatting;
- a page whose user logged out cannot connect again, and an anonymous page cannot connect;
- no script injected through a message (or a channel name) runs;
- against a gateway with short limits, the client's heartbeat holds a connection past the idle
  timeout, and it renews connections before the maximum age, on the same channel.

The demo and its fixtures: ``tests/support/demo_site.py``, ``conftest.py``. Screenshots go to
``$SCREENSHOT_DIR`` (``scripts/screenshots.sh`` sets ``docs/images``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.browser import ONCE_PER_SUITE, watch_page_errors
from tests.support.demo_site import TABLE, Demo, log_in, open_room

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    ONCE_PER_SUITE,  # the demo runs on its own SQLite database
]


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
