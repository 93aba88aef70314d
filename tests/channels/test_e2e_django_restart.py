"""Django restarted mid-stream, with real sockets and processes: ``runserver`` (its own
process, on the test database) behind the local gateway, a client publishing through it and a
subscriber. Django is stopped while both are connected and the subscriber's connection is
dropped; publishing fails meanwhile (API Gateway's error frame), the subscriber cannot
reconnect ($connect fails) and retries. Once Django is back the subscriber re-subscribes with
``since`` and recovers: it has every publication exactly once, in the stream's offsets.

Needs PostgreSQL or MariaDB (both processes share the test database): skipped on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from django_aws_api_gateway_websockets.models import ApiGateway, ChannelStream, WebSocketSession
from django_aws_api_gateway_websockets.testing.local_gateway import LocalGatewayFixture
from tests.channels.sockets import Browser, Publisher, Subscriber, wait_until
from tests.support.processes import Process, django_server, shareable_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CHANNEL = "stream:restart"


@pytest.fixture
def django(tmp_path: Path) -> Iterator[Process]:
    url = shareable_database_url()
    if url is None:
        pytest.skip("needs PostgreSQL or MariaDB: the Django process shares the test database")
    process = django_server(url, tmp_path)
    process.env["DJANGO_SETTINGS_MODULE"] = "tests.channels.process_settings"
    process.start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def gateway(django: Process) -> Iterator[tuple[LocalGatewayFixture, ApiGateway]]:
    backend = f"http://127.0.0.1:{django.port}"
    row = ApiGateway.objects.create(
        api_name="Restart",
        target_base_endpoint=f"{backend}/ws/",
        default_channel_name="lobby",
        secret=ApiGateway.generate_secret(),
    )
    service = LocalGatewayFixture(backend_url=backend)
    try:
        service.serve(row)
        yield service, row
    finally:
        service.close()


def test_django_restarted_mid_stream_loses_nothing(django, gateway):
    service, row = gateway
    alice = Browser("alice").stock(5)
    writer = Browser("writer").stock(5)
    subscriber = Subscriber(lambda: alice.open(service, row), CHANNEL).start()
    publisher = Publisher(lambda: writer.open(service, row), CHANNEL, interval=0.05)
    try:
        wait_until(lambda: subscriber.connections == 1, 60, "the subscriber")
        publisher.start()
        wait_until(lambda: publisher.count >= 20, 60, "publications before the restart")

        django.stop()
        # While Django is down the subscriber's connection is lost too (a network blip): it
        # cannot reconnect ($connect fails) until Django is back.
        [session] = WebSocketSession.objects.filter(user=alice.user, connected=True)
        service.management_client(row).delete_connection(ConnectionId=session.connection_id)
        wait_until(lambda: publisher.failed >= 1 and subscriber.forced == 1, 60, "the outage")
        before = publisher.count

        django.start()
        wait_until(
            lambda: publisher.count >= before + 20 and subscriber.connections >= 2,
            90,
            "publications after the restart",
        )
    finally:
        publisher.stop()
    top = ChannelStream.objects.get(channel=CHANNEL).top_offset
    try:
        wait_until(lambda: subscriber.last >= top, 60, "the last offset")
    finally:
        subscriber.stop()

    assert (subscriber.unrecovered, subscriber.conflicts) == (0, [])
    assert sorted(subscriber.data) == list(range(1, top + 1))
    for offset, data in publisher.acknowledged.items():
        assert subscriber.data[offset] == data
    # The outage was real: publishing failed, and the subscriber's handshakes were refused
    # before one succeeded (its attempts are the connections that never subscribed).
    assert publisher.failed >= 1
    assert [f for f in subscriber.others if "message" in f] == []
