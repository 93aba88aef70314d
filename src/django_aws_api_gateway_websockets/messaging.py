"""Fan-out: one payload posted to many connections through the Management API.

This module knows nothing of models: the caller hands it ``(connection_id, endpoint_url)`` pairs
and a factory that returns a Management API client for an endpoint, so a project that patches
``models.get_boto3_client`` sees every post. Each connection gets an :class:`Outcome`; one
failure never stops delivery to the others.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from django.core.serializers.json import DjangoJSONEncoder

logger = logging.getLogger(__name__)

#: The largest message API Gateway accepts (128 KiB).
MAX_MESSAGE_SIZE = 131072

Status = Literal["sent", "gone", "failed"]
ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class Outcome:
    """What happened to one connection."""

    connection_id: str
    status: Status
    response: Any = None
    error: str = ""


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


def post_one(client: Any, connection_id: str, message: str) -> Outcome:
    """Post to one connection and classify the result."""
    try:
        response = client.post_to_connection(Data=message, ConnectionId=connection_id)
    except (ClientError, BotoCoreError, OSError) as error:
        code = error_code(error)
        if code == "GoneException":
            return Outcome(connection_id, "gone", error=code)
        logger.warning("post_to_connection failed for %s: %s", connection_id, code)
        return Outcome(connection_id, "failed", error=code)
    return Outcome(connection_id, "sent", response=response)


def fan_out(
    targets: Iterable[tuple[str, str]],
    message: str,
    client_for: ClientFactory,
    concurrency: int,
) -> list[Outcome]:
    """Post ``message`` to every ``(connection_id, endpoint)`` with at most ``concurrency`` posts
    in flight. One client is made per endpoint and shared by the threads (boto3 clients are
    thread-safe)."""
    pairs = list(targets)
    clients: dict[str, Any] = {}
    jobs: list[tuple[Any, str]] = []
    outcomes: list[Outcome] = []
    for connection_id, endpoint in pairs:
        if endpoint not in clients:
            try:
                clients[endpoint] = client_for(endpoint)
            except Exception as error:
                logger.warning("No Management API client for %s: %s", endpoint, error)
                clients[endpoint] = None
        client = clients[endpoint]
        if client is None:
            outcomes.append(Outcome(connection_id, "failed", error="NoClient"))
        else:
            jobs.append((client, connection_id))
    workers = max(1, min(concurrency, len(jobs)))
    if workers == 1:
        outcomes.extend(post_one(client, cid, message) for client, cid in jobs)
        return outcomes
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-send") as pool:
        outcomes.extend(pool.map(lambda job: post_one(job[0], job[1], message), jobs))
    return outcomes
