"""The quickstart's pairing under a burst: ``manage.py runserver`` and ``manage.py runwsgateway``
as a developer starts them (no option but where to listen and which row), 200 sockets sending 10
messages each at once. Django's development server has a listen backlog of 10: a gateway sending
every message at once got refused connections, i.e. ``Internal server error`` and ``Endpoint
request timed out`` frames. With the gateway's default backend concurrency every message is
answered. A load test (real processes, 2,000 messages; needs PostgreSQL or MariaDB, which both
processes share)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_aws_api_gateway_websockets.models import ApiGateway
from tests.support.ports import free_port
from tests.support.processes import Process, django_server, shareable_database_url

from .conftest import Browser
from .test_load_and_faults import Stack, echoes, open_clients, send_all, wait_until

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

SOCKETS = 200
MESSAGES = 10


@pytest.fixture
def default_stack(tmp_path: Path, browser: Browser) -> Iterator[Stack]:
    database_url = shareable_database_url()
    if database_url is None:
        pytest.skip("needs PostgreSQL or MariaDB: the processes share the test database")
    django = django_server(database_url, tmp_path)  # runserver: threaded, as the docs say
    row = ApiGateway.objects.create(
        api_name="Burst",
        target_base_endpoint=f"http://127.0.0.1:{django.port}/ws/",
        default_channel_name="load",
        secret=ApiGateway.generate_secret(),
    )
    port = free_port()
    gateway = Process(
        "gateway",
        ["runwsgateway", "--api", "Burst", "--port", str(port)],
        port,
        database_url,
        tmp_path,
    )
    django.start()
    gateway.start()
    row.refresh_from_db()
    try:
        yield Stack(row, django, gateway, browser)
    finally:
        gateway.stop()
        django.stop()


def test_a_burst_through_runserver_and_runwsgateway_defaults_loses_nothing(
    default_stack: Stack,
) -> None:
    tokens = default_stack.tokens(SOCKETS)

    async def scenario() -> list:
        clients = await open_clients(default_stack, tokens, concurrency=SOCKETS)
        await send_all(clients, MESSAGES, "m")
        try:
            await wait_until(
                lambda: all(len(c.frames) >= MESSAGES for c in clients), 300, "an answer each"
            )
        finally:
            await asyncio.gather(*(c.ws.close() for c in clients))
        return clients

    clients = asyncio.run(scenario())
    errors = [f for c in clients for f in c.frames if "message" in f]
    assert errors == [], f"{len(errors)} error frames, e.g. {errors[:3]}"
    for client in clients:
        assert sorted(echoes(client, "m")) == sorted(
            f"m:{client.index}:{k}" for k in range(MESSAGES)
        )
