"""Channel names and the namespace each belongs to.

A channel is ``[namespace:]name[#user]``: ``"chat:7"`` is channel ``7`` of namespace ``chat``;
``"room-7"`` (no colon) is in the ``""`` namespace, which always exists; ``user#42`` is the
personal channel of user 42. A namespace's options come from
``WEBSOCKETS["channel_namespaces"]`` (``conf.NAMESPACE_OPTIONS``); a channel of a namespace not
configured there is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..conf import conf
from ..models.subscriptions import CHANNEL_LENGTH

CHANNEL_RE = re.compile(r"^(?:([a-z][a-z0-9_-]{0,31}):)?[A-Za-z0-9_-]+(?:#[A-Za-z0-9_-]+)?$")

#: The personal channel of a user: ``user#<pk>``.
PERSONAL_PREFIX = "user#"


def personal_channel(user: Any) -> str:
    """``user#<pk>`` for a user (or a primary key)."""
    return f"{PERSONAL_PREFIX}{getattr(user, 'pk', user)}"


def is_channel(value: Any) -> bool:
    """``value`` is a well-formed channel name (at most 128 characters)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= CHANNEL_LENGTH
        and CHANNEL_RE.match(value) is not None
    )


@dataclass(frozen=True)
class Namespace:
    """A namespace's options, resolved (see ``conf.NAMESPACE_OPTIONS`` for each)."""

    name: str
    history_size: int = 0
    history_ttl_seconds: int = 300
    recover_max: int = 1000
    latest_value: bool = False
    presence: bool = False
    join_leave: bool = True
    count_only: bool = False
    max_members: int = 100
    over_max_members: str = "refuse"

    @property
    def history(self) -> bool:
        return self.history_size > 0


def namespace_of(channel: str) -> Namespace | None:
    """The namespace of a well-formed ``channel``; ``None`` when it is not configured."""
    name = channel.split(":", 1)[0] if ":" in channel else ""
    options = conf.namespace_options(name)
    return None if options is None else Namespace(name, **options)
