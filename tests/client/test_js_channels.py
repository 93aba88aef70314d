"""The shipped JS client's channels (``channels.js``, imported by ``client.js``) in Chromium,
against a gateway answered from the test (``tests/support/js_site.py``): what it sends
(``subscribe`` with ``since``, after every reconnect and renewal), and what it makes of the
frames the server sends (events, presence, offsets shown once). The frames are the server's, as
documented in docs/channels-presence-history.md; the same client against the real server is in
``test_browser_channels.py``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.browser import ONCE_PER_SUITE
from tests.support.js_site import FakeSite, Socket

pytestmark = ONCE_PER_SUITE

EPOCH = "q8Xz0a1b"


def send(socket: Socket, frame: dict[str, Any]) -> None:
    socket.route.send(json.dumps(frame))


def sent(socket: Socket, handler: str) -> list[Any]:
    return [m["channels"] for m in socket.json_messages() if m.get("handler") == handler]


def publication(channel: str, offset: int, text: str, epoch: str = EPOCH) -> dict[str, Any]:
    return {
        "type": "publication",
        "channel": channel,
        "offset": offset,
        "epoch": epoch,
        "data": {"text": text},
    }


def shown(site: FakeSite, channel: str | None = None) -> list[Any]:
    return [
        (p["offset"], p["data"]["text"])
        for p in site.events("publication")
        if channel is None or p["channel"] == channel
    ]


#: The presence snapshot of ``answer_with_members``: two members, one without info.
MEMBERS = [{"user": "5", "info": {"name": "alice"}}, {"user": "9", "info": None}]


def answer_with_members(socket: Socket, *, offset: int) -> None:
    """The server's ``subscribed`` answer to the page's subscribe to ``chat:7``, at ``offset``,
    with :data:`MEMBERS` present."""
    presence = {"count": len(MEMBERS), "members": MEMBERS}
    entry = {"channel": "chat:7", "offset": offset, "epoch": EPOCH, "presence": presence}
    send(socket, {"type": "subscribed", "channels": [entry], "refused": []})


def carol_joins_alice_again_and_9_leaves(socket: Socket) -> None:
    """A join of a new member, a join of one already present, a leave: in that order."""
    send(socket, {"type": "join", "channel": "chat:7", "user": "11", "info": {"name": "carol"}})
    send(socket, {"type": "join", "channel": "chat:7", "user": "5", "info": {"name": "alice"}})
    send(socket, {"type": "leave", "channel": "chat:7", "user": "9"})


def test_subscribe_presence_and_join_leave(site: FakeSite) -> None:
    site.boot(routeKey="chat", heartbeatInterval=0)
    site.page.evaluate("client.connect()")
    site.wait_open()
    assert site.page.evaluate("client.subscribe('chat:7')") is True
    assert site.page.evaluate("client.subscribe('chat:7')") is False  # already wanted
    socket = site.sockets[0]
    site.wait(lambda: bool(socket.messages))
    assert socket.json_messages() == [
        {"action": "chat", "handler": "subscribe", "channels": ["chat:7"]}
    ]
    answer_with_members(socket, offset=3)
    site.wait(lambda: bool(site.events("subscribed")))
    (answer,) = site.events("subscribed")
    assert answer["channel"] == "chat:7" and answer["recovered"] is None
    assert site.page.evaluate("client.presence('chat:7')") == {"count": 2, "members": MEMBERS}
    assert site.page.evaluate("client.position('chat:7')") == {"offset": 3, "epoch": EPOCH}

    carol_joins_alice_again_and_9_leaves(socket)
    site.wait(lambda: len(site.events("leave")) == 1)
    presence = site.page.evaluate("client.presence('chat:7')")
    assert presence["count"] == 2  # a join of a member already there does not count twice
    assert [m["user"] for m in presence["members"]] == ["5", "11"]
    assert [(j["user"], j["info"]) for j in site.events("join")] == [
        ("11", {"name": "carol"}),
        ("5", {"name": "alice"}),
    ]
    assert [p["count"] for p in site.events("presence")] == [2, 3, 3, 2]
    # channel frames are events of their own, not "message" events
    assert site.events("message") == []
    assert site.page.evaluate("client.presence('chat:8')") is None

    assert site.page.evaluate("client.unsubscribe('chat:7')") is True
    site.wait(lambda: bool(sent(socket, "unsubscribe")))
    assert sent(socket, "unsubscribe") == [["chat:7"]]
    assert site.page.evaluate("client.subscriptions") == []
    assert site.page.evaluate("client.unsubscribe('chat:7')") is False


def test_the_first_subscribe_starts_from_the_pages_positions(site: FakeSite) -> None:
    """Positions from the page: the first subscribe recovers what happened since the HTML; a
    live publication arriving before the answer waits for it; no offset is shown twice."""
    site.boot(
        channels=["chat:7", "room-1"],
        positions={"chat:7": {"offset": 40, "epoch": EPOCH}, "bad": {"offset": -1}},
        heartbeatInterval=0,
    )
    site.page.evaluate("client.connect()")
    site.wait_open()
    socket = site.sockets[0]
    site.wait(lambda: bool(socket.messages))
    assert sent(socket, "subscribe") == [
        [{"channel": "chat:7", "since": {"offset": 40, "epoch": EPOCH}}, "room-1"]
    ]
    send(socket, publication("chat:7", 43, "live, before the answer"))
    send(
        socket,
        {
            "type": "subscribed",
            "channels": [
                {
                    "channel": "chat:7",
                    "offset": 42,
                    "epoch": EPOCH,
                    "recovered": True,
                    "publications": [
                        {"offset": 41, "data": {"text": "a"}},
                        {"offset": 42, "data": {"text": "b"}},
                    ],
                },
                {"channel": "room-1"},
            ],
            "refused": [],
        },
    )
    send(socket, publication("chat:7", 43, "live, before the answer"))  # again: the overlap
    send(socket, publication("chat:7", 44, "c"))
    send(socket, {"type": "publication", "channel": "room-1", "data": {"text": "no history"}})
    site.wait(lambda: len(site.events("publication")) == 5)
    assert shown(site, "chat:7") == [
        (41, "a"),
        (42, "b"),
        (43, "live, before the answer"),
        (44, "c"),
    ]
    assert shown(site, "room-1") == [(None, "no history")]
    assert [(d["channel"], d["offset"]) for d in site.events("duplicate")] == [("chat:7", 43)]
    recovered = {s["channel"]: s["recovered"] for s in site.events("subscribed")}
    assert recovered == {"chat:7": True, "room-1": None}
    assert site.page.evaluate("client.position('chat:7')") == {"offset": 44, "epoch": EPOCH}


def answer(socket: Socket, channel: str, offset: int, **extra: Any) -> None:
    entry = {"channel": channel, "offset": offset, "epoch": EPOCH, **extra}
    send(socket, {"type": "subscribed", "channels": [entry], "refused": []})


def test_every_reconnect_subscribes_again_since_the_last_offset(site: FakeSite) -> None:
    site.boot(backoffInitial=20, backoffMax=40, heartbeatInterval=0)
    site.page.evaluate("client.connect(); client.subscribe('chat:7')")
    site.wait_open()
    first = site.sockets[0]
    site.wait(lambda: bool(first.messages))
    answer(first, "chat:7", 5)
    send(first, publication("chat:7", 6, "six"))
    site.wait(lambda: len(site.events("publication")) == 1)
    first.route.close(code=1001, reason="Going away")
    site.wait_open(2)
    second = site.sockets[1]
    site.wait(lambda: bool(second.messages))
    assert sent(second, "subscribe") == [
        [{"channel": "chat:7", "since": {"offset": 6, "epoch": EPOCH}}]
    ]
    # the epoch changed (the stream was recreated): recovered false, the page must reload
    send(
        second,
        {
            "type": "subscribed",
            "channels": [
                {
                    "channel": "chat:7",
                    "offset": 2,
                    "epoch": "newEpoch",
                    "recovered": False,
                    "publications": [],
                }
            ],
            "refused": [],
        },
    )
    send(second, publication("chat:7", 3, "three", epoch="newEpoch"))
    site.wait(lambda: len(site.events("publication")) == 2)
    assert site.events("subscribed")[-1]["recovered"] is False
    assert shown(site) == [(6, "six"), (3, "three")]
    assert site.page.evaluate("client.position('chat:7')") == {"offset": 3, "epoch": "newEpoch"}


def test_a_renewal_closes_the_old_socket_only_once_subscribed(site: FakeSite) -> None:
    site.boot(maxConnectionAge=400, heartbeatInterval=0)
    site.page.evaluate("client.connect(); client.subscribe('chat:7')")
    site.wait_open()
    old = site.sockets[0]
    site.wait(lambda: bool(old.messages))
    answer(old, "chat:7", 9)
    site.wait(lambda: len(site.sockets) == 2 and bool(site.sockets[1].messages))
    new = site.sockets[1]
    assert sent(new, "subscribe") == [
        [{"channel": "chat:7", "since": {"offset": 9, "epoch": EPOCH}}]
    ]
    site.page.wait_for_timeout(150)
    assert old.closed_by_client is None  # kept while the new subscription is unanswered
    send(old, publication("chat:7", 10, "ten"))  # the old socket still delivers meanwhile
    answer(
        new, "chat:7", 10, recovered=True, publications=[{"offset": 10, "data": {"text": "ten"}}]
    )
    site.wait(lambda: old.closed_by_client is not None)
    assert old.closed_by_client == (1000, "renewed")
    send(new, publication("chat:7", 11, "on the new one"))
    site.wait(lambda: len(site.events("publication")) == 2)
    assert shown(site) == [(10, "ten"), (11, "on the new one")]
    assert len(site.events("duplicate")) == 1  # 10 came on both sockets: shown once
    assert site.states()[-1] == "open" and "waiting" not in site.states()


def test_refused_and_revoked_channels_are_not_asked_again(site: FakeSite) -> None:
    site.boot(backoffInitial=20, heartbeatInterval=0)
    site.page.evaluate(
        "client.connect(); client.subscribe('vip:1'); client.subscribe('chat:7');"
        "client.subscribe('room-2')"
    )
    site.wait_open()
    first = site.sockets[0]
    site.wait(lambda: bool(first.messages))
    assert sent(first, "subscribe") == [["vip:1", "chat:7", "room-2"]]  # one message
    send(
        first,
        {
            "type": "subscribed",
            "channels": [{"channel": "chat:7"}, {"channel": "room-2"}],
            "refused": [{"channel": "vip:1", "reason": "not_allowed"}],
        },
    )
    send(first, {"type": "unsubscribed", "channels": ["chat:7"], "reason": "revoked"})
    site.wait(lambda: bool(site.events("unsubscribed")))
    assert [(r["channel"], r["reason"]) for r in site.events("refused")] == [
        ("vip:1", "not_allowed")
    ]
    assert site.events("unsubscribed")[0]["reason"] == "revoked"
    assert site.page.evaluate("client.subscriptions") == ["room-2"]
    first.route.close(code=1001, reason="")
    site.wait_open(2)
    site.wait(lambda: bool(site.sockets[1].messages))
    assert sent(site.sockets[1], "subscribe") == [["room-2"]]


def test_bad_channel_names_throw_and_nothing_is_sent(site: FakeSite) -> None:
    site.boot(heartbeatInterval=0)
    site.page.evaluate("client.connect()")
    site.wait_open()
    errors = site.page.evaluate(
        """() => ["", "a b", "x".repeat(129), "Chat:7", "chat:", 7, null].map((name) => {
          try { client.subscribe(name); return null; } catch (e) { return e.name; }
        })"""
    )
    assert errors == ["RangeError"] * 7
    site.page.wait_for_timeout(50)
    assert site.sockets[0].messages == [] and site.page.evaluate("client.subscriptions") == []


def test_out_of_order_publications_are_shown_and_gaps_recovered(site: FakeSite) -> None:
    """Each publication is posted by its own request, so two may arrive swapped: both are
    shown; one that never arrives is recovered by the next subscribe (the position stays
    before the gap)."""
    site.boot(backoffInitial=20, heartbeatInterval=0)
    site.page.evaluate("client.connect(); client.subscribe('chat:7')")
    site.wait_open()
    first = site.sockets[0]
    site.wait(lambda: bool(first.messages))
    answer(first, "chat:7", 5)
    for offset in (7, 6, 9, 7):  # 6 and 7 swapped, 8 lost, 7 again
        send(first, publication("chat:7", offset, f"n{offset}"))
    site.wait(lambda: len(site.events("duplicate")) == 1)
    assert shown(site) == [(7, "n7"), (6, "n6"), (9, "n9")]
    assert site.page.evaluate("client.position('chat:7')") == {"offset": 7, "epoch": EPOCH}
    first.route.close(code=1001, reason="")
    site.wait_open(2)
    second = site.sockets[1]
    site.wait(lambda: bool(second.messages))
    assert sent(second, "subscribe") == [
        [{"channel": "chat:7", "since": {"offset": 7, "epoch": EPOCH}}]
    ]
    recovered = [{"offset": 8, "data": {"text": "n8"}}, {"offset": 9, "data": {"text": "n9"}}]
    answer(second, "chat:7", 9, recovered=True, publications=recovered)
    site.wait(lambda: len(site.events("duplicate")) == 2)
    assert shown(site) == [(7, "n7"), (6, "n6"), (9, "n9"), (8, "n8")]
    assert site.page.evaluate("client.position('chat:7')") == {"offset": 9, "epoch": EPOCH}


def test_join_and_leave_before_the_answer_are_applied_after_the_snapshot(site: FakeSite) -> None:
    """Two users subscribing at once: the other's join (and a third's leave) can reach this page
    before its own ``subscribed`` answer; they must not be lost under the snapshot."""
    site.boot(routeKey="chat", heartbeatInterval=0)
    site.page.evaluate("client.connect()")
    site.wait_open()
    site.page.evaluate("client.subscribe('chat:7')")
    socket = site.sockets[0]
    site.wait(lambda: bool(socket.messages))
    carol_joins_alice_again_and_9_leaves(socket)
    answer_with_members(socket, offset=0)
    site.wait(lambda: len(site.events("leave")) == 1)
    presence = site.page.evaluate("client.presence('chat:7')")
    assert [m["user"] for m in presence["members"]] == ["5", "11"]
    assert presence["count"] == 2
    # the events come after the answer, in the order the frames arrived
    assert [j["user"] for j in site.events("join")] == ["11", "5"]
    assert [p["count"] for p in site.events("presence")] == [2, 3, 3, 2]
