"""Presence: the members of a channel are the users of its subscriptions whose sessions are
live (connected, and heard from within ``presence_max_age_seconds``). Several connections of
one user are one member: the first to subscribe makes the user join, the last to leave makes
the user leave, so a make-before-break renewal causes neither.

Joins and leaves are pushed to the channel's connections as ``join``/``leave`` frames (unless
the namespace is ``count_only`` or ``join_leave`` is off) and sent as signals.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from ..conf import conf
from ..models import ChannelSubscription, WebSocketSession
from . import frames, signals
from .names import Namespace, namespace_of

#: Subscription rows deleted per statement by :func:`prune`.
PRUNE_BATCH = 500


def live() -> Q:
    """Subscriptions whose session is live (a condition on ``ChannelSubscription``)."""
    cutoff = timezone.now() - timedelta(seconds=conf.presence_max_age_seconds)
    return Q(session__connected=True, session__updated_on__gte=cutoff)


def members(channels: Iterable[str], *, exclude_session: Any = None) -> dict[str, dict[Any, Any]]:
    """``{channel: {user_id: info}}`` for ``channels``, in one query; through connections
    other than ``exclude_session`` when given."""
    found: dict[str, dict[Any, Any]] = {channel: {} for channel in channels}
    if not found:
        return found
    rows = ChannelSubscription.objects.filter(live(), channel__in=list(found), user__isnull=False)
    if exclude_session is not None:
        rows = rows.exclude(session=exclude_session)
    for channel, user_id, info in rows.values_list("channel", "user_id", "info"):
        found[channel].setdefault(user_id, info)
    return found


def snapshot(namespace: Namespace, of_channel: dict[Any, Any]) -> dict[str, Any]:
    """What a ``subscribed`` frame says about presence: the count, and the members unless the
    namespace (or the channel's size) makes it count-only."""
    if namespace.count_only or len(of_channel) > namespace.max_members:
        return {"count": len(of_channel)}
    listed = [{"user": frames.member_id(u), "info": i} for u, i in of_channel.items()]
    return {"count": len(of_channel), "members": listed}


def joined(
    channel: str, namespace: Namespace, user_id: Any, info: Any, before: int, connection_id: str
) -> None:
    """``user_id`` became a member of ``channel`` (which had ``before`` members): tell the
    channel's other connections and send the signals."""
    if before == 0:
        signals.channel_occupied.send(sender=ChannelSubscription, channel=channel)
    signals.member_added.send(
        sender=ChannelSubscription, channel=channel, user_id=user_id, info=info
    )
    if namespace.join_leave and not namespace.count_only:
        recipients = WebSocketSession.objects.in_channel(channel, exclude=connection_id)
        recipients.send_message(frames.join(channel, user_id, info))


def left(user_id: Any, channels: Iterable[str]) -> list[str]:
    """After ``user_id``'s subscriptions to ``channels`` ended: the presence channels the user
    is no longer a member of (frames and signals sent for each). One query, then the posts."""
    watched = {c: ns for c in set(channels) if (ns := namespace_of(c)) and ns.presence}
    if user_id is None or not watched:
        return []
    now = members(watched)
    gone = [channel for channel in watched if user_id not in now[channel]]
    for channel in gone:
        namespace = watched[channel]
        signals.member_removed.send(sender=ChannelSubscription, channel=channel, user_id=user_id)
        if not now[channel]:
            signals.channel_vacated.send(sender=ChannelSubscription, channel=channel)
        if namespace.join_leave and not namespace.count_only:
            WebSocketSession.objects.in_channel(channel).send_message(
                frames.leave(channel, user_id)
            )
    return gone


def prune() -> int:
    """Delete the subscriptions of sessions that are not live (disconnected, or silent past
    ``presence_max_age_seconds``) and announce the members that thereby left. Run by
    ``reconcileWebSocketSessions``; returns the rows deleted."""
    stale = ChannelSubscription.objects.exclude(live())
    rows = list(stale.values_list("pk", "channel", "user_id"))
    for start in range(0, len(rows), PRUNE_BATCH):
        batch = [pk for pk, _, _ in rows[start : start + PRUNE_BATCH]]
        ChannelSubscription.objects.filter(pk__in=batch).delete()
    by_user: dict[Any, set[str]] = {}
    for _, channel, user_id in rows:
        if user_id is not None:
            by_user.setdefault(user_id, set()).add(channel)
    for user_id, channels in by_user.items():
        left(user_id, channels)
    return len(rows)
