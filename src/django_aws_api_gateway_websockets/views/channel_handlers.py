"""The built-in ``subscribe`` and ``unsubscribe`` handlers and their hooks.

Offered only by views that list them (``ADDITIONAL_ALLOWED_HANDLERS = ["subscribe",
"unsubscribe"]``), as ``change_channel`` is. The payload is checked here, whole, before any
query; a malformed one is a ``400 Invalid subscribe request`` and changes nothing. The work is
:mod:`..channels.subscriptions`'.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponseBase, JsonResponse

from ..channels import subscriptions
from ..channels.history import Position
from ..channels.names import PERSONAL_PREFIX, is_channel, personal_channel
from ..conf import conf
from ..models import ChannelPermission, WebSocketSession
from .connect import ConnectChecks
from .responses import INVALID_SUBSCRIBE, bad_request

EPOCH_RE = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
MAX_OFFSET = 2**63 - 1


def _since(value: Any) -> Position | None:
    """``{"offset": int >= 0, "epoch": str}`` as a Position; ``ValueError`` otherwise."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"offset", "epoch"}:
        raise ValueError("since")
    offset, epoch = value["offset"], value["epoch"]
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise ValueError("offset")
    if not isinstance(epoch, str) or not EPOCH_RE.match(epoch):
        raise ValueError("epoch")
    return Position(offset, epoch)


def _wanted(item: Any) -> subscriptions.Wanted:
    if isinstance(item, str):
        channel, since = item, None
    elif isinstance(item, dict) and "channel" in item and set(item) <= {"channel", "since"}:
        channel, since = item["channel"], _since(item.get("since"))
    else:
        raise ValueError("item")
    if not is_channel(channel):
        raise ValueError("channel")
    return subscriptions.Wanted(channel, since)


def parse_channels(body: Any, *, allow_since: bool) -> list[subscriptions.Wanted] | None:
    """The ``channels`` of a subscribe/unsubscribe body, or ``None`` when malformed: a list of
    1 to ``max_subscriptions_per_connection`` channel names or (subscribe only)
    ``{"channel": name, "since": {"offset": n, "epoch": e} | null}`` objects."""
    items = body.get("channels") if isinstance(body, dict) else None
    if not isinstance(items, list) or not 0 < len(items) <= conf.max_subscriptions_per_connection:
        return None
    try:
        wanted = [_wanted(item) for item in items]
    except ValueError:
        return None
    if not allow_since and any(not isinstance(item, str) for item in items):
        return None
    return wanted


class ChannelHandlers(ConnectChecks):
    """``subscribe``/``unsubscribe``, :meth:`authorize_channel` and :meth:`get_initial_channels`."""

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        """May this connection subscribe to ``channel``? Falsy refuses; ``True`` admits; a
        dict admits with that per-member info (shown in presence, at most 1 KB).

        The default admits the connection's primary channel and its user's personal channel
        ``user#<pk>`` (another user's never); any other channel by the rules of ``$connect`` and
        ``change_channel``: :meth:`can_join_channel` (its ``ChannelPermission`` row, else
        ``ALLOW_UNLISTED_CHANNELS``). The rows of a whole ``subscribe`` batch are read in the
        statement that reads the connection's subscriptions, so an open channel costs nothing.
        Override it to admit more (look the channel up in your own data), calling
        ``super()`` to keep these rules.
        """
        session = self.websocket_session
        if session is None:
            return False
        if channel == session.channel_name:
            return True
        if channel.startswith(PERSONAL_PREFIX):
            # The session's user id: no query to load the user.
            return session.user_id is not None and channel == personal_channel(session.user_id)
        return self.can_join_channel(request, channel) is True

    def _subscribe(
        self, request: HttpRequest, session: WebSocketSession, wanted: list[subscriptions.Wanted]
    ) -> dict[str, Any]:
        """Subscribe a batch: one statement reads the connection's subscriptions and the
        batch's permission rows, then each channel is authorized without a query of its own."""
        channels = [w.channel for w in wanted]
        mine, access = subscriptions.subscribed_and_access(session, channels)
        rows = ChannelPermission.batch(access)
        self._channel_batch = {channel: rows.get(channel) for channel in channels}
        try:
            return subscriptions.subscribe(
                session, wanted, lambda channel: self.authorize_channel(request, channel), mine
            )
        finally:
            self._channel_batch = None

    def get_initial_channels(self, request: HttpRequest) -> list[str]:
        """Channels to subscribe the connection to at ``$connect`` (each authorized by
        :meth:`authorize_channel`; refusals are skipped). Default: none."""
        return []

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = super().connect(request, *args, **kwargs)
        session = self.websocket_session
        if response.status_code != 200 or session is None:
            return response
        initial = self.get_initial_channels(request)
        if initial:
            bad = [c for c in initial if not is_channel(c)]
            if bad:
                raise ValueError(f"get_initial_channels returned invalid channel names: {bad}")
            self._subscribe(request, session, [subscriptions.Wanted(c) for c in initial])
        return response

    def subscribe(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """``{"handler": "subscribe", "channels": [...]}``: answers a ``subscribed`` frame."""
        wanted = parse_channels(self.body, allow_since=True)
        if wanted is None:
            return bad_request(INVALID_SUBSCRIBE)
        session = self.websocket_session
        assert session is not None
        return JsonResponse(self._subscribe(request, session, wanted))

    def unsubscribe(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """``{"handler": "unsubscribe", "channels": [...]}``: answers an ``unsubscribed``
        frame."""
        wanted = parse_channels(self.body, allow_since=False)
        if wanted is None:
            return bad_request(INVALID_SUBSCRIBE)
        session = self.websocket_session
        assert session is not None
        return JsonResponse(subscriptions.unsubscribe(session, [w.channel for w in wanted]))

    def _channels_disconnected(self) -> None:
        """After ``$disconnect`` on a view offering ``subscribe``: drop the connection's
        subscriptions and announce the members that left."""
        session = self.websocket_session
        if session is not None and "subscribe" in getattr(self, "ALLOWED_HANDLERS", ()):
            subscriptions.disconnected(session)
