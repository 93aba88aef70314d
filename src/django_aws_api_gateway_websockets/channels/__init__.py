"""Channels beyond the primary one: subscriptions, history with recovery, presence.

A connection keeps its primary channel (``WebSocketSession.channel_name``) and may subscribe to
more (``subscribe``/``unsubscribe`` messages, offered by a view that lists them in
``ADDITIONAL_ALLOWED_HANDLERS``). Channels are ``[namespace:]name``; each namespace's options
(history, presence, limits) come from ``WEBSOCKETS["channel_namespaces"]``. See
docs/channels-presence-history.md for the frames and guarantees.

- :mod:`.names`: channel names, namespaces;
- :mod:`.subscriptions`: subscribe, unsubscribe, revoke;
- :mod:`.history`: publish, offsets and epochs, recovery, trimming;
- :mod:`.presence`: members, join/leave, pruning silent members;
- :mod:`.frames`: every frame, built in one place; :mod:`.signals`: presence signals.
"""

from .frames import member_id
from .history import Position, publish, trim_all
from .names import Namespace, is_channel, namespace_of, personal_channel
from .presence import members, prune
from .signals import channel_occupied, channel_vacated, member_added, member_removed
from .subscriptions import MAX_INFO_BYTES, Wanted, revoke, subscribe, unsubscribe

__all__ = [
    "MAX_INFO_BYTES",
    "Namespace",
    "Position",
    "Wanted",
    "channel_occupied",
    "channel_vacated",
    "is_channel",
    "member_added",
    "member_id",
    "member_removed",
    "members",
    "namespace_of",
    "personal_channel",
    "prune",
    "publish",
    "revoke",
    "subscribe",
    "trim_all",
    "unsubscribe",
]
