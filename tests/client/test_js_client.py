"""The shipped JS client (``static/django_aws_api_gateway_websockets/client.js``) in Chromium.

Each test opens a page on a made-up origin whose gateway is answered from here
(``tests/support/js_site.py``): every token request and every socket the client opens is seen,
in order, with small timings. Its channels (subscriptions, history, presence) are tested in
``test_js_channels.py``; the same client against the real local gateway and Django in
``test_browser_demo.py`` and ``test_browser_channels.py``.
"""

from __future__ import annotations

import json
from itertools import pairwise

from tests.support.browser import ONCE_PER_SUITE
from tests.support.js_site import CSRF_COOKIE, GATEWAY, FakeSite

pytestmark = ONCE_PER_SUITE


# -- tokens ------------------------------------------------------------------------------------


def test_fresh_token_with_the_csrf_cookie_before_every_connect(site: FakeSite) -> None:
    site.boot(backoffInitial=20, backoffMax=40)
    site.page.evaluate("client.connect()")
    site.wait_open()
    for n in range(1, 4):  # the gateway drops the connection three times
        site.sockets[-1].route.close(code=1001, reason="Going away")
        site.wait_open(n + 1)
    assert len(site.sockets) == 4 and len(site.tokens) == 4
    for request, socket in zip(site.tokens, site.sockets, strict=True):
        assert request.method == "POST"
        assert request.headers["x-csrftoken"] == CSRF_COOKIE
        assert request.at <= socket.at  # the token is fetched before its socket opens
        assert socket.query == {"channel": "room", "ws_token": request.token}
    assert len({s.query["ws_token"] for s in site.sockets}) == 4  # never a spent token again
    opens = site.events("open")
    assert [o["reconnected"] for o in opens] == [False, True, True, True]
    assert all("ws_token" not in o["url"] for o in opens)  # the token is not handed around


def test_csrf_token_from_the_config_when_the_cookie_cannot_be_read(site: FakeSite) -> None:
    site.page.context.clear_cookies()
    site.boot(csrfToken="from-the-page", csrfCookieName=None)
    site.page.evaluate("client.connect()")
    site.wait_open()
    assert site.tokens[0].headers["x-csrftoken"] == "from-the-page"


def test_without_a_token_url_it_connects_without_a_token(site: FakeSite) -> None:
    site.boot(tokenUrl=None)
    site.page.evaluate("client.connect()")
    site.wait_open()
    assert site.tokens == [] and site.sockets[0].query == {"channel": "room"}


def test_logged_out_token_refusal_stops_instead_of_retrying(site: FakeSite) -> None:
    site.token_answers = [(403, "Authentication required")]
    site.boot(backoffInitial=20)
    site.page.evaluate("client.connect()")
    site.wait_js("client.state === 'closed'")
    site.page.wait_for_timeout(300)
    assert len(site.tokens) == 1 and site.sockets == []
    (error,) = site.events("error")
    assert error["type"] == "forbidden" and error["status"] == 403
    assert "Authentication required" in error["message"]
    assert site.states() == ["connecting", "closed"]


def test_a_rate_limited_or_failing_token_endpoint_is_retried(site: FakeSite) -> None:
    site.token_answers = [(403, "Rate limit exceeded"), (500, "<h1>Server Error</h1>")]
    site.boot(backoffInitial=20, backoffMax=40)
    site.page.evaluate("client.connect()")
    site.wait_open()
    assert len(site.tokens) == 3 and len(site.sockets) == 1
    assert site.sockets[0].query["ws_token"] == "t3"
    errors = [(e["type"], e["status"]) for e in site.events("error")]
    assert errors == [("token", 403), ("token", 500)]


# -- reconnecting -----------------------------------------------------------------------------


def test_backoff_is_exponential_with_jitter_up_to_the_maximum(site: FakeSite) -> None:
    closed_port = "ws://127.0.0.1:9/nothing-listens-here"
    site.boot(
        url=closed_port, backoffInitial=100, backoffFactor=2, backoffMax=400, backoffJitter=0.5
    )
    site.page.evaluate("client.connect()")
    site.wait(lambda: len(site.events("retry")) >= 6, timeout=10)
    site.page.evaluate("client.close()")
    retries = site.events("retry")[:6]
    ceilings = [100, 200, 400, 400, 400, 400]
    for retry, ceiling, n in zip(retries, ceilings, range(1, 7), strict=True):
        assert retry["attempt"] == n
        assert ceiling * 0.5 <= retry["delay"] <= ceiling
    assert len({r["delay"] for r in retries}) > 1  # jittered, not a fixed schedule
    # each attempt (a token request) waits for its delay after the previous one failed
    starts = [t.at for t in site.tokens[:7]]
    for gap, retry in zip([b - a for a, b in pairwise(starts)], retries, strict=False):
        assert gap * 1000 >= retry["delay"] - 15
    assert site.page.evaluate("client.state") == "closed"


def test_backoff_formula(site: FakeSite) -> None:
    site.boot()
    values = site.page.evaluate(
        """() => {
          const { backoffDelay, DEFAULTS } = clientModule;
          const options = {
            ...DEFAULTS, backoffInitial: 1000, backoffFactor: 2, backoffMax: 30000,
          };
          return [0, 1, 2, 5, 10].flatMap((n) => [
            backoffDelay(n, options, () => 0), backoffDelay(n, options, () => 1),
          ]);
        }"""
    )
    assert values == [1000, 500, 2000, 1000, 4000, 2000, 30000, 15000, 30000, 15000]


def test_a_stable_connection_resets_the_backoff(site: FakeSite) -> None:
    site.boot(backoffInitial=50, backoffMax=400, backoffJitter=0, stableAfter=1000)
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.sockets[-1].route.close(code=1001, reason="")  # dropped at once: not stable
    site.wait_open(2)
    site.sockets[-1].route.close(code=1001, reason="")
    site.wait_open(3)
    site.page.wait_for_timeout(1200)  # stable now
    site.sockets[-1].route.close(code=1011, reason="")
    site.wait_open(4)
    assert [r["delay"] for r in site.events("retry")] == [50, 100, 50]


def test_gives_up_after_max_retries(site: FakeSite) -> None:
    site.boot(url="ws://127.0.0.1:9/", backoffInitial=10, maxRetries=2)
    site.page.evaluate("client.connect()")
    site.wait_js("client.state === 'closed'")
    assert len(site.tokens) == 3
    assert site.events("error")[-1]["type"] == "gaveup"


def test_states_events_and_close_for_good(site: FakeSite) -> None:
    site.boot(backoffInitial=20)
    assert site.page.evaluate("client.state") == "idle"
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.sockets[0].route.close(code=1001, reason="Going away")
    site.wait_open(2)
    site.page.evaluate("client.close()")
    site.wait(lambda: site.sockets[1].closed_by_client is not None)
    site.page.wait_for_timeout(200)
    assert len(site.sockets) == 2  # no reconnect after close()
    assert site.sockets[1].closed_by_client == (1000, "")
    assert site.states() == ["connecting", "open", "waiting", "connecting", "open", "closed"]
    closes = site.events("close")
    assert [(c["code"], c["reason"], c["willReconnect"]) for c in closes] == [
        (1001, "Going away", True),
        (1000, "", False),
    ]


# -- keeping the connection -----------------------------------------------------------------


def test_heartbeat_when_nothing_was_sent_for_the_interval(site: FakeSite) -> None:
    site.boot(heartbeatInterval=300, routeKey="chat")
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.page.wait_for_timeout(1300)
    socket = site.sockets[0]
    beats = [json.loads(text) for _, text in socket.messages]
    assert 3 <= len(beats) <= 5  # one per interval of silence: about four in 1.3 s
    assert all(body == {"action": "chat", "handler": "heartbeat"} for body in beats)
    # sending postpones the heartbeat: none while the page keeps talking
    before = len(socket.messages)
    site.page.evaluate(
        """() => new Promise((done) => {
          let n = 0;
          const timer = setInterval(() => {
            client.send("say", { n });
            if (++n === 8) { clearInterval(timer); done(); }
          }, 60);
        })"""
    )
    sent = [json.loads(text) for _, text in socket.messages[before:]]
    assert [m["handler"] for m in sent if m["handler"] != "say"] in ([], ["heartbeat"])
    assert [m["n"] for m in sent if m["handler"] == "say"] == list(range(8))


def test_renews_before_the_maximum_age_on_the_same_channel(site: FakeSite) -> None:
    site.boot(maxConnectionAge=400, heartbeatInterval=0)
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.page.evaluate("client.changeChannel('room-8')")
    site.wait(lambda: len(site.sockets) >= 3 and site.sockets[1].closed_by_client is not None)
    first, second, third = site.sockets[:3]
    assert first.json_messages() == [{"handler": "change_channel", "channel": "room-8"}]
    assert [s.query["channel"] for s in (first, second, third)] == ["room", "room-8", "room-8"]
    assert len({s.query["ws_token"] for s in (first, second, third)}) == 3
    # make before break: the client closed the old socket only after the new one was open
    assert first.closed_by_client == (1000, "renewed")
    renewed = [o for o in site.events("open") if o["renewed"]]
    assert renewed and not any(o["reconnected"] for o in site.events("open"))
    assert "waiting" not in site.states() and site.page.evaluate("client.state") == "open"
    # pushes arrive on the new connection; the old one is no longer listened to
    site.sockets[-1].route.send(json.dumps({"after": "renewal"}))
    site.wait(lambda: any(e["data"] == {"after": "renewal"} for e in site.events("message")))


def test_the_gateway_closing_at_its_maximum_age_is_a_reconnect(site: FakeSite) -> None:
    site.boot(backoffInitial=20)
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.sockets[0].route.close(code=1001, reason="Going away")
    site.wait_open(2)
    assert site.sockets[1].query["ws_token"] == "t2"


# -- sending and receiving ---------------------------------------------------------------------


def test_sends_queue_while_disconnected_bounded_and_flush_in_order(site: FakeSite) -> None:
    site.boot(queueLimit=3, backoffInitial=300, backoffJitter=0)
    queued = site.page.evaluate("[1, 2, 3, 4, 5].map((n) => client.send('say', { n }))")
    assert queued == [False] * 5
    drops = site.events("drop")
    assert [json.loads(d["message"])["n"] for d in drops] == [1, 2]
    site.page.evaluate("client.connect()")
    site.wait_open()
    assert site.page.evaluate("client.send('say', { n: 6 })") is True
    site.wait(lambda: len(site.sockets[0].messages) == 4)
    assert [m["n"] for m in site.sockets[0].json_messages()] == [3, 4, 5, 6]
    # and again while waiting to reconnect
    site.sockets[0].route.close(code=1011, reason="")
    site.wait_js("client.state !== 'open'")
    assert site.page.evaluate("client.send('say', { n: 7 })") is False
    site.wait_open(2)
    site.wait(lambda: len(site.sockets[1].messages) == 1)
    assert site.sockets[1].json_messages() == [{"handler": "say", "n": 7}]


def test_message_shapes(site: FakeSite) -> None:
    site.boot(routeKey="chat", routeSelectionKey="action")
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.page.evaluate(
        """() => {
          client.send("say", { text: "hi" });
          client.sendJSON({ any: ["json"] });
        }"""
    )
    site.wait(lambda: len(site.sockets[0].messages) == 2)
    assert site.sockets[0].json_messages() == [
        {"action": "chat", "handler": "say", "text": "hi"},
        {"any": ["json"]},
    ]
    errors = site.page.evaluate(
        """() => [
          () => client.send("say", { text: "x".repeat(40000) }),
          () => client.send(""),
          () => client.changeChannel("no spaces or </script>"),
        ].map((f) => { try { f(); return null; } catch (e) { return e.name; } })"""
    )
    assert errors == ["RangeError", "TypeError", "RangeError"]
    site.page.wait_for_timeout(50)
    assert len(site.sockets[0].messages) == 2 and site.page.evaluate("client.queue.length") == 0


def test_json_pushes_are_parsed_other_frames_passed_as_text(site: FakeSite) -> None:
    site.boot()
    site.page.evaluate("client.connect()")
    site.wait_open()
    route = site.sockets[0].route
    for frame in ['{"type": "push", "n": 1}', "Unknown handler", "", "[1, 2]"]:
        route.send(frame)
    site.wait(lambda: len(site.events("message")) == 3)
    messages = site.events("message")
    assert [m["data"] for m in messages] == [{"type": "push", "n": 1}, "Unknown handler", [1, 2]]
    assert messages[0]["raw"] == '{"type": "push", "n": 1}'


def test_listeners_added_right_after_connect_see_every_event(site: FakeSite) -> None:
    site.boot()
    seen = site.page.evaluate(
        """() => new Promise((done) => {
          const { WebSocketClient } = clientModule;
          const other = new WebSocketClient({ url: "GATEWAY?channel=b", tokenUrl: "/ws-token/" });
          const states = [];
          other.connect();
          other.on("statechange", ({ state }) => states.push(state));
          const off = other.on("open", () => { off(); other.close(); done(states); });
        })""".replace("GATEWAY", GATEWAY)
    )
    assert seen == ["connecting", "open", "closed"]


def test_unknown_options_warn_and_a_missing_url_throws(site: FakeSite) -> None:
    warnings: list[str] = []
    site.page.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    site.boot(url=f"{GATEWAY}", heartbeatIntervall=5)
    assert (
        site.page.evaluate(
            """() => {
              try { new clientModule.WebSocketClient({}); } catch (e) { return e.name; }
            }"""
        )
        == "TypeError"
    )
    site.wait(lambda: bool(warnings))
    assert "unknown option heartbeatIntervall" in warnings[0]
