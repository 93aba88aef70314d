"""The demo's rooms in Chromium, through the real stack (the demo's Django and the local
gateway as processes, on their own SQLite database; nothing faked): presence, recovery, and
the page at phone width.

- three users in a room, one of them in two tabs: one member each; closing one of the two tabs
  sends no ``leave``, closing the last one does;
- a message published while the pages were disconnected (the gateway killed and restarted)
  appears after they reconnect (``recovered``), once;
- a reload gets what was published between its HTML and its socket (the page's position);
- at 390 px wide nothing runs past the screen, not even a 500-character word.

Screenshots go to ``$SCREENSHOT_DIR`` (``scripts/screenshots.sh`` sets ``docs/images``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ONCE_PER_SUITE
from tests.support.demo_site import TABLE, ChatPage, Demo, log_in, open_room

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals"),
    ONCE_PER_SUITE,  # the demo runs on its own SQLite database
]


def members(chat: ChatPage) -> list[str]:
    names: list[str] = chat.page.eval_on_selector_all(
        "#members li", "nodes => nodes.map(n => n.textContent)"
    )
    return sorted(names)


def wait_members(chat: ChatPage, expected: list[str], timeout: float = 15) -> None:
    chat.page.wait_for_function(
        """expected => JSON.stringify([...document.querySelectorAll('#members li')]
             .map(n => n.textContent).sort()) === JSON.stringify(expected)""",
        arg=sorted(expected),
        timeout=timeout * 1000,
    )


def subscriptions(demo: Demo, username: str, channel: str) -> int:
    ((count,),) = demo.query(
        f"SELECT COUNT(*) FROM {TABLE}channelsubscription s JOIN auth_user u ON u.id = s.user_id "
        "WHERE u.username = ? AND s.channel = ?",
        username,
        channel,
    )
    return int(count)


def publish(demo: Demo, channel: str, text: str) -> None:
    """A publication from Django code outside any page (``manage.py shell``)."""
    data = {"type": "message", "user": "server", "text": text}
    demo.manage(
        "shell",
        "-c",
        "from django_aws_api_gateway_websockets.channels import publish; "
        f"publish({channel!r}, {json.dumps(data)})",
    )


def test_one_member_per_user_and_no_leave_when_one_of_two_tabs_closes(
    fresh: Demo, browser: Any, screenshot_dir: Path
) -> None:
    demo = fresh
    alice = open_room(log_in(browser, demo, "alice"), demo, "presence")
    bob_context = log_in(browser, demo, "bob")
    bob_tabs = [open_room(bob_context, demo, "presence") for _ in range(2)]
    carol = open_room(log_in(browser, demo, "carol"), demo, "presence")
    everyone = [alice, *bob_tabs, carol]
    for chat in everyone:
        chat.wait_connected()
    for chat in everyone:
        wait_members(chat, ["alice", "bob", "carol"])
    assert subscriptions(demo, "bob", "chat:presence") == 2  # two connections, one member
    assert carol.page.text_content("#member-count") == "(3)"
    bob_tabs[0].say("two tabs, one member")
    for chat in everyone:
        chat.wait_line("bob: two tabs, one member")
    alice.page.screenshot(path=str(screenshot_dir / "demo-presence.png"))

    joined_before = [line for line in carol.lines() if line.endswith(" joined")]
    bob_tabs[0].page.close()  # its socket closes: the gateway sends $disconnect
    deadline = time.monotonic() + 15
    while subscriptions(demo, "bob", "chat:presence") != 1:
        assert time.monotonic() < deadline, "the closed tab's $disconnect was not handled"
        time.sleep(0.1)
    carol.page.wait_for_timeout(1000)  # a leave frame, if any, would have arrived by now
    for chat in (alice, carol):
        assert "bob left" not in chat.lines()
        assert members(chat) == ["alice", "bob", "carol"]
    assert [line for line in carol.lines() if line.endswith(" joined")] == joined_before

    bob_tabs[1].page.close()  # the last one: bob leaves
    for chat in (alice, carol):
        chat.wait_line("bob left")
        wait_members(chat, ["alice", "carol"])
    assert carol.lines().count("bob left") == 1
    assert all(chat.errors == [] for chat in everyone)


def test_a_message_published_while_disconnected_appears_after_the_reconnect(
    fresh: Demo, browser: Any, screenshot_dir: Path
) -> None:
    demo = fresh
    dave = open_room(log_in(browser, demo, "dave"), demo, "outage")
    erin = open_room(log_in(browser, demo, "erin"), demo, "outage")
    for chat in (dave, erin):
        chat.wait_connected()
    dave.say("before the outage")
    for chat in (dave, erin):  # both have seen it: only the next one is missed
        chat.wait_line("dave: before the outage")

    demo.kill_gateway()
    for chat in (dave, erin):
        chat.wait_state("waiting", "connecting")
    publish(demo, "chat:outage", "sent while you were away")  # no connection gets it live
    demo.start_gateway()
    for chat in (dave, erin):
        chat.wait_connected(2)
        chat.wait_line("server: sent while you were away")
        chat.wait_line("caught up: 1 message missed meanwhile")
    erin.say("after the outage")
    dave.wait_line("erin: after the outage")
    erin.page.screenshot(path=str(screenshot_dir / "demo-recovered.png"))
    for chat in (dave, erin):
        lines = chat.lines()
        assert lines.count("server: sent while you were away") == 1  # exactly once on screen
        assert lines.count("dave: before the outage") == 1
        assert chat.errors == []


def test_a_reload_gets_what_was_published_between_the_html_and_the_socket(
    fresh: Demo, browser: Any
) -> None:
    demo = fresh
    context = log_in(browser, demo, "frank")
    chat = open_room(context, demo, "gap")
    chat.wait_connected()
    chat.say("before the reload")
    chat.wait_line("frank: before the reload")

    published: list[str] = []

    def late_client(route: Any) -> None:
        # the HTML (with the room's position) is rendered; the socket is not open yet
        if not published:
            publish(demo, "chat:gap", "published during the page load")
            published.append("yes")
        route.continue_()

    chat.page.route("**/django_aws_api_gateway_websockets/client.js", late_client)
    chat.page.reload()
    chat.wait_connected()
    chat.wait_line("server: published during the page load")
    chat.wait_line("caught up: 1 message missed meanwhile")  # recovered: true
    lines = chat.lines()
    assert published == ["yes"]
    # the earlier message comes with the HTML, the one in the gap from the recovery: each once
    assert lines.count("frank: before the reload") == 1
    assert lines.count("server: published during the page load") == 1
    assert lines.index("frank: before the reload") < lines.index(
        "server: published during the page load"
    )
    assert chat.errors == []


def test_the_room_at_phone_width_wraps_a_long_word(
    fresh: Demo, browser: Any, screenshot_dir: Path
) -> None:
    demo = fresh
    phone = log_in(
        browser, demo, "carol", viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    chat = open_room(phone, demo, "lobby")
    page = chat.page
    chat.wait_connected()
    word = "w" * 500
    chat.say(word)
    chat.wait_line(f"carol: {word}")
    chat.say("a short line after it")
    chat.wait_line("carol: a short line after it")
    sizes = page.evaluate(
        """() => {
          const log = document.getElementById("log");
          return {
            page: document.documentElement.scrollWidth,
            viewport: window.innerWidth,
            log: [log.scrollWidth, log.clientWidth],
            lines: [...log.querySelectorAll("p")].map((p) => p.getBoundingClientRect().right),
            logRight: log.getBoundingClientRect().right,
            viewportMeta: document.querySelector("meta[name=viewport]")?.content,
          };
        }"""
    )
    assert sizes["viewport"] == 390 and sizes["page"] <= 390  # no sideways scrolling
    assert sizes["log"][0] <= sizes["log"][1]  # nothing runs past the log's box
    assert max(sizes["lines"]) <= sizes["logRight"]
    assert sizes["viewportMeta"] == "width=device-width, initial-scale=1"
    assert chat.page.is_visible("#members") and chat.page.is_visible("#say button")
    page.screenshot(path=str(screenshot_dir / "demo-phone.png"))
    assert chat.errors == []
