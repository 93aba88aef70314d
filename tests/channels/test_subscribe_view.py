"""subscribe/unsubscribe through the view, as API Gateway calls it (GatewayCallbacks), with
posts recorded by capture_messages (the outbox)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from django_aws_api_gateway_websockets.models import ChannelSubscription, WebSocketSession
from django_aws_api_gateway_websockets.views import INVALID_SUBSCRIBE, UNKNOWN_HANDLER
from tests.channels.helpers import subscribe
from tests.support.budget import query_budget, without_returning
from tests.testapp.views import BareView, ChatView

pytestmark = pytest.mark.django_db


def test_subscribe_two_channels_and_receive_exactly_their_publications(connect, outbox, pub):
    alice, a = connect("alice", channel="lobby")
    bob, b = connect("bob", channel="lobby")
    frame = subscribe(alice, a, "room-1", "room-2")
    assert frame == {
        "type": "subscribed",
        "channels": [{"channel": "room-1"}, {"channel": "room-2"}],
        "refused": [],
    }
    subscribe(bob, b, "room-2")
    assert set(
        WebSocketSession.objects.in_channel("room-1").values_list("connection_id", flat=True)
    ) == {a}
    assert set(
        WebSocketSession.objects.in_channel("room-2").values_list("connection_id", flat=True)
    ) == {a, b}
    assert set(
        WebSocketSession.objects.in_channel("lobby").values_list("connection_id", flat=True)
    ) == {a, b}

    assert pub("room-1", {"n": 1}) is None  # no history in the "" namespace
    pub("room-2", {"n": 2})
    pub("room-3", {"n": 3})
    assert outbox.data_for(a) == [
        {"type": "publication", "channel": "room-1", "data": {"n": 1}},
        {"type": "publication", "channel": "room-2", "data": {"n": 2}},
    ]
    assert outbox.data_for(b) == [{"type": "publication", "channel": "room-2", "data": {"n": 2}}]


def test_exclude_the_sender(connect, outbox, django_capture_on_commit_callbacks):
    alice, a = connect("alice")
    bob, b = connect("bob")
    subscribe(alice, a, "room-1")
    subscribe(bob, b, "room-1")
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.message(a, {"handler": "say", "channel": "room-1", "text": "hi"})
    assert response.json() == {"published": None}
    assert outbox.data_for(a) == []
    assert outbox.data_for(b) == [
        {"type": "publication", "channel": "room-1", "data": {"text": "hi"}}
    ]


def test_refusals_are_per_channel_and_change_nothing(connect):
    alice, a = connect("alice", channel="lobby")
    frame = subscribe(alice, a, "nope:1", "chat:secret", "lobby", "user#999", "room-1")
    assert [c["channel"] for c in frame["channels"]] == ["lobby", "room-1"]
    assert frame["refused"] == [
        {"channel": "nope:1", "reason": "unknown_namespace"},
        {"channel": "chat:secret", "reason": "not_allowed"},
        {"channel": "user#999", "reason": "not_allowed"},
    ]
    assert sorted(ChannelSubscription.objects.values_list("channel", flat=True)) == [
        "lobby",
        "room-1",
    ]


def test_default_authorization_admits_the_primary_and_personal_channels(connect, settings):
    _, a = connect("alice", channel="lobby")
    session = WebSocketSession.objects.get(connection_id=a)
    view = ChatView(websocket_session=session)
    request = None  # the default reads the session alone
    assert view.authorize_channel(request, "lobby") is True
    assert view.authorize_channel(request, f"user#{session.user_id}") is True
    assert view.authorize_channel(request, "user#0") is False
    # any other channel: the rules of $connect (unlisted channels are open by default)
    assert view.authorize_channel(request, "room-1") is True
    view.ALLOW_UNLISTED_CHANNELS = False
    assert view.authorize_channel(request, "room-1") is False
    assert view.authorize_channel(request, "lobby") is True


def test_handlers_are_opt_in(callbacks, db):
    # ChatView does not list them: they are not handlers there (BareView has no default()).
    assert "subscribe" not in ChatView().ALLOWED_HANDLERS
    assert "subscribe" not in BareView().ALLOWED_HANDLERS


def test_not_offered_means_unknown_handler(gateway, logged_in_client, settings):
    from django_aws_api_gateway_websockets.testing import GatewayCallbacks

    settings.ROOT_URLCONF = "tests.urls"
    gateway.target_base_endpoint = "https://www.example.com/ws-bare/"
    gateway.save()
    callbacks = GatewayCallbacks(logged_in_client, gateway)
    WebSocketSession.objects.create(connection_id="bare1=", api_gateway=gateway)
    response = callbacks.message("bare1=", {"handler": "subscribe", "channels": ["room-1"]})
    assert response.status_code == 400 and response.content.decode() == UNKNOWN_HANDLER


def test_subscription_limit(connect, settings):
    settings.WEBSOCKETS = {**settings.WEBSOCKETS, "max_subscriptions_per_connection": 3}
    alice, a = connect("alice")
    subscribe(alice, a, "room-1", "room-2")
    frame = subscribe(alice, a, "room-2", "room-3", "room-4")
    assert [c["channel"] for c in frame["channels"]] == ["room-2", "room-3"]
    assert frame["refused"] == [{"channel": "room-4", "reason": "too_many_subscriptions"}]
    too_many = alice.message(a, {"handler": "subscribe", "channels": ["room-9"] * 4})
    assert too_many.status_code == 400 and too_many.content.decode() == INVALID_SUBSCRIBE


def test_a_subscribe_batch_costs_two_statements(connect):
    alice, a = connect("alice")
    channels = [f"room-{n}" for n in range(20)]
    alice.message(a, {"handler": "heartbeat"})  # the gateway is now in the process's cache
    # touch_session (the message check) + the handler's two statements
    with query_budget(1 + without_returning() + 2):
        frame = subscribe(alice, a, *channels)
    assert len(frame["channels"]) == 20
    assert ChannelSubscription.objects.filter(session__connection_id=a).count() == 20


def test_unsubscribe(connect, outbox, pub):
    alice, a = connect("alice")
    subscribe(alice, a, "room-1", "room-2")
    response = alice.message(a, {"handler": "unsubscribe", "channels": ["room-1", "room-7"]})
    assert response.json() == {"type": "unsubscribed", "channels": ["room-1", "room-7"]}
    pub("room-1", 1)
    pub("room-2", 2)
    assert [m["channel"] for m in outbox.data_for(a)] == ["room-2"]
    bad = alice.message(a, {"handler": "unsubscribe", "channels": [{"channel": "room-2"}]})
    assert bad.status_code == 400


def test_initial_channels_at_connect(connect, outbox):
    _, a = connect("alice", channel="lobby", initial="room-1,chat:1,nope:2")
    assert sorted(
        ChannelSubscription.objects.filter(session__connection_id=a).values_list(
            "channel", flat=True
        )
    ) == ["chat:1", "room-1"]


def test_disconnect_drops_subscriptions(connect):
    alice, a = connect("alice")
    subscribe(alice, a, "room-1")
    assert alice.disconnect(a).status_code == 200
    assert not ChannelSubscription.objects.exists()
    assert not WebSocketSession.objects.in_channel("room-1").filter(connected=True).exists()


def test_send_to_user_and_disconnect_user(connect, outbox):
    _, a1 = connect("alice")
    _, a2 = connect("alice")
    _, b = connect("bob")
    user = get_user_model().objects.get(username="alice")
    result = WebSocketSession.objects.send_to_user(user, {"hi": 1}, exclude=a2)
    assert result.sent == [a1] and outbox.data_for(a1) == [{"hi": 1}] and outbox.data_for(a2) == []
    closed = WebSocketSession.objects.disconnect_user(user)
    assert sorted(closed.sent) == sorted([a1, a2])
    assert outbox.gone == {a1, a2}  # DeleteConnection closed both sockets
    assert set(
        WebSocketSession.objects.filter(connected=True).values_list("connection_id", flat=True)
    ) == {b}


def test_unsubscribe_and_disconnect_budgets(connect):
    alice, a = connect("alice")
    alice.message(a, {"handler": "heartbeat"})  # the gateway is now in the process's cache
    subscribe(alice, a, "room-1", "room-2")
    with query_budget(1 + without_returning() + 1):  # the message's own, one DELETE
        alice.message(a, {"handler": "unsubscribe", "channels": ["room-1"]})
    # $disconnect: its own statement, the connection's subscriptions, one DELETE
    with query_budget(1 + without_returning() + 2):
        alice.disconnect(a)
    assert not ChannelSubscription.objects.exists()
