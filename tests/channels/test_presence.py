"""Presence through the view: a member is a user, join/leave frames to the channel, snapshots,
count-only, the member cap, info size, signals, revocation, and silent members pruned."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from django_aws_api_gateway_websockets import channels
from django_aws_api_gateway_websockets.models import ChannelSubscription, WebSocketSession
from django_aws_api_gateway_websockets.reconcile import reconcile_sessions
from tests.channels.helpers import subscribe
from tests.channels.views import ChannelsView

pytestmark = pytest.mark.django_db


def uid(username):
    return str(get_user_model().objects.get(username=username).pk)


@pytest.fixture
def signals_seen():
    seen = []

    def record(signal_name):
        def receiver(sender, **kwargs):
            seen.append((signal_name, kwargs["channel"], str(kwargs.get("user_id", ""))))

        return receiver

    receivers = {
        name: record(name)
        for name in ("channel_occupied", "channel_vacated", "member_added", "member_removed")
    }
    for name, receiver in receivers.items():
        getattr(channels, name).connect(receiver)
    yield seen
    for name, receiver in receivers.items():
        getattr(channels, name).disconnect(receiver)


def test_one_member_per_user_join_first_leave_last(connect, outbox, signals_seen):
    alice, a1 = connect("alice")
    [entry] = subscribe(alice, a1, "chat:1")["channels"]
    assert entry["presence"] == {
        "count": 1,
        "members": [{"user": uid("alice"), "info": {"name": "alice"}}],
    }
    assert signals_seen == [
        ("channel_occupied", "chat:1", ""),
        ("member_added", "chat:1", uid("alice")),
    ]

    bob, b = connect("bob")
    [entry] = subscribe(bob, b, "chat:1")["channels"]
    assert entry["presence"]["count"] == 2
    assert outbox.data_for(a1) == [
        {"type": "join", "channel": "chat:1", "user": uid("bob"), "info": {"name": "bob"}}
    ]
    assert outbox.data_for(b) == []  # the joiner gets the snapshot, not its own join

    # A second tab of alice (a renewal makes one before breaking the old): no join, no leave.
    outbox.clear()
    alice2, a2 = connect("alice")
    assert subscribe(alice2, a2, "chat:1")["channels"][0]["presence"]["count"] == 2
    assert alice.disconnect(a1).status_code == 200
    assert outbox.messages == []

    # The last connection of alice leaves: one leave, to the others.
    alice2.message(a2, {"handler": "unsubscribe", "channels": ["chat:1"]})
    assert outbox.data_for(b) == [{"type": "leave", "channel": "chat:1", "user": uid("alice")}]
    bob.disconnect(b)
    assert signals_seen[-3:] == [
        ("member_removed", "chat:1", uid("alice")),
        ("member_removed", "chat:1", uid("bob")),
        ("channel_vacated", "chat:1", ""),
    ]
    assert channels.members(["chat:1"]) == {"chat:1": {}}


def test_count_only_sends_counts_and_no_join_leave(connect, outbox):
    alice, a = connect("alice")
    bob, b = connect("bob")
    subscribe(alice, a, "count:1")
    [entry] = subscribe(bob, b, "count:1")["channels"]
    assert entry["presence"] == {"count": 2}
    assert outbox.messages == []


def test_member_cap_refuses_cleanly(connect, settings):
    settings.WEBSOCKETS = {"channel_namespaces": {"chat": {"presence": True, "max_members": 1}}}
    alice, a = connect("alice")
    bob, b = connect("bob")
    subscribe(alice, a, "chat:1")
    frame = subscribe(bob, b, "chat:1")
    assert frame["channels"] == [] and frame["refused"] == [
        {"channel": "chat:1", "reason": "channel_full"}
    ]
    alice2, a2 = connect("alice")  # already a member: more tabs are fine
    assert subscribe(alice2, a2, "chat:1")["refused"] == []


def test_member_cap_count_only_beyond(connect):
    users = [connect(name) for name in ("u1", "u2", "u3")]
    for callbacks, connection_id in users[:2]:
        assert "members" in subscribe(callbacks, connection_id, "big:1")["channels"][0]["presence"]
    [entry] = subscribe(*users[2], "big:1")["channels"]
    assert entry["presence"] == {"count": 3}


def test_info_above_one_kilobyte_is_refused(connect, monkeypatch):
    monkeypatch.setattr(ChannelsView, "authorize_channel", lambda self, r, c: {"bio": "x" * 1100})
    alice, a = connect("alice")
    frame = subscribe(alice, a, "chat:1")
    assert frame["refused"] == [{"channel": "chat:1", "reason": "info_too_large"}]
    assert not ChannelSubscription.objects.exists()


def test_revoke_removes_the_subscriptions_and_tells_the_client(connect, outbox, signals_seen):
    alice, a1 = connect("alice")
    alice2, a2 = connect("alice")
    bob, b = connect("bob")
    for callbacks, connection_id in ((alice, a1), (alice2, a2), (bob, b)):
        subscribe(callbacks, connection_id, "chat:1")
    outbox.clear()
    assert channels.revoke(get_user_model().objects.get(username="alice"), "chat:1") == 2
    revoked = {"type": "unsubscribed", "channels": ["chat:1"], "reason": "revoked"}
    assert outbox.data_for(a1) == [revoked] and outbox.data_for(a2) == [revoked]
    assert outbox.data_for(b) == [{"type": "leave", "channel": "chat:1", "user": uid("alice")}]
    assert list(
        WebSocketSession.objects.in_channel("chat:1").values_list("connection_id", flat=True)
    ) == [b]
    assert channels.revoke(uid("alice"), "chat:1") == 0


def test_silent_members_drop_out_and_reconcile_prunes_them(connect, outbox, signals_seen, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "presence_max_age_seconds": 60}
    alice, a = connect("alice")
    bob, b = connect("bob")
    subscribe(alice, a, "chat:1")
    subscribe(bob, b, "chat:1")
    # alice's $disconnect was lost and her connection went silent.
    WebSocketSession.objects.filter(connection_id=a).update(
        updated_on=timezone.now() - timedelta(seconds=61)
    )
    assert list(channels.members(["chat:1"])["chat:1"]) == [int(uid("bob"))]
    outbox.clear()
    report = reconcile_sessions(min_age_seconds=0)  # GetConnection: alive (the outbox's)
    assert report.subscriptions_pruned == 1 and "pruned 1 subscription(s)" in str(report)
    assert outbox.data_for(b) == [{"type": "leave", "channel": "chat:1", "user": uid("alice")}]
    assert signals_seen[-1] == ("member_removed", "chat:1", uid("alice"))
    assert list(ChannelSubscription.objects.values_list("session__connection_id", flat=True)) == [b]
