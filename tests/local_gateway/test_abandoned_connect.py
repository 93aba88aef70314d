"""A ``$connect`` the gateway gave up on (Django slower than the integration timeout): the
client gets 504, Django still records a connected session, and nothing may leave it connected.

Real sockets: a websockets client -> the local gateway -> the live server, whose
``SlowConnectView`` holds ``$connect`` until the test opens ``CONNECT_GATE`` (so "Django answers
after the timeout" is an order of events, not a race of sleeps).

- the local gateway keeps the abandoned request and, once Django answers, sends that
  connection's ``$disconnect``: the row ends disconnected;
- AWS sends no such ``$disconnect`` (nor does the local gateway when its ``$disconnect`` reaches
  Django before the slow ``$connect`` has written the row): ``reconcileWebSocketSessions`` asks
  the Management API, which does not know the connection, and marks the row disconnected.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.testapp.views import CONNECT_GATE

from .conftest import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_gateway(live_server) -> Iterator[ApiGateway]:
    CONNECT_GATE.clear()
    try:
        yield ApiGateway.objects.create(
            api_name="Slow",
            target_base_endpoint=f"{live_server.url}/ws-slow/",
            default_channel_name="lobby",
            secret=ApiGateway.generate_secret(),
        )
    finally:
        CONNECT_GATE.set()  # never leave a live-server thread waiting


def refused_with_504(local_gateway, gateway: ApiGateway, browser: Browser) -> str:
    """Open a socket while Django holds ``$connect``: 504; the abandoned connection's id."""
    with pytest.raises(InvalidStatus) as refused:
        connect(
            local_gateway.url(gateway, ws_token=browser.quick_token()),
            additional_headers={"Cookie": browser.cookie},
            origin=local_gateway.origin,
            open_timeout=10,
        )
    assert refused.value.response.status_code == 504
    (event,) = local_gateway.wait_for_event("connect")
    assert event.detail == "timeout"
    return event.connection_id


def wait_for_row(connection_id: str, timeout: float = 10.0) -> WebSocketSession:
    """The session row of ``connection_id``, once the slow ``$connect`` has written it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = WebSocketSession.objects.filter(connection_id=connection_id).first()
        if row is not None:
            return row
        time.sleep(0.02)
    raise AssertionError("the slow $connect never recorded its session")


def test_an_abandoned_connect_is_followed_by_its_disconnect(local_gateway, slow_gateway, browser):
    local_gateway.serve(slow_gateway)
    local_gateway.set_limits(integration_timeout=0.3)
    connection_id = refused_with_504(local_gateway, slow_gateway, browser)
    # Django has not answered yet: the gateway must not send $disconnect before it has.
    assert [e for e in local_gateway.events() if e.kind == "disconnect"] == []
    local_gateway.set_limits(integration_timeout=30)  # what follows may be slow, not late
    CONNECT_GATE.set()
    (late,) = local_gateway.wait_for_event("abandoned", connection_id)
    assert (late.detail, late.status) == ("ok", 200)  # Django accepted, 0.3 s too late
    (disconnect,) = local_gateway.wait_for_event("disconnect", connection_id)
    assert disconnect.status == 200
    assert late.at <= disconnect.at
    row = wait_for_row(connection_id)
    assert not row.connected
    assert local_gateway.connection_ids() == []


def test_an_abandoned_connect_django_refuses_sends_no_disconnect(
    local_gateway, slow_gateway, browser
):
    local_gateway.serve(slow_gateway)
    local_gateway.set_limits(integration_timeout=0.3)
    with pytest.raises(InvalidStatus) as refused:
        connect(local_gateway.url(slow_gateway), open_timeout=10)  # no token: Django says 400
    assert refused.value.response.status_code == 504
    (event,) = local_gateway.wait_for_event("connect")
    CONNECT_GATE.set()
    (late,) = local_gateway.wait_for_event("abandoned", event.connection_id)
    assert late.status == 400
    local_gateway.thread.run(local_gateway.gateway.drain())  # nothing else is pending
    assert [e for e in local_gateway.events() if e.kind == "disconnect"] == []
    assert not WebSocketSession.objects.filter(connection_id=event.connection_id).exists()


def test_reconcile_marks_the_row_of_a_connection_the_gateway_never_opened(
    local_gateway, slow_gateway, browser
):
    """The AWS case: no ``$disconnect`` after Django's late answer. Here the gateway waits no
    longer than the timeout (``abandoned_connect_wait`` 0.05 s), so its ``$disconnect`` reaches
    Django before the row exists and changes nothing, as if none had been sent."""
    local_gateway.serve(slow_gateway)
    local_gateway.set_limits(integration_timeout=0.3, abandoned_connect_wait=0.05)
    connection_id = refused_with_504(local_gateway, slow_gateway, browser)
    local_gateway.wait_for_event("disconnect", connection_id)  # too early: no row yet
    assert not WebSocketSession.objects.filter(connection_id=connection_id).exists()
    CONNECT_GATE.set()
    row = wait_for_row(connection_id)
    assert row.connected  # what the gateway alone cannot repair

    out = StringIO()
    call_command("reconcileWebSocketSessions", "--min-age", "0", "--no-cleanup", stdout=out)
    assert "1 gone" in out.getvalue(), out.getvalue()
    row.refresh_from_db()
    assert not row.connected
