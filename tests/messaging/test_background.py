"""send_message_later: the hook that hands a broadcast to a background worker (synchronous by
default), the Broadcast job a worker receives, deliver_broadcast, and the new settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from django_aws_api_gateway_websockets import checks
from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.messaging import MAX_MESSAGE_SIZE, Broadcast, SendResult
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    WebSocketSession,
    deliver_broadcast,
)
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.support.budget import query_budget

pytestmark = pytest.mark.django_db

QUEUE: list[Any] = []


def enqueue(job: Broadcast) -> str:
    """A stand-in for ``task.delay(job.to_dict())``: what a task queue would carry."""
    QUEUE.append(json.dumps(job.to_dict()))
    return f"task-{len(QUEUE)}"


NOT_CALLABLE = 42


@pytest.fixture(autouse=True)
def _empty_queue():
    QUEUE.clear()
    yield
    QUEUE.clear()


@pytest.fixture
def room() -> list[WebSocketSession]:
    gateway = ApiGateway.objects.create(api_name="aws", api_id="awsid12345", stage_name="prod")
    rows = [
        WebSocketSession(connection_id=f"c{i}=", api_gateway=gateway, channel_name="room")
        for i in range(5)
    ]
    rows.append(WebSocketSession(connection_id="old=", api_gateway=gateway, connected=False))
    return WebSocketSession.objects.bulk_create(rows)


def test_default_is_synchronous_delivery(room) -> None:
    with capture_messages() as outbox:
        results = WebSocketSession.objects.filter(channel_name="room").send_message_later({"a": 1})
    [result] = results
    assert isinstance(result, SendResult)
    assert sorted(result.sent) == [f"c{i}=" for i in range(5)]
    assert sorted(m.connection_id for m in outbox.messages) == [f"c{i}=" for i in range(5)]


@override_settings(WEBSOCKETS={"broadcast_chunk_size": 2})
def test_chunks(room) -> None:
    with capture_messages() as outbox:
        outbox.make_gone("c3=")
        results = WebSocketSession.objects.send_message_later({"a": 1})
    assert [len(r.outcomes) for r in results] == [2, 2, 1]
    assert sum(len(r.sent) for r in results) == 4
    assert not WebSocketSession.objects.get(connection_id="c3=").connected


@override_settings(
    WEBSOCKETS={
        "broadcast_dispatcher": "tests.messaging.test_background.enqueue",
        "broadcast_chunk_size": 3,
    }
)
def test_a_dispatcher_gets_json_safe_jobs_that_a_worker_delivers_later(room) -> None:
    with capture_messages() as outbox, query_budget(1):
        handles = WebSocketSession.objects.send_message_later({"news": "é"})
    assert handles == ["task-1", "task-2"]
    assert outbox.messages == []  # nothing sent in the request
    jobs = [json.loads(raw) for raw in QUEUE]
    assert [job["connection_ids"] for job in jobs] == [["c0=", "c1=", "c2="], ["c3=", "c4="]]
    assert all(job["message"] == '{"news": "\\u00e9"}' for job in jobs)
    # Meanwhile c1 disconnected; the worker skips it, and marks the gone c4.
    WebSocketSession.objects.filter(connection_id="c1=").update(connected=False)
    with capture_messages() as outbox:
        outbox.make_gone("c4=")
        first = deliver_broadcast(jobs[0])
        second = deliver_broadcast(Broadcast.from_dict(jobs[1]))
    assert sorted(first.sent) == ["c0=", "c2="]
    assert second.sent == ["c3="] and second.gone == ["c4="]
    assert outbox.data_for("c0=") == [{"news": "é"}]
    assert not WebSocketSession.objects.get(connection_id="c4=").connected


def test_deliver_broadcast_queries(room) -> None:
    ids = tuple(f"c{i}=" for i in range(5)) + tuple(f"missing{i}=" for i in range(1200))
    with capture_messages() as outbox, query_budget(3):  # one SELECT per 500 ids
        result = deliver_broadcast(Broadcast('{"n": 1}', ids))
    assert len(result.sent) == 5 and len(outbox.messages) == 5


def test_size_is_checked_before_anything(room) -> None:
    with query_budget(0), pytest.raises(ValueError, match="exceeds AWS limit"):
        WebSocketSession.objects.send_message_later({"x": "y" * MAX_MESSAGE_SIZE})


def test_broadcast_round_trip() -> None:
    job = Broadcast('{"a": 1}', ("x=", "y="))
    assert Broadcast.from_dict(json.loads(json.dumps(job.to_dict()))) == job
    assert Broadcast.from_dict(job) is job


# -- settings ---------------------------------------------------------------------------------


def test_defaults() -> None:
    with override_settings(WEBSOCKETS={}):
        assert conf.send_transport == "auto"
        assert conf.lean_in_flight == 256
        assert conf.send_max_attempts == 4
        assert conf.send_retry_base_delay == 0.05
        assert conf.send_retry_max_delay == 2.0
        assert conf.broadcast_dispatcher is None
        assert conf.broadcast_chunk_size == 5000


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("send_transport", "fast"),
        ("send_transport", None),
        ("lean_in_flight", 0),
        ("send_max_attempts", "3"),
        ("send_retry_base_delay", 0),
        ("send_retry_base_delay", True),
        ("send_retry_max_delay", "1"),
        ("broadcast_dispatcher", "no.such.module.enqueue"),
        ("broadcast_dispatcher", "tests.messaging.test_background.NOT_CALLABLE"),
        ("broadcast_dispatcher", "enqueue"),
        ("broadcast_dispatcher", enqueue),
        ("broadcast_chunk_size", -5),
    ],
)
def test_wrong_values_are_reported_and_ignored(key, value) -> None:
    with override_settings(WEBSOCKETS={key: value}):
        [message] = checks.check_websockets_setting()
        assert message.id == "aws_websockets.E002"
        assert key in message.msg
    with override_settings(WEBSOCKETS={}):
        default = getattr(conf, key)
    with override_settings(WEBSOCKETS={key: value}):
        assert getattr(conf, key) == default


def test_valid_values() -> None:
    values = {
        "send_transport": "boto3",
        "lean_in_flight": 64,
        "send_max_attempts": 1,
        "send_retry_base_delay": 0.2,
        "send_retry_max_delay": 5,
        "broadcast_dispatcher": "tests.messaging.test_background.enqueue",
        "broadcast_chunk_size": 100,
    }
    with override_settings(WEBSOCKETS=values):
        assert [m for m in run_checks() if m.id.startswith("aws_websockets.")] == []
        assert {key: getattr(conf, key) for key in values} == {
            **values,
            "send_retry_max_delay": 5.0,
        }
