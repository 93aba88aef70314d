"""Forced renewals while publishing, with real sockets: the local gateway closes every
connection after a few seconds (``max_connection_age``, API Gateway's 2 hours); one subscriber
renews make-before-break, another only reconnects once closed, both re-subscribing with
``since``. After dropping duplicates by offset each has every publication exactly once, and
the make-before-break renewals make no presence leave or join."""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets.models import ApiGateway, ChannelStream
from tests.channels.sockets import Browser, Publisher, Subscriber, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

MAX_AGE = 4.0  # seconds
CHANNEL = "stream:renewals"


@pytest.fixture
def gateway(live_gateway, settings) -> ApiGateway:
    settings.ROOT_URLCONF = "tests.channels.e2e_urls"
    return live_gateway


def test_forced_renewals_while_publishing_lose_and_duplicate_nothing(local_gateway, gateway):
    local_gateway.serve(gateway)
    local_gateway.set_limits(max_connection_age=MAX_AGE)

    def opener(browser: Browser):
        return lambda: browser.open(local_gateway, gateway)

    alice = Browser("alice").stock(40)  # make-before-break, renewing half-way
    bob = Browser("bob").stock(40)  # reconnects once the gateway closed the socket
    writer = Browser("writer").stock(40)
    renewing = Subscriber(opener(alice), CHANNEL, renew_after=MAX_AGE / 2).start()
    reacting = Subscriber(opener(bob), CHANNEL)
    publisher = Publisher(opener(writer), CHANNEL)
    try:
        # alice first: bob's snapshot lists her, and any join or leave of hers is a renewal's.
        wait_until(lambda: renewing.connections, 60, "alice subscribed")
        reacting.start()
        wait_until(lambda: reacting.connections, 60, "bob subscribed")
        publisher.start()
        # At least two forced closes of the reacting subscriber and three renewals: several
        # connection lifetimes of publishing.
        wait_until(
            lambda: reacting.forced >= 2 and renewing.renewals >= 3 and publisher.count >= 50,
            120,
            lambda: f"renewals while publishing ({renewing!r}, {reacting!r}, {publisher!r})",
        )
    finally:
        publisher.stop()
        stopped = publisher.count
    top = ChannelStream.objects.get(channel=CHANNEL).top_offset
    try:
        wait_until(lambda: renewing.last >= top and reacting.last >= top, 60, "the last offset")
    finally:  # bob first: alice's last close is a real leave, which bob must not record
        reacting.stop()
        renewing.stop()

    assert stopped >= 50 and top >= stopped
    for subscriber in (renewing, reacting):
        assert (subscriber.unrecovered, subscriber.conflicts) == (0, [])
        assert sorted(subscriber.data) == list(range(1, top + 1))  # nothing lost
        for offset, data in publisher.acknowledged.items():
            assert subscriber.data[offset] == data
    # Each renewal re-subscribed with since: what the old connection also delivered came
    # twice, and was dropped by offset.
    assert renewing.connections >= 4 and reacting.connections >= 3
    # bob's connections were closed by the gateway (past their age) and replaced: bob left
    # and joined again, as alice saw. alice was never closed, and never left nor joined.
    assert reacting.forced >= 2 and renewing.forced == 0, "renew sooner on this machine"
    seen = [f for f in renewing.others + reacting.others if f.get("type") in ("join", "leave")]
    assert [f for f in seen if f["user"] == str(alice.user.pk)] == []
    bob_left = [f for f in renewing.others if f.get("type") == "leave"]
    assert bob_left and {f["user"] for f in bob_left} == {str(bob.user.pk)}
