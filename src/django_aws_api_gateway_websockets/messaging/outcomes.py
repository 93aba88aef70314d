"""What every transport shares: the message, the outcome of a post, and the retry policy.

:func:`encode` turns data into the message (and enforces API Gateway's 128 KiB limit);
:class:`Outcome` is what happened to one connection and :class:`SendResult` to all of them;
:class:`Broadcast` is a message and its recipients as a background worker receives them.
:func:`is_gone` and :func:`is_retryable` read an error, :class:`RetryPolicy` says how long to
wait before the next try, and :func:`call_with_retries` is the one synchronous retry loop (the
boto3 transport and ``reconcile`` use it; the lean transport's asynchronous loop asks the same
:meth:`RetryPolicy.retries`).

This module imports neither transport: both import it.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from django.core.serializers.json import DjangoJSONEncoder

from ..aws import error_code, http_status
from ..conf import conf
from ..redaction import redact

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The largest message API Gateway accepts (128 KiB).
MAX_MESSAGE_SIZE = 131072

Status = Literal["sent", "gone", "failed"]

#: Error codes API Gateway (and botocore) use for throttling.
THROTTLING_CODES = frozenset(
    {"LimitExceededException", "TooManyRequestsException", "ThrottlingException", "Throttling"}
)

#: Connection failures retried: the connection could not be made, or broke before an answer.
#: Not ``ReadTimeoutError``: the post may have been delivered, and a retry would repeat it.
RETRIED_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ConnectionClosedError,
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


def is_gone(error: BaseException) -> bool:
    """API Gateway's answer for a closed connection: ``GoneException`` (HTTP 410)."""
    return error_code(error) == "GoneException" or http_status(error) == 410


def is_retryable(error: BaseException) -> bool:
    """Throttling (429) and connections that broke or could not be made are worth retrying;
    anything else (403, 413, a read timeout after the request went out...) is not."""
    if isinstance(error, ClientError):
        return error_code(error) in THROTTLING_CODES or http_status(error) == 429
    return isinstance(error, RETRIED_CONNECTION_ERRORS)


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

    def retries(self, error: BaseException, attempt: int) -> bool:
        """Whether attempt number ``attempt``, which ended with ``error``, is tried again."""
        return attempt < self.max_attempts and is_retryable(error)


class Tried(NamedTuple, Generic[T]):
    """How :func:`call_with_retries` ended: ``value`` (``error`` is ``None``), or the last
    ``error``; ``attempts`` counts the calls made."""

    value: T | None
    error: BaseException | None
    attempts: int


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> Tried[T]:
    """Call ``call`` until it returns, or raises an error (of the ``catch`` types) that
    ``policy`` does not retry, sleeping ``policy.delay`` between tries. Errors outside
    ``catch`` propagate."""
    attempt = 0
    while True:
        attempt += 1
        try:
            value = call()
        except catch as error:
            if policy.retries(error, attempt):
                time.sleep(policy.delay(attempt))
                continue
            return Tried(None, error, attempt)
        return Tried(value, None, attempt)


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


class EndpointClients:
    """One Management API client per endpoint, made by ``make`` on first use. A failure to make
    one is logged once and remembered: every connection of that endpoint then fails with it
    (:meth:`failure`) while the other endpoints' connections go on."""

    def __init__(self, make: Callable[[str], Any]) -> None:
        self._make = make
        self._clients: dict[str, Any] = {}
        self._errors: dict[str, Exception] = {}

    def get(self, endpoint: str) -> Any:
        """The endpoint's client, or ``None`` when it could not be made."""
        if endpoint not in self._clients:
            try:
                self._clients[endpoint] = self._make(endpoint)
            except Exception as error:
                logger.warning(
                    "No Management API client for %s: %s", redact(endpoint), redact(error)
                )
                self._clients[endpoint] = None
                self._errors[endpoint] = error
        return self._clients[endpoint]

    def failure(self, connection_id: str, endpoint: str) -> Outcome:
        """The outcome of a connection whose endpoint got no client."""
        error = self._errors.get(endpoint)
        return Outcome(
            connection_id, "failed", error="NoClient", detail=str(error or ""), exception=error
        )
