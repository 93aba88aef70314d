"""Fan-out: one payload posted to many connections through the Management API.

This module knows nothing of models. The caller hands it ``(connection_id, endpoint_url)`` pairs
and the client factory it found at ``models.get_boto3_client`` at call time, so a project that
patches that attribute sees every post. Each connection gets an :class:`Outcome`; one failure
never stops delivery to the others.

Two transports sit behind :func:`deliver`:

* the **boto3 transport**: one shared ``apigatewaymanagementapi`` client per endpoint and a pool
  of ``send_concurrency`` threads posting through it. It is the only one used when the factory
  has been replaced (a mock, ``testing.capture_messages``), so mocks see every call;
* the **lean transport** (:mod:`.transport`): requests signed by botocore's SigV4 signer with the
  signing key derived once, kept-alive HTTP/1.1 connections and up to ``lean_in_flight``
  requests in flight on one event loop. It takes its endpoint, region, credentials, TLS settings
  and timeouts from a client made by the real factory, so it honours them exactly as boto3
  does, and steps aside whenever it cannot (proxies, client certificates, another signature
  version, an active botocore interceptor such as moto's ``mock_aws``).

``WEBSOCKETS["send_transport"]`` chooses: ``"auto"`` (default: lean whenever it can be used),
``"lean"`` (the same, logging why when it cannot) or ``"boto3"``.

Throttling (429 ``LimitExceededException``) and broken connections are retried with capped
exponential backoff and full jitter, on both transports.
"""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed
from django.dispatch import receiver

from . import aws
from .conf import conf

if TYPE_CHECKING:
    from .transport import LeanRoute

logger = logging.getLogger(__name__)

#: The largest message API Gateway accepts (128 KiB).
MAX_MESSAGE_SIZE = 131072

Status = Literal["sent", "gone", "failed"]
ClientFactory = Callable[[str], Any]

#: Error codes API Gateway (and botocore) use for throttling.
THROTTLING_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "ThrottlingException", "Throttling"}
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one connection.

    ``status`` is ``"sent"`` (``response`` holds the Management API's response), ``"gone"``
    (API Gateway answered 410: the socket is closed) or ``"failed"`` (``error`` is the AWS error
    code or the exception's type, ``detail`` its message). ``attempts`` counts the posts made,
    retries included.
    """

    connection_id: str
    status: Status
    response: Any = None
    error: str = ""
    attempts: int = 1
    detail: str = ""
    exception: BaseException | None = field(default=None, repr=False, compare=False)


class SendResult(list[Any]):
    """The responses of the successful posts (what ``send_message`` always returned), with the
    outcome of every connection in :attr:`outcomes`."""

    def __init__(self, outcomes: Sequence[Outcome] = ()) -> None:
        super().__init__(o.response for o in outcomes if o.status == "sent")
        self.outcomes: list[Outcome] = list(outcomes)

    def _ids(self, status: Status) -> list[str]:
        return [o.connection_id for o in self.outcomes if o.status == status]

    @property
    def sent(self) -> list[str]:
        return self._ids("sent")

    @property
    def gone(self) -> list[str]:
        return self._ids("gone")

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def retried(self) -> int:
        """Posts made beyond the first per connection (throttling, broken connections)."""
        return sum(o.attempts - 1 for o in self.outcomes)

    def summary(self) -> dict[str, int]:
        """Counts per status, e.g. ``{"sent": 998, "gone": 2, "failed": 0}``."""
        counts = {"sent": 0, "gone": 0, "failed": 0}
        for outcome in self.outcomes:
            counts[outcome.status] += 1
        return counts


@dataclass(frozen=True)
class Broadcast:
    """A message and the connections it goes to, as handed to a background worker.

    It travels as plain data (:meth:`to_dict` / :meth:`from_dict` give a JSON-safe dict), so any
    task queue can carry it; the worker calls ``models.deliver_broadcast(job)``.
    """

    message: str
    connection_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "connection_ids": list(self.connection_ids)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Broadcast) -> Broadcast:
        if isinstance(data, Broadcast):
            return data
        return cls(str(data["message"]), tuple(str(c) for c in data["connection_ids"]))


def encode(data: Any) -> str:
    """JSON-encode ``data`` and enforce the 128 KiB limit with a ``ValueError``."""
    message = json.dumps(data, cls=DjangoJSONEncoder)
    size = len(message.encode("utf-8"))
    if size > MAX_MESSAGE_SIZE:
        raise ValueError(f"Message exceeds AWS limit: {size} bytes (max: {MAX_MESSAGE_SIZE} bytes)")
    return message


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError``, or the exception's type name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def _http_status(error: BaseException) -> int | None:
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def is_gone(error: BaseException) -> bool:
    """API Gateway's answer for a closed connection: ``GoneException`` (HTTP 410)."""
    return error_code(error) == "GoneException" or _http_status(error) == 410


def is_retryable(error: BaseException) -> bool:
    """Throttling (429) and connections that broke or could not be made are worth retrying;
    anything else (403, 413, a read timeout after the request went out...) is not."""
    if isinstance(error, ClientError):
        return error_code(error) in THROTTLING_CODES or _http_status(error) == 429
    return isinstance(error, RETRIED_CONNECTION_ERRORS)


#: Connection failures retried: the connection could not be made, or broke before an answer.
#: Not ``ReadTimeoutError``: the post may have been delivered, and a retry would repeat it.
RETRIED_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ConnectionClosedError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter: before retry ``n`` (1-based) wait a random
    time in ``[0, min(max_delay, base_delay * 2**(n-1))]``."""

    max_attempts: int = 4
    base_delay: float = 0.05
    max_delay: float = 2.0

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(conf.send_max_attempts, conf.send_retry_base_delay, conf.send_retry_max_delay)

    def delay(self, retry: int) -> float:
        cap = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return random.uniform(0, cap)  # noqa: S311 - jitter, not cryptography


def classify(connection_id: str, error: BaseException, attempts: int) -> Outcome:
    """The :class:`Outcome` of a post that ended with ``error``."""
    code = error_code(error)
    if is_gone(error):
        return Outcome(connection_id, "gone", error="GoneException", attempts=attempts)
    logger.warning("post_to_connection failed for %s: %s", connection_id, code)
    return Outcome(
        connection_id,
        "failed",
        error=code,
        attempts=attempts,
        detail=str(error)[:500],
        exception=error,
    )


def _no_client(connection_id: str, error: Exception | None) -> Outcome:
    return Outcome(
        connection_id, "failed", error="NoClient", detail=str(error or ""), exception=error
    )


# -- the boto3 transport --------------------------------------------------------------------


def post_one(
    client: Any, connection_id: str, message: str, retry: RetryPolicy | None = None
) -> Outcome:
    """Post to one connection through a boto3 client, retrying throttling and broken
    connections per ``retry``, and classify the result."""
    policy = retry or RetryPolicy(max_attempts=1)
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.post_to_connection(Data=message, ConnectionId=connection_id)
        except Exception as error:  # one connection's failure never stops the others
            if attempt < policy.max_attempts and is_retryable(error):
                time.sleep(policy.delay(attempt))
                continue
            return classify(connection_id, error, attempt)
        return Outcome(connection_id, "sent", response=response, attempts=attempt)


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
                logger.warning("No Management API client for %s: %s", endpoint, error)
                clients[endpoint] = None
                errors[endpoint] = error
        client = clients[endpoint]
        if client is None:
            outcomes.append(_no_client(connection_id, errors.get(endpoint)))
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
    """The ``apigatewaymanagementapi`` client of the real factory for ``endpoint``, made once
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
    """Forget the shared clients and lean routes (done whenever settings change)."""
    with _clients_lock:
        _clients.clear()
        _routes.clear()


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "WEBSOCKETS" or setting.startswith("AWS_"):
        clear_client_cache()


# -- choosing a transport -------------------------------------------------------------------

_routes: dict[int, tuple[Any, LeanRoute | None]] = {}


def _lean_route(client: Any, endpoint: str) -> LeanRoute | None:
    """The lean transport's view of a shared client, or ``None`` when it cannot honour it."""
    from . import transport

    with _clients_lock:
        cached = _routes.get(id(client))
    if cached is not None and cached[0] is client:
        route = cached[1]
    else:
        route = transport.LeanRoute.from_client(client, explain=conf.send_transport == "lean")
        with _clients_lock:
            _routes[id(client)] = (client, route)
    # Interceptors (moto's mock_aws, for one) can be switched on after the client was made.
    if route is not None and transport.intercepted(client):
        if conf.send_transport == "lean":
            logger.info("Lean transport not used for %s: a botocore interceptor is on", endpoint)
        return None
    if route is not None and transport.green_threads():
        if conf.send_transport == "lean":
            logger.info("Lean transport not used: gevent/eventlet patched threading")
        return None
    return route


def deliver(
    targets: Iterable[tuple[str, str]], message: str, factory: Callable[..., Any]
) -> list[Outcome]:
    """Post ``message`` to every ``(connection_id, endpoint)``; one :class:`Outcome` each.

    ``factory`` is the value of ``models.get_boto3_client`` at call time. Anything but the
    package's own function (a user's patch, ``capture_messages``) is called exactly as before,
    once per endpoint, and every post goes through the client it returns. The real function
    gets the lean transport where it can be used (``send_transport``), else shared boto3
    clients.
    """
    pairs = list(targets)
    retry = RetryPolicy.from_settings()
    concurrency = conf.send_concurrency
    if factory is not aws.get_boto3_client:

        def client_for(endpoint: str) -> Any:
            return factory("apigatewaymanagementapi", endpoint_url=endpoint)

        return fan_out(pairs, message, client_for, concurrency, retry)

    from . import transport

    use_lean = conf.send_transport != "boto3"
    lean: list[tuple[str, LeanRoute]] = []
    boto: list[tuple[str, str]] = []
    outcomes: list[Outcome] = []
    routes: dict[str, LeanRoute | None] = {}
    clients: dict[str, Any] = {}
    errors: dict[str, Exception] = {}
    for connection_id, endpoint in pairs:
        if endpoint not in clients:
            try:
                clients[endpoint] = shared_client(endpoint, concurrency)
            except Exception as error:
                logger.warning("No Management API client for %s: %s", endpoint, error)
                clients[endpoint] = None
                errors[endpoint] = error
            client = clients[endpoint]
            routes[endpoint] = _lean_route(client, endpoint) if use_lean and client else None
        if clients[endpoint] is None:
            outcomes.append(_no_client(connection_id, errors.get(endpoint)))
            continue
        route = routes[endpoint]
        if route is not None:
            lean.append((connection_id, route))
        else:
            boto.append((connection_id, endpoint))
    pending = transport.send_async(lean, message, conf.lean_in_flight, retry) if lean else None
    if boto:
        outcomes.extend(fan_out(boto, message, clients.__getitem__, concurrency, retry))
    if pending is not None:
        outcomes.extend(pending.result())
    return outcomes


def transport_for(endpoint: str, factory: Callable[..., Any]) -> str:
    """``"lean"`` or ``"boto3"``: which transport :func:`deliver` would use for ``endpoint``."""
    if factory is not aws.get_boto3_client or conf.send_transport == "boto3":
        return "boto3"
    client = shared_client(endpoint, conf.send_concurrency)
    return "lean" if _lean_route(client, endpoint) is not None else "boto3"
