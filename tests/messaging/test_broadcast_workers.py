"""The ready broadcast tasks on real worker processes, each a separate process sharing the test
database: django-tasks-db's ``db_worker`` (PostgreSQL) and a Celery worker with Redis
(``REDIS_URL``, started by scripts/test.sh). Posts go over real sockets to the fake Management
API (tests/support/fake_management_api.py), which verifies each signature and records every post.

In each test a worker is killed (SIGKILL) while a chunk is in flight: the chunk runs again
(Celery redelivers it; for the tasks framework ``tasks.requeue_stalled`` enqueues it), every
recipient gets the message, and the only doubles are recipients of the killed chunk (the
documented at-least-once), none elsewhere.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets.messaging.ranges import RangeBroadcast, rows_of
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from tests.support.fake_management_api import FakeManagementAPI, Reply, running
from tests.support.paths import ROOT
from tests.support.processes import shareable_database_url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 3000
CHUNK = 500
SLOW = f"c{1234:05}="  # in the third chunk: its first post hangs until the worker is killed
MESSAGE = {"news": "fleet"}


@pytest.fixture
def database_url() -> str:
    url = shareable_database_url()
    if url is None or not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: the workers share the test database")
    return url


@dataclass
class Worker:
    """A worker process; its log is kept in ``log``."""

    args: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *self.args],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def children(self) -> list[int]:
        assert self.process is not None
        pid = self.process.pid
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        return [int(p) for p in text.split()]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


@pytest.fixture
def workers(tmp_path) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []

    def start(*args: str, **env: str) -> Worker:
        worker = Worker(list(args), env, tmp_path / f"worker-{len(started)}.log")
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(signal.SIGKILL)


@pytest.fixture
def api() -> Iterator[FakeManagementAPI]:
    with running(default=Reply(delay=0.001)) as fake:
        fake.script(SLOW, Reply(delay=60))  # hangs the first time; answers at once the next
        yield fake


@pytest.fixture
def rows(api) -> list[str]:
    host, port = api.endpoint().split("//")[1].split("/")[0].split(":")
    gateway = ApiGateway.objects.create(
        api_name="fleet", api_id="fleet12345", stage_name="prod", api_endpoint=f"ws://{host}:{port}"
    )
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"c{i:05}=", api_gateway=gateway, channel_name="fleet")
        for i in range(ROWS)
    )
    return [f"c{i:05}=" for i in range(ROWS)]


def wait_for(
    condition: Callable[[], bool],
    timeout: float,
    what: str,
    logs: list[Worker],
    progress: Callable[[], object] | None = None,
) -> None:
    """Wait until ``condition()``; fail after ``timeout`` seconds without progress (with
    ``progress``, the clock restarts whenever its value changes: a loaded machine is slow, a
    stuck worker makes none)."""
    deadline = time.monotonic() + timeout
    last = progress() if progress is not None else None
    while not condition():
        if progress is not None and (now := progress()) != last:
            last, deadline = now, time.monotonic() + timeout
        if time.monotonic() > deadline:
            text = "\n".join(w.log.read_text(errors="replace")[-3000:] for w in logs)
            raise AssertionError(f"no progress towards {what} in {timeout} s; worker logs:\n{text}")
        time.sleep(0.05)


def posts(api: FakeManagementAPI) -> Counter[str]:
    assert all(r.signature_ok for r in api.requests)
    return Counter(r.connection_id for r in api.requests)


def killed_chunk_ids() -> set[str]:
    """The recipients of the chunk holding SLOW, as the plan splits them."""
    from django_aws_api_gateway_websockets.messaging.ranges import plan

    sessions = WebSocketSession.objects.filter(channel_name="fleet")
    for job in plan(sessions, "1", CHUNK):
        ids = set(
            rows_of(WebSocketSession.objects.all(), job).values_list("connection_id", flat=True)
        )
        if SLOW in ids:
            return ids
    raise AssertionError("no chunk holds SLOW")


def assert_at_least_once(api: FakeManagementAPI, rows: list[str], chunk: set[str]) -> None:
    counts = posts(api)
    assert set(counts) == set(rows), "lost"
    doubled = {c for c, n in counts.items() if n > 1}
    assert doubled <= chunk, f"doubled outside the killed chunk: {sorted(doubled - chunk)[:5]}"
    assert max(counts.values()) == 2 and counts[SLOW] == 2
    assert all(b == b'{"news": "fleet"}' for r in api.requests for b in [r.body])
    assert WebSocketSession.objects.filter(connected=True).count() == ROWS


def test_django_tasks_db_worker_killed_mid_chunk(database_url, workers, api, rows) -> None:
    from django_tasks_db.models import DBTaskResult

    from django_aws_api_gateway_websockets.messaging import tasks

    env = {"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    worker_args = ["django", "db_worker", "--interval", "0.05", "--no-startup-delay", "--no-reload"]
    first = workers(*worker_args, **env)
    dispatcher = "django_aws_api_gateway_websockets.messaging.tasks.enqueue"
    with override_settings(
        WEBSOCKETS={"broadcast_dispatcher": dispatcher, "broadcast_chunk_size": CHUNK}
    ):
        handles = WebSocketSession.objects.filter(channel_name="fleet").send_message_later(MESSAGE)
    assert len(handles) == ROWS // CHUNK
    assert all(RangeBroadcast.from_dict(h.args[0]).filters for h in handles)

    wait_for(lambda: SLOW in posts(api), 120, "the slow post", [first], lambda: len(api.requests))
    first.stop(signal.SIGKILL)  # mid-chunk: the chunk's task stays RUNNING
    [stalled] = DBTaskResult.objects.filter(status="RUNNING")
    assert tasks.requeue_stalled(older_than=timedelta(0)) == 1
    assert tasks.requeue_stalled(older_than=timedelta(0)) == 0  # requeued once
    second = workers(*worker_args, **env)
    done = DBTaskResult.objects.filter(status="SUCCESSFUL")
    wait_for(
        lambda: done.count() == len(handles),
        120,
        "every chunk",
        [first, second],
        progress=lambda: (done.count(), len(api.requests)),
    )
    stalled.refresh_from_db()
    assert stalled.status == "FAILED"
    # The results count every recipient once (the killed run recorded none).
    assert sum(r.return_value["sent"] for r in done) == ROWS
    assert_at_least_once(api, rows, killed_chunk_ids())


def test_celery_worker_killed_mid_chunk(database_url, workers, api, rows) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.skip("REDIS_URL is unset: start Redis with scripts/redis.sh (scripts/test.sh does)")
    import redis

    redis.Redis.from_url(redis_url).flushdb()  # no message left from an earlier run
    from tests.support.celery_app import app

    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    worker_args = ["celery", "-A", "tests.support.celery_app", "worker", "--pool=prefork"]
    worker_args += ["--concurrency=1", "--without-gossip", "--without-mingle", "-l", "INFO"]
    worker = workers(*worker_args, **env)
    dispatcher = "django_aws_api_gateway_websockets.messaging.celery.enqueue"
    with override_settings(
        WEBSOCKETS={"broadcast_dispatcher": dispatcher, "broadcast_chunk_size": CHUNK}
    ):
        handles = WebSocketSession.objects.filter(channel_name="fleet").send_message_later(MESSAGE)
    assert len(handles) == ROWS // CHUNK and app.conf.broker_url == redis_url

    wait_for(lambda: SLOW in posts(api), 120, "the slow post", [worker], lambda: len(api.requests))
    [child] = worker.children()
    os.kill(child, signal.SIGKILL)  # the pool process running the chunk dies
    wait_for(lambda: posts(api)[SLOW] == 2, 120, "the chunk's redelivery", [worker])
    wait_for(
        lambda: len(posts(api)) == ROWS, 120, "every recipient", [worker], lambda: len(api.requests)
    )
    time.sleep(0.5)  # let any stray duplicate arrive before counting
    assert_at_least_once(api, rows, killed_chunk_ids())
    assert "WorkerLostError" in worker.log.read_text(errors="replace")
