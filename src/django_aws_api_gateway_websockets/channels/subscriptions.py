"""Subscribing a connection to channels, unsubscribing it, and revoking a channel from a user.

:func:`subscribe` is the whole of a ``subscribe`` message once the payload is parsed (the view
parses it, ``views/channel_handlers.py``): for a batch of plain channels it runs two
statements (the connection's subscriptions, then one ``INSERT`` of the new ones); presence
channels add one (the members), history channels two (create-if-missing and read the streams)
plus one per channel recovering or delivering its latest value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import CharField, Value

from .. import messaging
from ..conf import conf
from ..models import ChannelPermission, ChannelSubscription, WebSocketSession
from . import frames, history, presence
from .history import Position
from .names import Namespace, namespace_of

logger = logging.getLogger(__name__)

#: Largest per-member info (JSON-encoded) that ``authorize_channel`` may attach.
MAX_INFO_BYTES = 1024

#: ``authorize(channel)``: falsy to refuse, ``True`` to admit, a mapping to admit with that
#: per-member info.
Authorize = Callable[[str], Any]


@dataclass(frozen=True)
class Wanted:
    """One channel of a subscribe, and the position the client last saw, if any."""

    channel: str
    since: Position | None = None


def _info_size(info: Any) -> int:
    return len(json.dumps(info, cls=DjangoJSONEncoder).encode())


def subscribed_and_access(
    session: WebSocketSession, channels: Sequence[str]
) -> tuple[set[str], dict[str, str]]:
    """In one statement: the channels ``session`` is subscribed to, and the ``access`` of each
    of ``channels`` that has a ``ChannelPermission`` row (what authorizing a batch needs)."""
    mine = (
        ChannelSubscription.objects.filter(session=session)
        .order_by()
        .annotate(access=Value("", output_field=CharField()), mine=Value(1))
        .values_list("channel", "access", "mine")
    )
    listed = (
        ChannelPermission.objects.filter(channel_name__in=set(channels))
        .order_by()
        .annotate(mine=Value(0))
        .values_list("channel_name", "access", "mine")
    )
    subscribed: set[str] = set()
    access: dict[str, str] = {}
    for channel, value, is_mine in mine.union(listed, all=True):
        if is_mine:
            subscribed.add(channel)
        else:
            access[channel] = value
    return subscribed, access


def subscribe(
    session: WebSocketSession,
    wanted: Sequence[Wanted],
    authorize: Authorize,
    subscribed: set[str] | None = None,
) -> dict[str, Any]:
    """Subscribe ``session`` to ``wanted`` (authorized one by one by ``authorize``); the
    ``subscribed`` frame answering it. ``subscribed``: the connection's subscriptions when the
    caller read them already (:func:`subscribed_and_access`), saving a statement."""
    refused: list[dict[str, str]] = []
    admitted: dict[str, tuple[Wanted, Namespace, Any]] = {}
    for item in wanted:
        if item.channel in admitted:
            continue
        namespace = namespace_of(item.channel)
        if namespace is None:
            refused.append(frames.refused(item.channel, frames.UNKNOWN_NAMESPACE))
            continue
        grant = authorize(item.channel)
        if not grant:
            refused.append(frames.refused(item.channel, frames.NOT_ALLOWED))
            continue
        info = dict(grant) if isinstance(grant, Mapping) else None
        if info is not None and _info_size(info) > MAX_INFO_BYTES:
            logger.warning("authorize_channel gave %s more than 1 KB of info", item.channel)
            refused.append(frames.refused(item.channel, frames.INFO_TOO_LARGE))
            continue
        admitted[item.channel] = (item, namespace, info)
    if not admitted:
        return _frame([], refused)

    # Statement 1: the connection's subscriptions (for the limit and for re-subscribes).
    mine = (
        subscribed
        if subscribed is not None
        else set(
            ChannelSubscription.objects.filter(session=session).values_list("channel", flat=True)
        )
    )
    room = conf.max_subscriptions_per_connection - len(mine)
    user_id = session.user_id
    new: list[ChannelSubscription] = []
    for channel, (_item, _namespace, info) in list(admitted.items()):
        if channel in mine:
            continue
        if room <= 0:
            refused.append(frames.refused(channel, frames.TOO_MANY_SUBSCRIPTIONS))
            del admitted[channel]
            continue
        room -= 1
        new.append(
            ChannelSubscription(session=session, channel=channel, user_id=user_id, info=info)
        )
    # Statement 2: the new rows, before the streams and the members are read. A publication
    # committed after the read reaches this connection live; one committed before is within
    # its position. A member subscribing at the same time is in the snapshot, or inserted
    # after it and then announces its join to this connection (now a row).
    ChannelSubscription.objects.bulk_create(new, ignore_conflicts=True)
    added = {row.channel for row in new}
    watched = [c for c, (_, ns, _) in admitted.items() if ns.presence]
    # The members through other connections: one statement, when any channel has presence.
    before = presence.members(watched, exclude_session=session)
    full = [c for c in watched if c in added and _full(admitted[c][1], before[c], user_id)]
    if full:  # refused after all: the rows go again (a statement only then)
        ChannelSubscription.objects.filter(session=session, channel__in=full).delete()
        for channel in full:
            refused.append(frames.refused(channel, frames.CHANNEL_FULL))
            del admitted[channel]

    streams = history.positions(c for c, (_, ns, _) in admitted.items() if ns.history)
    entries = []
    for channel, (item, namespace, info) in admitted.items():
        entry: dict[str, Any] = {"channel": channel}
        if channel in streams:
            stream_id, position = streams[channel]
            entry.update(position.as_dict())
            if item.since is not None:
                ok, publications = history.recover(stream_id, namespace, item.since, position)
                entry["recovered"] = ok
                entry["publications"] = publications
            elif namespace.latest_value:
                entry["publications"] = history.latest(stream_id, namespace, position)
        if namespace.presence:
            members = dict(before[channel])
            joined = user_id is not None and user_id not in members and channel in added
            if user_id is not None:
                members.setdefault(user_id, info)
            entry["presence"] = presence.snapshot(namespace, members)
            if joined:
                presence.joined(
                    channel, namespace, user_id, info, len(before[channel]), session.connection_id
                )
        entries.append(entry)
    return _fit(_frame(entries, refused))


def _full(namespace: Namespace, members: Mapping[Any, Any], user_id: Any) -> bool:
    """A new member of a channel at its cap, where the namespace refuses beyond it."""
    return (
        namespace.over_max_members == "refuse"
        and user_id is not None
        and user_id not in members
        and len(members) >= namespace.max_members
    )


def _frame(entries: list[dict[str, Any]], refused: list[dict[str, str]]) -> dict[str, Any]:
    return {"type": frames.SUBSCRIBED, "channels": entries, "refused": refused}


def _fit(frame: dict[str, Any]) -> dict[str, Any]:
    """Keep the answer within one frame: recoveries that do not fit become ``recovered:
    false``, then member lists become counts. Never a partial list."""
    for shrink in (_drop_recoveries, _drop_members):
        try:
            messaging.encode(frame)
            return frame
        except ValueError:
            shrink(frame)
    return frame


def _drop_recoveries(frame: dict[str, Any]) -> None:
    for entry in frame["channels"]:
        if entry.get("publications"):
            entry["publications"] = []
            if "recovered" in entry:
                entry["recovered"] = False


def _drop_members(frame: dict[str, Any]) -> None:
    for entry in frame["channels"]:
        entry.get("presence", {}).pop("members", None)


def unsubscribe(session: WebSocketSession, channels: Sequence[str]) -> dict[str, Any]:
    """End ``session``'s subscriptions to ``channels`` (one ``DELETE``; presence channels then
    announce the members that left); the ``unsubscribed`` frame answering it."""
    wanted = list(dict.fromkeys(channels))
    ChannelSubscription.objects.filter(session=session, channel__in=wanted).delete()
    presence.left(session.user_id, wanted)
    return frames.unsubscribed(wanted)


def disconnected(session: WebSocketSession) -> None:
    """``session`` closed: drop its subscriptions and announce the members that left."""
    channels = list(
        ChannelSubscription.objects.filter(session=session).values_list("channel", flat=True)
    )
    if channels:
        ChannelSubscription.objects.filter(session=session).delete()
        presence.left(session.user_id, channels)


def revoke(user: Any, channel: str) -> int:
    """Take ``channel`` away from ``user``: delete the subscriptions of all the user's
    connections to it, tell those connections (an ``unsubscribed`` frame with reason
    ``revoked``) and announce the leave. The subscriptions removed."""
    user_id = getattr(user, "pk", user)
    rows = ChannelSubscription.objects.filter(user_id=user_id, channel=channel)
    connection_ids = list(rows.values_list("session__connection_id", flat=True))
    if not connection_ids:
        return 0
    rows.delete()
    WebSocketSession.objects.get_queryset().filter(connection_id__in=connection_ids).send_message(
        frames.unsubscribed([channel], frames.REVOKED)
    )
    presence.left(user_id, [channel])
    return len(connection_ids)
