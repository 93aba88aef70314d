"""The boto3 transport: ``post_to_connection`` on boto3 clients, from a pool of threads.

:func:`fan_out` posts one message to many connections with at most ``send_concurrency`` posts in
flight, one client per endpoint shared by the threads (boto3 clients are thread-safe). It is the
only transport a replaced client factory (a mock, ``testing.capture_messages``) ever sees, so
mocks see every call.

:func:`shared_client` keeps the clients of the real factory: made once per endpoint and AWS
settings, reused across sends, dropped when settings change.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from django.core.signals import setting_changed
from django.dispatch import receiver

from .. import aws
from ..conf import conf
from ..redaction import redact
from .outcomes import Outcome, RetryPolicy, call_with_retries, classify, no_client

logger = logging.getLogger(__name__)

ClientFactory = Callable[[str], Any]


def post_one(
    client: Any, connection_id: str, message: str, retry: RetryPolicy | None = None
) -> Outcome:
    """Post to one connection through a boto3 client, retrying throttling and broken
    connections per ``retry``, and classify the result."""
    tried = call_with_retries(
        lambda: client.post_to_connection(Data=message, ConnectionId=connection_id),
        retry or RetryPolicy(max_attempts=1),
    )
    if tried.error is not None:  # one connection's failure never stops the others
        return classify(connection_id, tried.error, tried.attempts)
    return Outcome(connection_id, "sent", response=tried.value, attempts=tried.attempts)


def fan_out(
    targets: Iterable[tuple[str, str]],
    message: str,
    client_for: ClientFactory,
    concurrency: int,
    retry: RetryPolicy | None = None,
) -> list[Outcome]:
    """The boto3 transport: post ``message`` to every ``(connection_id, endpoint)`` with at most
    ``concurrency`` posts in flight. One client is made per endpoint and shared by the threads
    (boto3 clients are thread-safe)."""
    clients: dict[str, Any] = {}
    errors: dict[str, Exception] = {}
    jobs: list[tuple[Any, str]] = []
    outcomes: list[Outcome] = []
    for connection_id, endpoint in targets:
        if endpoint not in clients:
            try:
                clients[endpoint] = client_for(endpoint)
            except Exception as error:
                logger.warning(
                    "No Management API client for %s: %s", redact(endpoint), redact(error)
                )
                clients[endpoint] = None
                errors[endpoint] = error
        client = clients[endpoint]
        if client is None:
            outcomes.append(no_client(connection_id, errors.get(endpoint)))
        else:
            jobs.append((client, connection_id))
    workers = max(1, min(concurrency, len(jobs)))
    if workers == 1:
        outcomes.extend(post_one(client, cid, message, retry) for client, cid in jobs)
        return outcomes
    # Each thread takes the next job when it is free: memory stays at the job list, not one
    # future per connection.
    work = iter(jobs)
    lock = threading.Lock()

    def worker() -> list[Outcome]:
        done: list[Outcome] = []
        while True:
            with lock:
                job = next(work, None)
            if job is None:
                return done
            done.append(post_one(job[0], job[1], message, retry))

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-send") as pool:
        futures = [pool.submit(worker) for _ in range(workers)]
        for future in futures:
            outcomes.extend(future.result())
    return outcomes


# -- shared clients of the real factory -------------------------------------------------------

_clients: dict[tuple[Any, ...], tuple[Any, Any]] = {}
_clients_lock = threading.Lock()
_MAX_CACHED_CLIENTS = 64


def _client_key(endpoint: str, pool_size: int) -> tuple[tuple[Any, ...], Any]:
    """What a client made by ``aws.get_boto3_client`` depends on: the endpoint, the AWS settings,
    the boto3 session it would come from (``mock_aws`` replaces the default one) and the process."""
    session: Any = None
    if not conf.iam_profile:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
    key = (
        endpoint,
        pool_size,
        conf.iam_profile,
        conf.access_key_id,
        conf.secret_access_key,
        conf.region_name,
        id(session),
        os.getpid(),
    )
    return key, session


def shared_client(endpoint: str, pool_size: int) -> Any:
    """The ``apigatewaymanagementapi`` client of the real factory (``aws.get_boto3_client``,
    never a patched one: the cache is not keyed on the factory) for ``endpoint``, made once
    and reused (boto3 clients are thread-safe), with a connection pool of ``pool_size`` and
    botocore's own retries off (:class:`RetryPolicy` retries instead, visibly).

    The cache is dropped when settings change and is keyed on everything the client depends on.
    """
    key, session = _client_key(endpoint, pool_size)
    with _clients_lock:
        cached = _clients.get(key)
    if cached is not None:
        return cached[0]
    config = Config(max_pool_connections=pool_size, retries={"total_max_attempts": 1})
    client = aws.get_boto3_client("apigatewaymanagementapi", endpoint_url=endpoint, config=config)
    with _clients_lock:
        if len(_clients) >= _MAX_CACHED_CLIENTS:
            _clients.clear()
        # Keep the session referenced so its id cannot be reused by another one.
        return _clients.setdefault(key, (client, session))[0]


def clear_client_cache() -> None:
    """Forget the shared clients (done whenever settings change). What the lean transport knows
    of a client lives as long as the client, so it goes with it."""
    with _clients_lock:
        _clients.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "WEBSOCKETS" or setting.startswith("AWS_"):
        clear_client_cache()
