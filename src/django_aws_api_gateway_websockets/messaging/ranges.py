"""Broadcasts split by primary-key ranges, for task queues (:mod:`.tasks`, :mod:`.celery`).

A :class:`RangeBroadcast` names its recipients without listing them: the message, a range of
``WebSocketSession`` primary keys (``after_pk`` exclusive, ``last_pk`` inclusive) and the
queryset's own filter written as plain ``(field, lookup, value)`` triples. :func:`plan` finds
the range boundaries with one indexed query per chunk (never loading every id into one
process or one message); :func:`deliver_range` re-reads the range's rows that are still
connected and posts to them.

Retry safety: a chunk delivered twice (a worker died mid-chunk and the queue ran it again)
posts again to the rows still connected in its range, so those connections may receive the
message twice (at least once, never lost); rows found gone were marked disconnected by the
first run and are neither posted to nor marked again.

A queryset whose filter cannot be written as triples (joins, ``OR``, negation, subqueries,
slices) is split into chunks of explicit primary keys instead (``("pk", "in", [...])``), as
``Broadcast`` chunks always were.

:class:`RangeDispatcher` is the ``broadcast_dispatcher`` shape that asks for this: it has
``dispatch_queryset``, which :func:`.recipients.send_later` calls instead of chunking by ids.
By default each chunk is enqueued when the current transaction commits (nothing is enqueued
for a write that is rolled back).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.core.exceptions import FieldError
from django.db import transaction
from django.db.models import Max, Q
from django.db.models.expressions import Col
from django.db.models.lookups import Lookup
from django.db.models.sql.where import AND, WhereNode

from ..conf import conf
from .outcomes import Broadcast, SendResult
from .recipients import Sessions, deliver_targets, targets

Triple = tuple[str, str, Any]
_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class RangeBroadcast:
    """A message and the recipients a task delivers it to, as plain data (:meth:`to_dict`)."""

    message: str
    after_pk: int | None
    last_pk: int | None
    filters: tuple[Triple, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "after_pk": self.after_pk,
            "last_pk": self.last_pk,
            "filters": [list(f) for f in self.filters],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | RangeBroadcast) -> RangeBroadcast:
        """Read a job as a task received it; a malformed one raises ``ValueError``."""
        if isinstance(data, RangeBroadcast):
            return data
        try:
            filters = tuple((str(f), str(lookup), value) for f, lookup, value in data["filters"])
            after, last = data["after_pk"], data["last_pk"]
            if not all(isinstance(v, int | None) for v in (after, last)):
                raise TypeError("after_pk and last_pk must be integers or null")
            return cls(str(data["message"]), after, last, filters)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"Not a broadcast range job: {error}") from None


def _value(value: Any) -> Any:
    """``value`` if it travels as JSON unchanged (scalars, lists of scalars), else raise."""
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value):
        return list(value)
    raise TypeError(type(value).__name__)


def _triples(node: WhereNode, alias: str | None) -> Iterator[Triple]:
    if node.connector != AND or node.negated:
        raise TypeError("OR or NOT")
    for child in node.children:
        if isinstance(child, WhereNode):
            yield from _triples(child, alias)
        elif isinstance(child, Lookup) and isinstance(child.lhs, Col) and child.lhs.alias == alias:
            yield (child.lhs.target.attname, str(child.lookup_name), _value(child.rhs))
        else:
            raise TypeError(type(child).__name__)


def describe(sessions: Sessions) -> tuple[Triple, ...] | None:
    """The queryset's filter as ``(attname, lookup, value)`` triples on its own table, or
    ``None`` when it has other conditions (then chunks list primary keys)."""
    query = sessions.query
    if query.is_sliced or query.combinator:
        return None
    try:
        return tuple(_triples(query.where, query.base_table))
    except TypeError:
        return None


def _bounds(live: Sessions, size: int) -> Iterator[tuple[int | None, int]]:
    """``(after_pk, last_pk)`` per ``size`` rows of ``live``: one query per chunk, plus one."""
    keys = live.order_by("pk").values_list("pk", flat=True)
    after: int | None = None
    while True:
        window = keys if after is None else keys.filter(pk__gt=after)
        boundary = list(window[size - 1 : size])
        if boundary:
            last = int(boundary[0])
        else:
            top = window.aggregate(top=Max("pk"))["top"]
            if top is None:
                return
            last = int(top)
        yield after, last
        if not boundary:
            return
        after = last


def plan(sessions: Sessions, message: str, size: int) -> list[RangeBroadcast]:
    """The chunks of a broadcast of ``message`` to the connected rows of ``sessions``."""
    live = sessions.filter(connected=True)
    filters = describe(sessions)
    if filters is not None:
        return [RangeBroadcast(message, a, b, filters) for a, b in _bounds(live, size)]
    pks = list(live.order_by("pk").values_list("pk", flat=True))
    return [
        RangeBroadcast(message, None, None, (("pk", "in", pks[start : start + size]),))
        for start in range(0, len(pks), size)
    ]


def rows_of(sessions: Sessions, job: RangeBroadcast) -> Sessions:
    """The rows of ``sessions`` a job names (connected or not); ``ValueError`` for a filter on
    an unknown field or lookup."""
    fields = {f.attname: f for f in sessions.model._meta.concrete_fields}
    fields["pk"] = sessions.model._meta.pk
    condition = Q()
    for attname, lookup, value in job.filters:
        field = fields.get(attname)
        if field is None or field.get_lookup(lookup) is None:
            raise ValueError(f"Broadcast range filter not allowed: {attname}__{lookup}")
        condition &= Q(**{f"{attname}__{lookup}": value})
    if job.after_pk is not None:
        condition &= Q(pk__gt=job.after_pk)
    if job.last_pk is not None:
        condition &= Q(pk__lte=job.last_pk)
    try:
        return sessions.filter(condition)
    except (FieldError, TypeError, ValueError) as error:
        raise ValueError(f"Broadcast range filter not usable: {error}") from None


def deliver_range(sessions: Sessions, job: RangeBroadcast | Mapping[str, Any]) -> SendResult:
    """Post a chunk's message to its rows that are still connected; mark the gone ones."""
    chunk = RangeBroadcast.from_dict(job)
    found, missing = targets(rows_of(sessions, chunk))
    return deliver_targets(sessions, found, chunk.message, missing)


class RangeDispatcher:
    """A ``broadcast_dispatcher`` that hands each chunk's ``to_dict()`` to ``enqueue``.

    ``send_message_later`` then returns what ``enqueue`` returned per chunk, or ``None`` for
    chunks waiting for the transaction to commit (``broadcast_on_commit``, the default).
    """

    def __init__(self, enqueue: Callable[[dict[str, Any]], Any]) -> None:
        self.enqueue = enqueue

    def dispatch_queryset(self, sessions: Sessions, message: str) -> list[Any]:
        jobs = plan(sessions, message, conf.broadcast_chunk_size)
        using = sessions.db
        if conf.broadcast_on_commit and transaction.get_connection(using).in_atomic_block:
            for job in jobs:
                transaction.on_commit(partial(self.enqueue, job.to_dict()), using=using)
            return [None] * len(jobs)
        return [self.enqueue(job.to_dict()) for job in jobs]

    def __call__(self, job: Broadcast) -> Any:
        """An id-list :class:`Broadcast` (called directly) as one chunk."""
        ids = list(job.connection_ids)
        return self.enqueue(
            RangeBroadcast(job.message, None, None, (("connection_id", "in", ids),)).to_dict()
        )
