"""End to end with real sockets: websockets clients -> local gateway -> Django's live server,
publications posted back through the local gateway's Management API."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.models import ApiGateway
from tests.channels.sockets import Browser, ask, received

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gateway(live_gateway: ApiGateway) -> ApiGateway:
    return live_gateway


def test_overlapping_subscriptions_reach_exactly_their_subscribers(local_gateway, gateway):
    local_gateway.serve(gateway)
    alice, bob = Browser("alice"), Browser("bob")
    with alice.open(local_gateway, gateway) as a, bob.open(local_gateway, gateway) as b:
        frame = ask(a, {"handler": "subscribe", "channels": ["room-1", "news:1"]})
        assert [c["channel"] for c in frame["channels"]] == ["room-1", "news:1"]
        assert ask(b, {"handler": "subscribe", "channels": ["room-2", "news:1"]})["refused"] == []
        publish("room-1", "to a")
        publish("room-2", "to b")
        publish("room-3", "to nobody")
        publish("news:1", "to both")
        publish("lobby", "primary")
        got_a, got_b = received(a), received(b)
    assert sorted((f["channel"], f["data"]) for f in got_a) == [
        ("lobby", "primary"),
        ("news:1", "to both"),
        ("room-1", "to a"),
    ]
    assert sorted((f["channel"], f["data"]) for f in got_b) == [
        ("lobby", "primary"),
        ("news:1", "to both"),
        ("room-2", "to b"),
    ]
    [news] = [f for f in got_a if f["channel"] == "news:1"]
    assert news["offset"] == 1 and news["epoch"]


def test_a_reconnect_with_since_recovers_the_missed_publications(local_gateway, gateway):
    local_gateway.serve(gateway)
    alice = Browser("alice")
    with alice.open(local_gateway, gateway) as ws:
        [entry] = ask(ws, {"handler": "subscribe", "channels": ["news:7"]})["channels"]
        publish("news:7", {"n": 1})
        [live] = received(ws)
        assert (live["offset"], live["epoch"]) == (1, entry["epoch"])
    # Disconnected (the gateway closed the socket, as it does every 2 hours): two are missed.
    local_gateway.wait_for_event("disconnect")
    publish("news:7", {"n": 2})
    publish("news:7", {"n": 3})
    with alice.open(local_gateway, gateway) as ws:
        since = {"offset": live["offset"], "epoch": live["epoch"]}
        [entry] = ask(
            ws, {"handler": "subscribe", "channels": [{"channel": "news:7", "since": since}]}
        )["channels"]
        assert entry["recovered"] is True
        assert entry["publications"] == [
            {"offset": 2, "data": {"n": 2}},
            {"offset": 3, "data": {"n": 3}},
        ]
        publish("news:7", {"n": 4})
        assert [(f["offset"], f["data"]) for f in received(ws)] == [(4, {"n": 4})]


def test_a_member_whose_disconnect_was_dropped_is_pruned(local_gateway, gateway):
    from django_aws_api_gateway_websockets.channels import members
    from django_aws_api_gateway_websockets.reconcile import reconcile_sessions

    local_gateway.serve(gateway)
    alice, bob = Browser("alice"), Browser("bob")
    with bob.open(local_gateway, gateway) as b:
        assert ask(b, {"handler": "subscribe", "channels": ["chat:1"]})["refused"] == []
        local_gateway.set_limits(drop_disconnect=True)  # API Gateway's is best effort
        with alice.open(local_gateway, gateway) as a:
            [entry] = ask(a, {"handler": "subscribe", "channels": ["chat:1"]})["channels"]
            assert entry["presence"]["count"] == 2
            [join] = received(b)
            assert join == {
                "type": "join",
                "channel": "chat:1",
                "user": str(alice.user.pk),
                "info": {"name": "alice"},
            }
        local_gateway.wait_for_event("disconnect_dropped")
        assert set(members(["chat:1"])["chat:1"]) == {alice.user.pk, bob.user.pk}  # stale
        report = reconcile_sessions(min_age_seconds=0)  # GetConnection: alice's is gone
        assert (report.gone, report.subscriptions_pruned) == (1, 1)
        assert received(b) == [{"type": "leave", "channel": "chat:1", "user": str(alice.user.pk)}]
        assert set(members(["chat:1"])["chat:1"]) == {bob.user.pk}
