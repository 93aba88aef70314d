"""Two connections subscribing to a presence channel at the same time each learn of the other:
by the snapshot of its ``subscribed`` frame or by a ``join`` frame. Found by bench/channels.py
(a full-room reconnect of 100 members got fewer joins than pairs): A read the members before B
was inserted, and B announced its join before A was inserted, so A never heard of B. The
interleaving is forced here, in one thread: B's whole subscribe runs inside A's, between A's
reading and A's writing."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from django_aws_api_gateway_websockets.channels import presence, subscriptions
from tests.channels.helpers import subscribe

pytestmark = pytest.mark.django_db


def knows(entry, frames, user_id: str) -> bool:
    listed = {m["user"] for m in entry["presence"].get("members", [])}
    joined = {f["user"] for f in frames if f.get("type") == "join"}
    return user_id in listed | joined


def test_concurrent_subscribers_each_learn_of_the_other(connect, outbox, monkeypatch):
    alice, a = connect("alice")
    bob, b = connect("bob")
    members = presence.members
    bob_entry: dict = {}
    calls = []

    def members_then_bob_subscribes(channels, **options):
        found = members(channels, **options)
        calls.append(channels)
        if len(calls) == 1:  # alice's read is done: bob subscribes, whole, before she goes on
            bob_entry.update(subscribe(bob, b, "chat:race")["channels"][0])
        return found

    monkeypatch.setattr(subscriptions.presence, "members", members_then_bob_subscribes)
    [alice_entry] = subscribe(alice, a, "chat:race")["channels"]
    ids = {u.username: str(u.pk) for u in get_user_model().objects.all()}
    assert knows(alice_entry, outbox.data_for(a), ids["bob"]), (alice_entry, outbox.messages)
    assert knows(bob_entry, outbox.data_for(b), ids["alice"]), (bob_entry, outbox.messages)
    # Both are members now, each counted once.
    assert set(presence.members(["chat:race"])["chat:race"]) == {
        int(ids["alice"]),
        int(ids["bob"]),
    }
