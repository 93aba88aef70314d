"""Liveness with real sockets: API Gateway's ``$disconnect`` is best effort. With the local
gateway's fault injection dropping it (``--drop-disconnect``), a member who left stays in the
subscription table: it stops counting once silent past ``presence_max_age_seconds``, and
``reconcileWebSocketSessions`` prunes it by that age alone (no Management API call) and then,
asking the gateway, marks its session gone. The other members are told it left."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from django_aws_api_gateway_websockets.channels import members
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ChannelSubscription,
    WebSocketSession,
)
from tests.channels.namespaces import NAMESPACES
from tests.channels.sockets import Browser, ask, received

pytestmark = pytest.mark.django_db(transaction=True)

MAX_AGE = 3  # presence_max_age_seconds
HEARTBEAT = {"handler": "default"}  # any message keeps a connection live


@pytest.fixture
def gateway(live_gateway, settings) -> ApiGateway:
    settings.WEBSOCKETS = {"channel_namespaces": NAMESPACES, "presence_max_age_seconds": MAX_AGE}
    return live_gateway


def reconcile(*args: str) -> str:
    out = StringIO()
    call_command("reconcileWebSocketSessions", *args, stdout=out)
    return out.getvalue()


def test_a_member_whose_disconnect_was_dropped_ages_out_and_is_pruned(local_gateway, gateway):
    local_gateway.serve(gateway)
    alice, bob, carol = Browser("alice"), Browser("bob"), Browser("carol")
    with bob.open(local_gateway, gateway) as b:
        assert ask(b, {"handler": "subscribe", "channels": ["chat:3"]})["refused"] == []
        local_gateway.set_limits(drop_disconnect=True)
        with alice.open(local_gateway, gateway) as a:
            [entry] = ask(a, {"handler": "subscribe", "channels": ["chat:3"]})["channels"]
            assert entry["presence"]["count"] == 2
            assert [f["type"] for f in received(b)] == ["join"]
            alice_session = WebSocketSession.objects.get(user=alice.user)
        [dropped] = local_gateway.wait_for_event("disconnect_dropped")
        assert dropped.connection_id == alice_session.connection_id
        alice_session.refresh_from_db()
        assert alice_session.connected  # nobody told Django

        # Silent past the max age, alice no longer counts; bob, who keeps talking, does.
        deadline = time.monotonic() + 60
        while set(members(["chat:3"])["chat:3"]) != {bob.user.pk}:
            assert time.monotonic() < deadline, "alice never aged out"
            assert ask(b, HEARTBEAT) == {"handled_by": "default"}
        # The command prunes her subscription by age alone: with --min-age 3600 it asks the
        # gateway about no session (all are younger), and her row stays connected.
        output = reconcile("--min-age", "3600", "--no-cleanup")
        assert "pruned 1 subscription(s) of sessions not live" in output
        assert not ChannelSubscription.objects.filter(user=alice.user).exists()
        alice_session.refresh_from_db()
        assert alice_session.connected
        assert received(b) == [{"type": "leave", "channel": "chat:3", "user": str(alice.user.pk)}]
        with carol.open(local_gateway, gateway) as c:
            [entry] = ask(c, {"handler": "subscribe", "channels": ["chat:3"]})["channels"]
            assert entry["presence"]["count"] == 2
            assert {m["user"] for m in entry["presence"]["members"]} == {
                str(bob.user.pk),
                str(carol.user.pk),
            }
        # Asked, the gateway says her connection is gone: her row is marked so.
        output = reconcile("--min-age", "0", "--no-cleanup")
        alice_session.refresh_from_db()
        assert not alice_session.connected, output
