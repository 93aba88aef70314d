"""The frames of subscriptions, history and presence, each built in one place (the wire format
is documented in docs/channels-presence-history.md).

Pushed to connections: ``publication``, ``join``, ``leave``, ``unsubscribed`` (a revocation).
Answered to a ``subscribe``/``unsubscribe`` message: ``subscribed``, ``unsubscribed``.
"""

from __future__ import annotations

from typing import Any

SUBSCRIBED = "subscribed"
UNSUBSCRIBED = "unsubscribed"
PUBLICATION = "publication"
JOIN = "join"
LEAVE = "leave"

# Why a channel of a subscribe was refused (the "reason" of a "refused" entry).
UNKNOWN_NAMESPACE = "unknown_namespace"
NOT_ALLOWED = "not_allowed"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
CHANNEL_FULL = "channel_full"
INFO_TOO_LARGE = "info_too_large"
REVOKED = "revoked"


def member_id(user_id: Any) -> str:
    """A member as frames name it: the user's primary key as a string."""
    return str(user_id)


def publication(
    channel: str, data: Any, offset: int | None = None, epoch: str | None = None
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": PUBLICATION, "channel": channel, "data": data}
    if offset is not None:
        frame["offset"] = offset
        frame["epoch"] = epoch
    return frame


def join(channel: str, user_id: Any, info: Any) -> dict[str, Any]:
    return {"type": JOIN, "channel": channel, "user": member_id(user_id), "info": info}


def leave(channel: str, user_id: Any) -> dict[str, Any]:
    return {"type": LEAVE, "channel": channel, "user": member_id(user_id)}


def unsubscribed(channels: list[str], reason: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": UNSUBSCRIBED, "channels": channels}
    if reason is not None:
        frame["reason"] = reason
    return frame


def refused(channel: str, reason: str) -> dict[str, str]:
    return {"channel": channel, "reason": reason}
