"""An outbox for pushes: what ``send_message`` would have posted, recorded instead of sent.

``capture_messages()`` replaces ``models.get_boto3_client`` (the package's patch point) for
Management API clients and records every post; ``outbox.make_gone(id)`` makes later posts to
that connection fail as AWS does for a closed socket. Other services still reach the factory that
was in place::

    with capture_messages() as outbox:
        session.send_message({"hello": "world"})
    assert outbox.data_for("conn-1") == [{"hello": "world"}]

The pytest plugin's ``ws_outbox`` fixture is this, for the length of a test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .. import aws, models


@dataclass
class SentMessage:
    """One post recorded by :func:`capture_messages`."""

    endpoint: str
    connection_id: str
    data: bytes

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Outbox:
    """What ``send_message`` posted, and which connections answer as gone."""

    messages: list[SentMessage] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def make_gone(self, *connection_ids: str) -> None:
        """Posts to these connections will raise ``GoneException`` as AWS does."""
        self.gone.update(connection_ids)

    def data_for(self, connection_id: str) -> list[Any]:
        """The decoded messages posted to ``connection_id``, in order."""
        return [m.json() for m in self.messages if m.connection_id == connection_id]

    def clear(self) -> None:
        self.messages.clear()


def _gone_error(connection_id: str) -> ClientError:
    response: Any = {
        "Error": {"Code": "GoneException", "Message": f"{connection_id} is gone"},
        "ResponseMetadata": {"HTTPStatusCode": 410},
    }
    return ClientError(response, "PostToConnection")


class _OutboxClient:
    """Stands in for a boto3 ``apigatewaymanagementapi`` client: records into every active
    outbox; a connection made gone in any of them answers ``GoneException``."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    @staticmethod
    def _outboxes(connection_id: str) -> list[Outbox]:
        with _capture_lock:
            outboxes = list(_active_outboxes)
        if any(connection_id in outbox.gone for outbox in outboxes):
            raise _gone_error(connection_id)
        return outboxes

    def post_to_connection(self, *, Data: bytes | str, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        data = Data.encode() if isinstance(Data, str) else bytes(Data)
        for outbox in self._outboxes(ConnectionId):
            with outbox._lock:
                outbox.messages.append(SentMessage(self.endpoint, ConnectionId, data))
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}

    def get_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        self._outboxes(ConnectionId)
        return {"ConnectionId": ConnectionId, "identity": {}}

    def delete_connection(self, *, ConnectionId: str) -> dict[str, Any]:  # noqa: N803
        for outbox in self._outboxes(ConnectionId):
            outbox.gone.add(ConnectionId)
        return {}


# One patch of models.get_boto3_client serves every capture that is active, whichever thread
# entered it: nested or concurrent captures (tests that race threads) restore the factory they
# found only when the last one exits.
_capture_lock = threading.Lock()
_active_outboxes: list[Outbox] = []
_replaced_factory: list[Any] = []


@aws.behaves_like_aws  # a gateway never created is reported as failed, as on AWS
def _capturing_factory(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    if service == "apigatewaymanagementapi":
        return _OutboxClient(str(kwargs.get("endpoint_url", "")))
    return _replaced_factory[0](service, **kwargs)


@contextmanager
def capture_messages() -> Iterator[Outbox]:
    """Record Management API posts instead of sending them (other services still reach the
    factory that was in place). Safe to nest and to enter from several threads at once."""
    outbox = Outbox()
    with _capture_lock:
        if not _active_outboxes:
            _replaced_factory[:] = [models.get_boto3_client]
            models.get_boto3_client = _capturing_factory
        _active_outboxes.append(outbox)
    try:
        yield outbox
    finally:
        with _capture_lock:
            _active_outboxes.remove(outbox)
            if not _active_outboxes:
                models.get_boto3_client = _replaced_factory.pop()
