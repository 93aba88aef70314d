"""The default ``authorize_channel`` applies release 4.1's channel permissions to ``subscribe``
(the rules of ``$connect`` and ``change_channel``): ``ChannelPermission`` rows,
``ALLOW_UNLISTED_CHANNELS``; the primary channel and the user's own ``user#<pk>`` stay admitted,
another user's never. A batch reads its rows in the statement that reads the connection's
subscriptions; rules are read once for the whole batch."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from django_aws_api_gateway_websockets.models import (
    ChannelPermission,
    ChannelPermissionRule,
    ChannelSubscription,
    WebSocketSession,
)
from tests.channels.helpers import subscribe
from tests.channels.views import ChannelsView
from tests.support.budget import data_statements, query_budget, without_returning

pytestmark = pytest.mark.django_db


def rows() -> None:
    ChannelPermission.objects.create(channel_name="open-room")  # allow_all
    ChannelPermission.objects.create(channel_name="staff-room", access="staff_only")
    ChannelPermission.objects.create(channel_name="closed", access="superuser_only")
    ruled = ChannelPermission.objects.create(channel_name="perm-room", access="permissions")
    rule = ChannelPermissionRule.objects.create(channel_permission=ruled)
    rule.permissions.add(Permission.objects.get(codename="change_user"))
    ChannelPermissionRule.objects.create(channel_permission=ruled)  # empty: ignored
    # an access value no release knows (written around the choices): admits no one
    ChannelPermission.objects.create(channel_name="weird")
    ChannelPermission.objects.filter(channel_name="weird").update(access="bogus")


ALL = ["open-room", "staff-room", "closed", "perm-room", "weird", "room-1", "lobby"]


def admitted(frame: dict) -> list[str]:
    return sorted(c["channel"] for c in frame["channels"])


def test_rows_decide_and_unlisted_channels_are_open(connect):
    rows()
    alice, a = connect("alice", channel="lobby")
    frame = subscribe(alice, a, *ALL)
    assert admitted(frame) == ["lobby", "open-room", "room-1"]
    assert sorted(r["channel"] for r in frame["refused"]) == [
        "closed",
        "perm-room",
        "staff-room",
        "weird",
    ]
    assert {r["reason"] for r in frame["refused"]} == {"not_allowed"}


def test_permissions_staff_and_superusers(connect, django_user_model):
    rows()
    alice, a = connect("alice")
    user = django_user_model.objects.get(username="alice")
    user.user_permissions.add(Permission.objects.get(codename="change_user"))
    assert "perm-room" in admitted(subscribe(alice, a, "perm-room", "staff-room"))
    django_user_model.objects.filter(username="alice").update(is_staff=True)
    assert "staff-room" in admitted(subscribe(alice, a, "staff-room", "closed"))
    django_user_model.objects.filter(username="alice").update(is_superuser=True)
    everything = [c for c in ALL if c != "lobby"]
    expected = sorted(c for c in everything if c != "weird")  # an unknown value: no one
    assert admitted(subscribe(alice, a, *everything)) == expected


def test_unlisted_channels_closed_but_primary_and_own_personal_channel(
    connect, monkeypatch, django_user_model
):
    rows()
    ChannelPermission.objects.create(channel_name="lobby")  # so that $connect admits it
    monkeypatch.setattr(ChannelsView, "ALLOW_UNLISTED_CHANNELS", False)
    alice, a = connect("alice", channel="lobby")
    own = f"user#{django_user_model.objects.get(username='alice').pk}"
    frame = subscribe(alice, a, "room-1", "news:1", "open-room", "lobby", own, "user#0")
    assert admitted(frame) == ["lobby", "open-room", own]
    assert sorted(r["channel"] for r in frame["refused"]) == ["news:1", "room-1", "user#0"]
    assert sorted(ChannelSubscription.objects.values_list("channel", flat=True)) == admitted(frame)


def test_another_users_personal_channel_is_never_open(connect):
    alice, a = connect("alice")
    assert subscribe(alice, a, "user#0")["refused"] == [
        {"channel": "user#0", "reason": "not_allowed"}
    ]


def test_initial_channels_follow_the_rows_too(connect):
    rows()
    _, a = connect("alice", channel="lobby", initial="open-room,staff-room,room-1")
    assert sorted(
        ChannelSubscription.objects.filter(session__connection_id=a).values_list(
            "channel", flat=True
        )
    ) == ["open-room", "room-1"]


def test_an_open_batch_with_rows_elsewhere_costs_two_statements(connect):
    rows()  # rows exist, but none for these channels (and allow_all ones cost nothing)
    alice, a = connect("alice")
    alice.message(a, {"handler": "heartbeat"})  # the gateway is now in the process's cache
    channels = ["open-room", *(f"room-{n}" for n in range(19))]
    with query_budget(1 + without_returning() + 2):
        frame = subscribe(alice, a, *channels)
    assert len(frame["channels"]) == 20


def test_a_restricted_batch_reads_its_rules_once(connect, django_user_model):
    """Rules of every ``permissions`` channel in one query, the user's permissions once: the
    statements do not grow with the batch."""
    perm = Permission.objects.get(codename="change_user")
    for n in range(12):
        row = ChannelPermission.objects.create(channel_name=f"p-{n}", access="permissions")
        ChannelPermissionRule.objects.create(channel_permission=row).permissions.add(perm)
    alice, a = connect("alice")
    django_user_model.objects.get(username="alice").user_permissions.add(perm)
    alice.message(a, {"handler": "heartbeat"})

    def statements(*channels: str) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as context:
            frame = subscribe(alice, a, *channels)
        assert len(frame["channels"]) == len(channels), frame
        return len(data_statements(context))

    two = statements("p-0", "p-1")
    twelve = statements(*(f"p-{n}" for n in range(2, 12)))
    assert two == twelve
    # the message's own, one read (subscriptions + rows), the rules, the user's permissions
    # (user and group: Django's ModelBackend), the INSERT
    assert two <= 1 + without_returning() + 1 + 1 + 2 + 1


def test_the_session_row_is_kept_when_refused(connect):
    rows()
    alice, a = connect("alice")
    subscribe(alice, a, "closed")
    assert WebSocketSession.objects.get(connection_id=a).connected
    assert not ChannelSubscription.objects.exists()
