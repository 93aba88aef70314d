"""Stale state: session rows that say ``connected`` for sockets that no longer exist, and
tokens, rate-limit rows and rotated-out secrets past their use.

A ``$disconnect`` can be lost (Django was down when API Gateway sent it, or a local gateway was
killed). :func:`reconcile_sessions` asks the Management API about every row marked connected
(``GetConnection``, concurrently, in batches) and marks disconnected the ones API Gateway
answers ``GoneException`` for. Rows it cannot check (the endpoint unreachable, a 403, a row
without a gateway) are left as they are and reported. :func:`cleanup` deletes expired tokens and
old rate-limit rows and forgets previous secrets whose rotation window has passed.

Channels: after reconciling, the subscriptions of sessions that are no longer live (closed,
or silent past ``presence_max_age_seconds``) are deleted and their members announced as gone
(``channels.prune``); :func:`cleanup` trims every history stream to its size and age.

``manage.py reconcileWebSocketSessions`` runs both, once or on a schedule (``--every``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from . import aws, channels
from .aws import error_code, management_endpoint
from .conf import conf
from .messaging import RetryPolicy, call_with_retries, is_gone
from .models import ApiGateway, ConnectionRateLimit, WebSocketSession, WebSocketToken
from .models.tokens import RATE_LIMIT_RETENTION_DAYS

logger = logging.getLogger(__name__)

#: Rows read (and GetConnection calls made) per batch.
DEFAULT_BATCH_SIZE = 1000
#: Rows younger than this are skipped: their ``$connect`` may still be in progress.
DEFAULT_MIN_AGE_SECONDS = 60


@dataclass
class ReconcileReport:
    """What :func:`reconcile_sessions` found."""

    checked: int = 0
    alive: int = 0
    gone: int = 0  # marked disconnected (or, in a dry run, would be)
    unchecked: int = 0  # the Management API could not say: left as they are
    orphans: int = 0  # no gateway, or a gateway without an endpoint
    orphans_disconnected: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    dry_run: bool = False
    disconnect_orphans: bool = False
    subscriptions_pruned: int = 0  # subscriptions of sessions no longer live, deleted

    def __str__(self) -> str:
        verb = "would mark" if self.dry_run else "marked"
        text = (
            f"checked {self.checked} connected session(s) in {self.seconds:.2f}s: "
            f"{self.alive} alive, {self.gone} gone ({verb} disconnected), "
            f"{self.unchecked} could not be checked, {self.orphans} without a gateway endpoint"
        )
        if self.orphans_disconnected:
            text += f" ({verb} disconnected: {self.orphans_disconnected})"
        if self.subscriptions_pruned:
            text += f"; pruned {self.subscriptions_pruned} subscription(s) of sessions not live"
        if self.errors:
            text += "; errors: " + ", ".join(f"{c} x{n}" for c, n in self.errors.most_common())
        return text


@dataclass
class CleanupReport:
    tokens: int = 0
    rate_limits: int = 0
    previous_secrets: int = 0
    publications: int = 0  # history trimmed to its namespace's size and age

    def __str__(self) -> str:
        text = (
            f"deleted {self.tokens} expired token(s) and {self.rate_limits} old rate-limit "
            f"row(s); forgot {self.previous_secrets} rotated-out secret(s)"
        )
        if self.publications:
            text += f"; trimmed {self.publications} publication(s) from channel history"
        return text


def _batches(rows: Any, batch_size: int) -> Iterator[list[tuple[int, str, int | None]]]:
    """``(pk, connection_id, api_gateway_id)`` in primary-key order, one batch per query
    (keyset pagination: memory stays bounded and rows changed meanwhile cause no skips)."""
    last = 0
    while True:
        batch = list(
            rows.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "connection_id", "api_gateway_id")[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def _endpoints(gateway_ids: Iterable[int]) -> dict[int, str | None]:
    endpoints: dict[int, str | None] = {}
    for gateway in ApiGateway.objects.filter(pk__in=set(gateway_ids)):
        try:
            endpoints[gateway.pk] = management_endpoint(gateway)
        except (ValueError, RuntimeError):
            endpoints[gateway.pk] = None
    return endpoints


def _check(client: Any, connection_id: str, policy: RetryPolicy) -> str:
    """``"alive"``, ``"gone"``, or the error code that kept the connection from being checked
    (throttling and broken connections are retried per ``policy`` first)."""
    tried = call_with_retries(
        lambda: client.get_connection(ConnectionId=connection_id),
        policy,
        catch=(ClientError, BotoCoreError, OSError),
    )
    if tried.error is None:
        return "alive"
    return "gone" if is_gone(tried.error) else error_code(tried.error)


def reconcile_sessions(
    *,
    gateways: Iterable[ApiGateway] | None = None,
    min_age_seconds: int = DEFAULT_MIN_AGE_SECONDS,
    concurrency: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    disconnect_orphans: bool = False,
) -> ReconcileReport:
    """Ask the Management API about every session row marked connected (of ``gateways``, or
    of all) created at least ``min_age_seconds`` ago, and mark disconnected the rows whose
    connection API Gateway reports gone.

    ``concurrency`` GetConnection calls are in flight at once (default
    ``WEBSOCKETS["send_concurrency"]``); throttling is retried with the fan-out's backoff.
    With ``disconnect_orphans`` rows without a usable gateway are marked disconnected too.
    Its Management API clients come from :func:`aws.client`.
    """
    started = time.monotonic()
    report = ReconcileReport(dry_run=dry_run, disconnect_orphans=disconnect_orphans)
    workers = concurrency or conf.send_concurrency
    policy = RetryPolicy.from_settings()
    rows = WebSocketSession.objects.filter(
        connected=True, created_on__lte=timezone.now() - timedelta(seconds=min_age_seconds)
    )
    if gateways is not None:
        rows = rows.filter(api_gateway__in=[g.pk for g in gateways])
    endpoints: dict[int, str | None] = {}
    clients: dict[str, Any] = {}
    config = Config(max_pool_connections=workers, retries={"total_max_attempts": 1})

    def client_for(endpoint: str) -> Any:
        if endpoint not in clients:
            clients[endpoint] = aws.client(
                "apigatewaymanagementapi", endpoint_url=endpoint, config=config
            )
        return clients[endpoint]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile") as pool:
        try:
            _reconcile_batches(rows, batch_size, endpoints, client_for, pool, policy, report)
        finally:
            for client in clients.values():
                close = getattr(client, "close", None)  # botocore's closes its sockets
                if callable(close):
                    close()
    if not dry_run:
        report.subscriptions_pruned = channels.prune()
    report.seconds = time.monotonic() - started
    if report.errors:
        logger.warning("reconcile: %s", report)
    return report


def _reconcile_batches(
    rows: Any,
    batch_size: int,
    endpoints: dict[int, str | None],
    client_for: Any,
    pool: ThreadPoolExecutor,
    policy: RetryPolicy,
    report: ReconcileReport,
) -> None:
    """Check ``rows`` batch by batch, recording into ``report``."""
    for batch in _batches(rows, batch_size):
        missing = {g for _, _, g in batch if g is not None and g not in endpoints}
        if missing:
            endpoints.update(_endpoints(missing))
        jobs: list[tuple[str, Any]] = []
        orphans: list[str] = []
        for _pk, connection_id, gateway_id in batch:
            endpoint = endpoints.get(gateway_id) if gateway_id is not None else None
            if endpoint is None:
                orphans.append(connection_id)
            else:
                jobs.append((connection_id, client_for(endpoint)))
        answers = pool.map(lambda job: _check(job[1], job[0], policy), jobs)
        gone: list[str] = []
        for (connection_id, _client), answer in zip(jobs, answers, strict=True):
            report.checked += 1
            if answer == "alive":
                report.alive += 1
            elif answer == "gone":
                gone.append(connection_id)
            else:
                report.unchecked += 1
                report.errors[answer] += 1
        report.gone += len(gone)
        report.orphans += len(orphans)
        if report.disconnect_orphans:
            report.orphans_disconnected += len(orphans)
            gone.extend(orphans)
        if gone and not report.dry_run:
            WebSocketSession.mark_disconnected(gone)


def cleanup(
    *, token_age_seconds: int = 300, rate_limit_age_days: int = RATE_LIMIT_RETENTION_DAYS
) -> CleanupReport:
    """Delete tokens older than ``token_age_seconds`` and rate-limit rows older than
    ``rate_limit_age_days``; clear ``previous_secret`` once its rotation window has passed."""
    tokens, _ = WebSocketToken.cleanup_expired(max_age_seconds=token_age_seconds)
    rate_limits, _ = ConnectionRateLimit.cleanup_old_records(days=rate_limit_age_days)
    window = timedelta(seconds=conf.secret_rotation_window_seconds)
    secrets = (
        ApiGateway.objects.exclude(previous_secret="")
        .filter(secret_rotated_at__lt=timezone.now() - window)
        .update(previous_secret="", updated_on=timezone.now())
    )
    return CleanupReport(tokens, rate_limits, secrets, channels.trim_all())
