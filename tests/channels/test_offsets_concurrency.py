"""Offsets under concurrency on a real PostgreSQL (and MariaDB) server: 50 threads, each with
its own connection, publish 100 messages each to one history channel, released together by a
barrier. The offsets are 1..5000 exactly: none lost, none repeated, no gap. Skipped on SQLite,
which serialises every writer."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.models import ChannelPublication, ChannelStream

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 50
EACH = 100


def test_offsets_are_gap_free_and_unique(settings):
    if connection.vendor == "sqlite":
        pytest.skip("needs PostgreSQL or MariaDB (set DATABASE_URL); SQLite serialises writers")
    settings.WEBSOCKETS = {
        "channel_namespaces": {
            "race": {"history_size": THREADS * EACH, "history_ttl_seconds": 3600}
        }
    }
    barrier = threading.Barrier(THREADS)
    offsets: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(EACH):
                position = publish("race:1", {"thread": n, "i": i})
                assert position is not None
                offsets[n].append(position.offset)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = sorted(o for per_thread in offsets for o in per_thread)
    assert every == list(range(1, THREADS * EACH + 1))
    for per_thread in offsets:  # each publisher saw its own offsets increase
        assert per_thread == sorted(per_thread)
    stored = list(ChannelPublication.objects.order_by("offset").values_list("offset", "data"))
    assert [o for o, _ in stored] == every
    assert ChannelStream.objects.get(channel="race:1").top_offset == THREADS * EACH
    # The data stored at each offset is the one its publisher was given that offset for.
    by_offset = dict(stored)
    for n, per_thread in enumerate(offsets):
        assert [by_offset[o] for o in per_thread] == [{"thread": n, "i": i} for i in range(EACH)]
