"""Broadcasts split by primary-key ranges (messaging/ranges.py): the plan, re-reading a chunk's
rows, retries of a chunk, enqueue on commit, and the ready task modules run in-process. The
same tasks on real worker processes are in tests/messaging/test_broadcast_workers.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.test import override_settings

from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.messaging import Broadcast
from django_aws_api_gateway_websockets.messaging.ranges import (
    RangeBroadcast,
    RangeDispatcher,
    deliver_range,
    describe,
    plan,
    rows_of,
)
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.support.budget import query_budget

pytestmark = pytest.mark.django_db

QUEUE: list[dict[str, Any]] = []


def record(job: dict[str, Any]) -> str:
    """What a task queue would carry (the job must survive JSON)."""
    QUEUE.append(json.loads(json.dumps(job)))
    return f"task-{len(QUEUE)}"


recording = RangeDispatcher(record)
DISPATCHER = "tests.messaging.test_broadcast_ranges.recording"


@pytest.fixture
def lobby() -> list[str]:
    """27 connected rows in "lobby", interleaved with other channels and closed rows (and an
    empty QUEUE)."""
    QUEUE.clear()
    gateway = ApiGateway.objects.create(api_name="aws", api_id="awsid12345", stage_name="prod")
    rows = []
    for i in range(40):
        channel = "lobby" if i % 5 else "other"
        rows.append(
            WebSocketSession(
                connection_id=f"c{i:02}=",
                api_gateway=gateway,
                channel_name=channel,
                connected=i % 7 != 3,
            )
        )
    WebSocketSession.objects.bulk_create(rows)
    return sorted(
        WebSocketSession.objects.filter(channel_name="lobby", connected=True).values_list(
            "connection_id", flat=True
        )
    )


def flat(lists: list[list[str]]) -> list[str]:
    return [item for items in lists for item in items]


def recipients_of(jobs: list[RangeBroadcast]) -> list[list[str]]:
    base = WebSocketSession.objects.all()
    return [
        sorted(rows_of(base, job).filter(connected=True).values_list("connection_id", flat=True))
        for job in jobs
    ]


def test_plan_splits_by_ranges_with_one_query_per_chunk(lobby) -> None:
    assert len(lobby) == 27
    sessions = WebSocketSession.objects.filter(channel_name="lobby")
    with query_budget(4):  # 3 chunks of 10: three boundary queries and the last maximum
        jobs = plan(sessions, '{"n": 1}', 10)
    assert [len(ids) for ids in recipients_of(jobs)] == [10, 10, 7]
    assert sorted(flat(recipients_of(jobs))) == lobby  # every recipient once
    assert all(job.filters == (("channel_name", "exact", "lobby"),) for job in jobs)
    assert [job.after_pk for job in jobs][1:] == [job.last_pk for job in jobs][:-1]
    assert jobs[0].after_pk is None
    # No id list travels: the job is the same size for any number of recipients.
    assert len(json.dumps(jobs[0].to_dict())) < 200


def test_exact_multiple_and_empty(lobby) -> None:
    sessions = WebSocketSession.objects.filter(channel_name="lobby")
    assert [len(ids) for ids in recipients_of(plan(sessions, "1", 9))] == [9, 9, 9]
    assert plan(sessions.filter(channel_name="nobody"), "1", 9) == []


def test_rows_connected_later_are_not_in_the_broadcast(lobby) -> None:
    jobs = plan(WebSocketSession.objects.filter(channel_name="lobby"), "1", 100)
    gateway = ApiGateway.objects.get()
    WebSocketSession.objects.create(
        connection_id="late=", api_gateway=gateway, channel_name="lobby"
    )
    assert "late=" not in flat(recipients_of(jobs))


def test_filters_it_cannot_describe_become_chunks_of_primary_keys(lobby) -> None:
    user = User.objects.create(username="ann")
    WebSocketSession.objects.filter(connection_id__in=lobby[:3]).update(user=user)
    for sessions in (
        WebSocketSession.objects.filter(user__username="ann"),  # a join
        WebSocketSession.objects.filter(Q(user=user) | Q(channel_name="nobody")),  # OR
    ):
        assert describe(sessions) is None
        jobs = plan(sessions, "1", 2)
        assert [job.filters[0][:2] for job in jobs] == [("pk", "in"), ("pk", "in")]
        assert flat(recipients_of(jobs)) == lobby[:3]
    # A related manager's filter is the row's own foreign key: ranges.
    assert describe(user.websocket_sessions.all()) == (("user_id", "exact", user.pk),)
    assert describe(WebSocketSession.objects.exclude(channel_name="x")) is None
    assert describe(WebSocketSession.objects.all()[:5]) is None


def test_a_retried_chunk_posts_at_least_once_and_marks_gone_once(lobby) -> None:
    [job] = plan(WebSocketSession.objects.filter(channel_name="lobby"), '{"a": 1}', 100)
    payload = json.loads(json.dumps(job.to_dict()))
    with capture_messages() as outbox:
        outbox.make_gone(lobby[0])
        first = deliver_range(WebSocketSession.objects.all(), payload)
        with query_budget(1):  # the re-read only: nothing newly gone, so no UPDATE
            second = deliver_range(WebSocketSession.objects.all(), payload)
    assert first.summary() == {"sent": 26, "gone": 1, "failed": 0}
    assert second.summary() == {"sent": 26, "gone": 0, "failed": 0}
    assert lobby[0] not in [m.connection_id for m in outbox.messages[26:]]
    assert not WebSocketSession.objects.get(connection_id=lobby[0]).connected
    assert {m.connection_id for m in outbox.messages} == set(lobby[1:])  # a gone post is not kept


@pytest.mark.parametrize(
    "job",
    [
        {"message": "1", "after_pk": None},
        {"message": "1", "after_pk": "1", "last_pk": None, "filters": []},
        {"message": "1", "after_pk": None, "last_pk": None, "filters": [["a", "b"]]},
        {"message": "1", "after_pk": None, "last_pk": None, "filters": [["password", "exact", 1]]},
        {"message": "1", "after_pk": None, "last_pk": None, "filters": [["id", "nolookup", 1]]},
        {"message": "1", "after_pk": None, "last_pk": None, "filters": [["id", "in", 5]]},
        {"message": "1", "after_pk": None, "last_pk": None, "filters": [["user_id", "exact", "x"]]},
    ],
)
def test_malformed_jobs_are_a_value_error(lobby, job) -> None:
    with capture_messages() as outbox, pytest.raises(ValueError, match=r"[Bb]roadcast range"):
        deliver_range(WebSocketSession.objects.all(), job)
    assert outbox.messages == []


@override_settings(WEBSOCKETS={"broadcast_dispatcher": DISPATCHER, "broadcast_chunk_size": 10})
def test_send_message_later_enqueues_on_commit(lobby, django_capture_on_commit_callbacks) -> None:
    assert transaction.get_connection().in_atomic_block  # the test's transaction
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        handles = WebSocketSession.objects.filter(channel_name="lobby").send_message_later({"x": 1})
        assert handles == [None, None, None] and QUEUE == []  # nothing before the commit
    assert len(callbacks) == 3 and len(QUEUE) == 3
    with capture_messages() as outbox:
        for job in QUEUE:
            deliver_range(WebSocketSession.objects.all(), job)
    assert sorted(m.connection_id for m in outbox.messages) == lobby


@override_settings(WEBSOCKETS={"broadcast_dispatcher": DISPATCHER})
def test_nothing_is_enqueued_for_a_rolled_back_write(lobby, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        WebSocketSession.objects.filter(channel_name="lobby").send_message_later({"x": 1})
        raise RuntimeError("the write failed")
    assert callbacks == [] and QUEUE == []


@override_settings(WEBSOCKETS={"broadcast_dispatcher": DISPATCHER, "broadcast_on_commit": False})
def test_on_commit_can_be_turned_off(lobby) -> None:
    assert conf.broadcast_on_commit is False
    assert WebSocketSession.objects.send_message_later(1) == ["task-1"]


def test_an_id_broadcast_handed_to_a_range_dispatcher(lobby) -> None:
    assert recording(Broadcast("1", (lobby[0], "nope="))) == "task-1"
    assert recipients_of([RangeBroadcast.from_dict(QUEUE[0])]) == [[lobby[0]]]


def test_the_django_task_runs_a_chunk(lobby) -> None:
    from django_aws_api_gateway_websockets.messaging import tasks

    [job] = plan(WebSocketSession.objects.filter(channel_name="lobby"), '"hi"', 100)
    with capture_messages() as outbox:
        assert tasks.deliver_broadcast_range.call(job.to_dict()) == {
            "sent": 27,
            "gone": 0,
            "failed": 0,
        }
    assert outbox.data_for(lobby[0]) == ["hi"]


def test_the_celery_task_runs_a_chunk(lobby) -> None:
    from django_aws_api_gateway_websockets.messaging import celery

    [job] = plan(WebSocketSession.objects.filter(channel_name="lobby"), '"hi"', 100)
    with capture_messages() as outbox:
        assert celery.deliver_broadcast_range(job.to_dict())["sent"] == 27
    assert len(outbox.messages) == 27
    task = celery.deliver_broadcast_range
    assert task.acks_late and task.reject_on_worker_lost  # redelivered when a worker dies


def test_wrong_on_commit_value_is_reported() -> None:
    from django_aws_api_gateway_websockets import checks

    with override_settings(WEBSOCKETS={"broadcast_on_commit": "yes"}):
        [message] = checks.check_websockets_setting()
        assert message.id == "aws_websockets.E002" and conf.broadcast_on_commit is True
