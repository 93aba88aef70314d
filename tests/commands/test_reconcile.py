"""reconcileWebSocketSessions: session rows against GetConnection, and the cleanup, measured
under thousands of rows (``WEBSOCKETS_RECONCILE_ROWS``, default 3,000).

The in-process runs answer GetConnection from ``capture_messages``' outbox (no sockets: the
database side is what they measure); the HTTP runs use a real Management API over sockets that
verifies SigV4 (``tests/support/fake_management_api.py``). The local gateway's own run (a killed
gateway, real sockets) is in ``tests/local_gateway/test_load_and_faults.py``.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_aws_api_gateway_websockets import reconcile
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import capture_messages
from tests.support.fake_management_api import GONE, THROTTLED, Reply, error_body, running

pytestmark = pytest.mark.django_db

ROWS = int(os.environ.get("WEBSOCKETS_RECONCILE_ROWS", "3000"))
HOUR_AGO = timedelta(hours=1)


def make_rows(gateway: ApiGateway | None, count: int, prefix: str, age: timedelta = HOUR_AGO):
    WebSocketSession.objects.bulk_create(
        (
            WebSocketSession(connection_id=f"{prefix}{n:06d}=", api_gateway=gateway)
            for n in range(count)
        ),
        batch_size=1000,
    )
    WebSocketSession.objects.filter(connection_id__startswith=prefix).update(
        created_on=timezone.now() - age
    )
    return [f"{prefix}{n:06d}=" for n in range(count)]


@pytest.fixture
def aws_gateway() -> ApiGateway:
    return ApiGateway.objects.create(api_name="aws", api_id="awsid12345", secret="x")


def connected_ids() -> set[str]:
    return set(
        WebSocketSession.objects.filter(connected=True).values_list("connection_id", flat=True)
    )


def test_thousands_of_rows(aws_gateway: ApiGateway) -> None:
    ids = make_rows(aws_gateway, ROWS, "c")
    gone = set(ids[::3])
    orphans = make_rows(None, 100, "orphan")
    fresh = make_rows(aws_gateway, 50, "fresh", age=timedelta(0))
    with capture_messages() as outbox:
        outbox.make_gone(*gone, *fresh)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            report = reconcile.reconcile_sessions()
            elapsed = time.perf_counter() - started
    assert (report.checked, report.gone, report.alive) == (ROWS, len(gone), ROWS - len(gone))
    assert (report.orphans, report.unchecked) == (100, 0)
    assert connected_ids() == (set(ids) - gone) | set(orphans) | set(fresh)
    # Reads in batches of 1,000, marks in statements of 500: the query count grows by the
    # thousand rows, not by the row.
    batches = (ROWS + 100) // 1000 + 1
    assert len(queries) <= 2 * batches + len(gone) // 500 + 4, len(queries)
    print(
        f"reconcile {ROWS} rows ({len(gone)} gone): {elapsed:.2f}s, "
        f"{ROWS / elapsed:.0f} rows/s, {len(queries)} queries"
    )


def test_dry_run_changes_nothing(aws_gateway: ApiGateway) -> None:
    ids = make_rows(aws_gateway, 20, "c")
    with capture_messages() as outbox:
        outbox.make_gone(*ids[:5])
        report = reconcile.reconcile_sessions(dry_run=True)
    assert (report.gone, report.alive) == (5, 15)
    assert connected_ids() == set(ids)
    assert "would mark disconnected" in str(report)


def test_orphans_are_reported_or_disconnected(aws_gateway: ApiGateway) -> None:
    orphans = make_rows(None, 3, "o")
    no_endpoint = ApiGateway.objects.create(api_name="never created")  # no api_id
    unreachable = make_rows(no_endpoint, 2, "n")
    with capture_messages():
        report = reconcile.reconcile_sessions()
        assert report.orphans == 5 and connected_ids() == set(orphans + unreachable)
        report = reconcile.reconcile_sessions(disconnect_orphans=True)
    assert report.orphans_disconnected == 5 and connected_ids() == set()


def test_only_the_chosen_gateway(aws_gateway: ApiGateway) -> None:
    other = ApiGateway.objects.create(api_name="other", api_id="other12345")
    mine = make_rows(aws_gateway, 3, "m")
    theirs = make_rows(other, 3, "t")
    with capture_messages() as outbox:
        outbox.make_gone(*mine, *theirs)
        reconcile.reconcile_sessions(gateways=[aws_gateway])
    assert connected_ids() == set(theirs)


def http_gateway(endpoint: str) -> ApiGateway:
    # api_endpoint over ws:// as a local gateway stores it: management_endpoint keeps the host.
    return ApiGateway.objects.create(
        api_name="http",
        api_id="httpid1234",
        api_endpoint=endpoint.replace("http", "ws", 1),
        stage_name="prod",
    )


def test_over_http_with_throttling_and_errors(settings: Any) -> None:
    settings.WEBSOCKETS = {"send_retry_base_delay": 0.001, "send_retry_max_delay": 0.002}
    with running() as api:
        gateway = http_gateway(api.endpoint(stage=""))
        ids = make_rows(gateway, 40, "h")
        for connection_id in ids[:10]:
            api.script(connection_id, GONE)
        api.script(ids[10], THROTTLED, THROTTLED, Reply())  # retried, then alive
        api.script(ids[11], Reply(403, "ForbiddenException", error_body("Forbidden")))
        report = reconcile.reconcile_sessions(concurrency=8)
        assert all(r.signature_ok and r.method == "GET" for r in api.requests)
        assert report.errors == {"ForbiddenException": 1}
    assert (report.checked, report.gone, report.alive, report.unchecked) == (40, 10, 29, 1)
    assert connected_ids() == set(ids[10:])


def test_an_unreachable_endpoint_leaves_rows_and_fails_the_command(settings: Any) -> None:
    settings.WEBSOCKETS = {"send_retry_base_delay": 0.001, "send_retry_max_delay": 0.002}
    with running() as api:
        endpoint = api.endpoint(stage="")
    gateway = http_gateway(endpoint)  # the server is stopped: connection refused
    ids = make_rows(gateway, 5, "u")
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="5 session"):
        call_command("reconcileWebSocketSessions", stdout=out, stderr=err)
    assert connected_ids() == set(ids)
    assert "could not be checked" in out.getvalue()


def test_cleanup(aws_gateway: ApiGateway, user: Any) -> None:
    old_token = WebSocketToken.generate_token(user, "k1")
    new_token = WebSocketToken.generate_token(user, "k2")
    WebSocketToken.objects.filter(pk=old_token.pk).update(
        created_at=timezone.now() - timedelta(seconds=301)
    )
    ConnectionRateLimit.record_attempt("10.0.0.1")
    ConnectionRateLimit.record_attempt("10.0.0.2")
    ConnectionRateLimit.objects.filter(ip_address="10.0.0.1").update(
        attempt_time=timezone.now() - timedelta(days=8)
    )
    ApiGateway.objects.filter(pk=aws_gateway.pk).update(
        previous_secret="old", secret_rotated_at=timezone.now() - timedelta(hours=2)
    )
    recent = ApiGateway.objects.create(
        api_name="recent", previous_secret="old2", secret_rotated_at=timezone.now()
    )
    report = reconcile.cleanup()
    assert (report.tokens, report.rate_limits, report.previous_secrets) == (1, 1, 1)
    assert list(WebSocketToken.objects.values_list("pk", flat=True)) == [new_token.pk]
    assert ConnectionRateLimit.objects.get().ip_address == "10.0.0.2"
    assert ApiGateway.objects.get(pk=aws_gateway.pk).previous_secret == ""
    assert ApiGateway.objects.get(pk=recent.pk).previous_secret == "old2"


def test_cleanup_of_thousands_of_rows(user: Any) -> None:
    old = timezone.now() - timedelta(days=30)
    WebSocketToken.objects.bulk_create(
        WebSocketToken(token=f"{n:064x}", user=user, session_key="k") for n in range(ROWS)
    )
    WebSocketToken.objects.update(created_at=old)
    ConnectionRateLimit.objects.bulk_create(
        ConnectionRateLimit(ip_address=f"10.0.{n // 250}.{n % 250}") for n in range(ROWS)
    )
    ConnectionRateLimit.objects.update(attempt_time=old)
    started = time.perf_counter()
    report = reconcile.cleanup()
    elapsed = time.perf_counter() - started
    assert (report.tokens, report.rate_limits) == (ROWS, ROWS)
    assert not WebSocketToken.objects.exists() and not ConnectionRateLimit.objects.exists()
    print(f"cleanup {ROWS} tokens + {ROWS} rate-limit rows: {elapsed:.2f}s")


def test_command_once_and_on_a_schedule(aws_gateway: ApiGateway) -> None:
    ids = make_rows(aws_gateway, 10, "c")
    with capture_messages() as outbox:
        outbox.make_gone(*ids[:4])
        out = StringIO()
        call_command("reconcileWebSocketSessions", "--pk", str(aws_gateway.pk), stdout=out)
        text = out.getvalue()
        assert "checked 10 connected session(s)" in text and "4 gone" in text
        assert "Cleanup: deleted 0 expired token(s)" in text
        out = StringIO()
        call_command(
            "reconcileWebSocketSessions", "--every", "1", "--runs", "2", "--no-cleanup", stdout=out
        )
    assert out.getvalue().count("Sessions: checked 6") == 2
    assert connected_ids() == set(ids[4:])
    with pytest.raises(CommandError):
        call_command("reconcileWebSocketSessions", "--pk", "999")
