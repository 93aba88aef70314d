"""From session rows to posts and back: who receives a message, and what their outcomes change.

The models' send methods delegate here (``WebSocketSession.objects.send_message``, a queryset's
``send_message`` and ``send_message_later``, a session's ``send_message``,
``models.deliver_broadcast``). The rows come in as a queryset (or a session) argument: this
module never imports ``models``, which imports ``messaging``.

A send reads the connected rows with their gateways' address fields in one query, turns each
gateway into its Management API endpoint once, posts through :func:`.delivery.deliver`, and
marks the connections API Gateway reports gone disconnected in one update per 500 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.db.models import QuerySet
from django.utils.module_loading import import_string

from .. import aws
from ..aws import Gateway, management_endpoint
from ..conf import conf
from .delivery import deliver
from .outcomes import (
    Broadcast,
    Outcome,
    RetryPolicy,
    SendResult,
    call_with_retries,
    classify,
    encode,
    is_gone,
)

#: Connection ids per statement, when re-reading a broadcast's recipients and when
#: ``WebSocketSession.mark_disconnected`` updates rows (below SQLite's variable cap).
ID_BATCH = 500

Sessions = QuerySet[Any]
Dispatcher = Callable[[Broadcast], Any]


class Session(Protocol):
    """What :func:`send_to_session` reads and writes of a ``WebSocketSession``."""

    connection_id: str
    connected: bool

    @property
    def api_gateway(self) -> Gateway | None: ...

    @classmethod
    def mark_disconnected(cls, connection_ids: list[str]) -> int: ...


@dataclass(frozen=True, slots=True)
class _GatewayValues:
    """A gateway's address fields as read with its sessions (what ``management_endpoint``
    reads), without building a model instance per gateway."""

    api_name: str
    api_id: str
    api_endpoint: str
    stage_name: str
    domain_name: str = ""


def targets(sessions: Sessions) -> tuple[list[tuple[str, str]], list[Outcome]]:
    """``(connection_id, endpoint)`` of the connected rows, read with their gateways in one
    query, and a failed outcome for each row without a usable gateway."""
    rows = (
        sessions.filter(connected=True)
        .values_list(
            "connection_id",
            "api_gateway_id",
            "api_gateway__api_name",
            "api_gateway__api_id",
            "api_gateway__api_endpoint",
            "api_gateway__stage_name",
        )
        .iterator(chunk_size=2000)
    )
    endpoints: dict[int, str | None] = {}
    found: list[tuple[str, str]] = []
    missing: list[Outcome] = []
    for connection_id, gateway_id, name, api_id, api_endpoint, stage in rows:
        if gateway_id is not None and gateway_id not in endpoints:
            try:
                gateway = _GatewayValues(name, api_id, api_endpoint, stage)
                endpoints[gateway_id] = management_endpoint(gateway)
            except (ValueError, RuntimeError):
                endpoints[gateway_id] = None
        endpoint = endpoints.get(gateway_id) if gateway_id is not None else None
        if endpoint is None:
            missing.append(Outcome(connection_id, "failed", error="NoEndpoint"))
        else:
            found.append((connection_id, endpoint))
    return found, missing


def deliver_targets(
    sessions: Sessions,
    found: list[tuple[str, str]],
    message: str,
    outcomes: list[Outcome],
    max_workers: int | None = None,
) -> SendResult:
    """Post ``message`` to ``found``, add the outcomes to ``outcomes`` and mark the gone rows
    of ``sessions``' model disconnected."""
    outcomes.extend(deliver(found, message, max_workers=max_workers))
    result = SendResult(outcomes)
    sessions.model.mark_disconnected(result.gone)
    return result


def send(sessions: Sessions, message: str, max_workers: int | None = None) -> SendResult:
    """Post the encoded ``message`` to every connected row of ``sessions`` (at most
    ``max_workers`` at once on the boto3 path, when given)."""
    if max_workers is not None and (
        not isinstance(max_workers, int) or isinstance(max_workers, bool) or max_workers < 1
    ):
        raise ValueError(f"max_workers must be a positive integer, not {max_workers!r}")
    found, outcomes = targets(sessions)
    return deliver_targets(sessions, found, message, outcomes, max_workers)


def send_later(sessions: Sessions, data: Any, dispatcher: Dispatcher) -> list[Any]:
    """Encode ``data`` now, read the connected rows now, and hand ``dispatcher`` one
    :class:`Broadcast` per ``broadcast_chunk_size`` of them; what it returned, per chunk.

    A dispatcher with a ``dispatch_queryset(sessions, message)`` method (such as
    :class:`.ranges.RangeDispatcher`) is handed the queryset and the message instead, and
    chunks them itself."""
    message = encode(data)
    whole = getattr(dispatcher, "dispatch_queryset", None)
    if whole is not None:
        return list(whole(sessions, message))
    # In primary-key order: the chunks are the same for the same rows (a database's unordered
    # read can change with its physical order, e.g. PostgreSQL after updates).
    ids = list(
        sessions.filter(connected=True).order_by("pk").values_list("connection_id", flat=True)
    )
    size = conf.broadcast_chunk_size
    return [
        dispatcher(Broadcast(message, tuple(ids[start : start + size])))
        for start in range(0, len(ids), size)
    ]


def deliver_broadcast(sessions: Sessions, job: Broadcast | Mapping[str, Any]) -> SendResult:
    """Deliver ``job`` to those of its connections that are still connected rows of
    ``sessions``."""
    broadcast = Broadcast.from_dict(job)
    ids = broadcast.connection_ids
    found: list[tuple[str, str]] = []
    outcomes: list[Outcome] = []
    for start in range(0, len(ids), ID_BATCH):
        more, missing = targets(sessions.filter(connection_id__in=ids[start : start + ID_BATCH]))
        found.extend(more)
        outcomes.extend(missing)
    return deliver_targets(sessions, found, broadcast.message, outcomes)


def dispatcher(default: Dispatcher) -> Dispatcher:
    """``WEBSOCKETS["broadcast_dispatcher"]`` imported, else ``default``."""
    path = conf.broadcast_dispatcher
    if path is None:
        return default
    return cast("Dispatcher", import_string(path))


def send_to_session(session: Session, data: Any) -> Any:
    """Post ``data`` to one session; the response, or ``None`` (and the row marked
    disconnected) when API Gateway says the connection is gone. Other failures raise."""
    message = encode(data)
    if session.api_gateway is None:
        raise ValueError(f"WebSocketSession {session.connection_id} has no API Gateway")
    endpoint = management_endpoint(session.api_gateway)
    [outcome] = deliver([(session.connection_id, endpoint)], message)
    if outcome.status == "sent":
        return outcome.response
    if outcome.status == "failed":
        if outcome.exception is not None:
            raise outcome.exception
        raise RuntimeError(f"post_to_connection failed: {outcome.error}")  # pragma: no cover
    session.connected = False
    type(session).mark_disconnected([session.connection_id])
    return None


def close(sessions: Sessions) -> SendResult:
    """``DeleteConnection`` on every connected row of ``sessions`` (one query reads them), then
    mark them disconnected. A connection API Gateway already reports gone counts as closed
    (``gone``); other failures are reported per connection, never raised, and leave the row."""
    found, outcomes = targets(sessions)
    policy = RetryPolicy.from_settings()
    clients: dict[str, Any] = {}
    for connection_id, endpoint in found:
        if endpoint not in clients:
            clients[endpoint] = aws.client("apigatewaymanagementapi", endpoint_url=endpoint)
        tried = call_with_retries(_deleter(clients[endpoint], connection_id), policy)
        if tried.error is None:
            outcomes.append(Outcome(connection_id, "sent", response=tried.value))
        elif is_gone(tried.error):
            outcomes.append(Outcome(connection_id, "gone", attempts=tried.attempts))
        else:
            outcomes.append(classify(connection_id, tried.error, tried.attempts))
    result = SendResult(outcomes)
    sessions.model.mark_disconnected([o.connection_id for o in outcomes if o.status != "failed"])
    return result


def _deleter(client: Any, connection_id: str) -> Callable[[], Any]:
    def delete() -> Any:
        return client.delete_connection(ConnectionId=connection_id)

    return delete
