"""History: per channel, gap-free offsets, an epoch, and the recent publications.

:func:`publish` writes in the caller's transaction (the stream's counter is incremented by one
``UPDATE``, which holds the row's lock until the transaction ends, so concurrent publishers get
consecutive, unique offsets) and fans the frame out when the transaction commits. A subscriber
recovering ``since={offset, epoch}`` gets every missed publication in order, or
``recovered: false``: never a partial gap.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import OperationalError, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from .. import messaging
from ..models import ChannelPublication, ChannelStream, WebSocketSession
from . import frames
from .names import Namespace, is_channel, namespace_of

logger = logging.getLogger(__name__)

#: Publications deleted per statement when trimming (inline, after each publish, and by
#: :func:`trim_all`).
TRIM_BATCH = 32
#: Attempts after a deadlock, when :func:`publish` owns its transaction.
DEADLOCK_RETRIES = 5


@dataclass(frozen=True)
class Position:
    """Where a stream is: its last offset and its epoch."""

    offset: int
    epoch: str

    def as_dict(self) -> dict[str, Any]:
        return {"offset": self.offset, "epoch": self.epoch}


def new_epoch() -> str:
    return secrets.token_urlsafe(6)


def _namespace(channel: str) -> Namespace:
    namespace = namespace_of(channel) if is_channel(channel) else None
    if namespace is None:
        raise ValueError(f"{channel!r} is not a channel of a configured namespace")
    return namespace


def publish(
    channel: str, data: Any, *, history: bool | None = None, exclude: Any = None
) -> Position | None:
    """Publish ``data`` to ``channel``'s connections (primary or subscribed; ``exclude`` as
    for ``in_channel``), when the current transaction commits (at once outside one).

    With history (``history=None``: when the namespace keeps any; ``True`` requires it), the
    publication is stored in the caller's transaction with the next offset, the stream is
    trimmed, and its :class:`Position` is returned; the frame carries ``offset`` and ``epoch``.
    ``ValueError`` for an unknown namespace, a namespace without history when ``history=True``,
    or a frame above the message size limit (checked before anything is written).
    """
    namespace = _namespace(channel)
    store = namespace.history if history is None else history
    if store and not namespace.history:
        raise ValueError(f"the namespace of {channel!r} keeps no history (history_size 0)")
    # Size-check the largest frame this can become before writing anything.
    messaging.encode(frames.publication(channel, data, 2**63, "e" * 16))
    alias = router.db_for_write(ChannelStream)
    # Our own transaction (the caller is in autocommit) is retried after a deadlock: MariaDB's
    # gap locks can deadlock publishers racing to create a channel's stream.
    retries = 0 if transaction.get_connection(alias).in_atomic_block else DEADLOCK_RETRIES
    for attempt in range(retries + 1):
        try:
            return _publish(channel, data, namespace, store, exclude, alias)
        except OperationalError as error:
            if attempt == retries or "deadlock" not in str(error).lower():
                raise
            logger.info("publish to %s: deadlock, retrying", channel)
    raise AssertionError("unreachable")  # pragma: no cover


def _publish(
    channel: str, data: Any, namespace: Namespace, store: bool, exclude: Any, alias: str
) -> Position | None:
    position = None
    with transaction.atomic(using=alias):
        if store:
            stream_id, position = _next_offset(channel)
            ChannelPublication.objects.create(
                stream_id=stream_id, offset=position.offset, data=data
            )
            trim(stream_id, position.offset, namespace)
        offset = position.offset if position else None
        frame = frames.publication(channel, data, offset, position.epoch if position else None)

        def fan_out() -> None:
            WebSocketSession.objects.in_channel(channel, exclude=exclude).send_message_later(frame)

        transaction.on_commit(fan_out, using=alias, robust=True)
    return position


def _next_offset(channel: str) -> tuple[int, Position]:
    """Increment the stream's offset (creating the stream when it has none) and read it back,
    inside the caller's transaction: the row stays locked until it ends."""
    streams = ChannelStream.objects.filter(channel=channel)
    if not streams.update(top_offset=F("top_offset") + 1):
        ChannelStream.objects.bulk_create(
            [ChannelStream(channel=channel, epoch=new_epoch())], ignore_conflicts=True
        )
        streams.update(top_offset=F("top_offset") + 1)
    stream_id, offset, epoch = streams.values_list("pk", "top_offset", "epoch").get()
    return stream_id, Position(offset, epoch)


def positions(channels: Iterable[str]) -> dict[str, tuple[int, Position]]:
    """``{channel: (stream id, position)}``, creating the streams that do not exist yet (two
    statements), so every subscriber of a history channel holds a real epoch."""
    wanted = sorted(set(channels))
    if not wanted:
        return {}
    ChannelStream.objects.bulk_create(
        [ChannelStream(channel=c, epoch=new_epoch()) for c in wanted], ignore_conflicts=True
    )
    rows = ChannelStream.objects.filter(channel__in=wanted)
    return {
        channel: (pk, Position(offset, epoch))
        for pk, channel, offset, epoch in rows.values_list("pk", "channel", "top_offset", "epoch")
    }


def page_positions(channels: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """``{channel: {"offset": n, "epoch": e}}`` of the history channels among ``channels``
    (others, and values that are not channel names, are left out): what a page rendered now
    hands its client, so the first ``subscribe`` asks for exactly what happened since."""
    wanted = []
    for channel in channels:
        namespace = namespace_of(channel) if is_channel(channel) else None
        if namespace is not None and namespace.history:
            wanted.append(channel)
    return {channel: position.as_dict() for channel, (_, position) in positions(wanted).items()}


def recover(
    stream_id: int, namespace: Namespace, since: Position, current: Position
) -> tuple[bool, list[dict[str, Any]]]:
    """The publications after ``since``, in order, and ``True``; or ``False`` and nothing when
    they cannot all be given: another epoch, an offset beyond the stream's, more missed than
    ``recover_max``, or any of them trimmed (by size or age)."""
    if since.epoch != current.epoch or since.offset > current.offset:
        return False, []
    missing = current.offset - since.offset
    if missing == 0:
        return True, []
    if missing > namespace.recover_max:
        return False, []
    cutoff = timezone.now() - timedelta(seconds=namespace.history_ttl_seconds)
    rows = list(
        ChannelPublication.objects.filter(
            stream_id=stream_id,
            offset__gt=since.offset,
            offset__lte=current.offset,
            created_on__gte=cutoff,
        )
        .order_by("offset")
        .values_list("offset", "data")
    )
    # Offsets are unique: as many rows as missing offsets, in range, means none is absent.
    if len(rows) != missing:
        return False, []
    return True, [{"offset": offset, "data": data} for offset, data in rows]


def latest(stream_id: int, namespace: Namespace, current: Position) -> list[dict[str, Any]]:
    """The stream's latest publication while it is kept (``latest_value`` channels)."""
    if current.offset == 0:
        return []
    cutoff = timezone.now() - timedelta(seconds=namespace.history_ttl_seconds)
    rows = ChannelPublication.objects.filter(
        stream_id=stream_id, offset=current.offset, created_on__gte=cutoff
    ).values_list("offset", "data")
    return [{"offset": offset, "data": data} for offset, data in rows]


def trim(stream_id: int, top: int, namespace: Namespace) -> int:
    """Delete up to :data:`TRIM_BATCH` of the stream's oldest publications beyond the
    namespace's size or age; the number deleted."""
    cutoff = timezone.now() - timedelta(seconds=namespace.history_ttl_seconds)
    expired = ChannelPublication.objects.filter(stream_id=stream_id).filter(
        Q(offset__lte=top - namespace.history_size) | Q(created_on__lt=cutoff)
    )
    pks = list(expired.order_by("offset").values_list("pk", flat=True)[:TRIM_BATCH])
    if pks:
        ChannelPublication.objects.filter(pk__in=pks).delete()
    return len(pks)


def trim_all() -> int:
    """Trim every stream to its namespace's size and age, in batches; a stream whose namespace
    keeps no history any more is deleted. The publications deleted (streams count as theirs)."""
    deleted = 0
    for pk, channel, top in ChannelStream.objects.values_list("pk", "channel", "top_offset"):
        namespace = namespace_of(channel) if is_channel(channel) else None
        if namespace is None or not namespace.history:
            deleted += ChannelPublication.objects.filter(stream_id=pk).count()
            ChannelStream.objects.filter(pk=pk).delete()
            continue
        while (count := trim(pk, top, namespace)) > 0:
            deleted += count
            if count < TRIM_BATCH:
                break
    return deleted
