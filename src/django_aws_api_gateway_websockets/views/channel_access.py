"""Who may join a channel, and release 4.1's ``$connect`` permission switch.

``ChannelPermission`` rows (``models/channels.py``) say who may join a channel; the view asks
:meth:`ChannelAccessChecks.can_join_channel` on ``$connect`` and on ``change_channel``.

Cost on ``$connect``: none for a channel open to everyone (no row, or an ``allow_all`` row):
the session's ``INSERT`` carries the condition (``admission.channel_guard``). Only when it fails is
the row read and ``allows(user)`` asked (one or two queries, and the user), then the row
inserted. ``change_channel`` does the same with its ``UPDATE``. A project that overrides
``can_join_channel`` or ``get_channel_permission`` pays for its override on each of them.

``CHECK_PERMISSIONS_ON_CONNECT = True`` also applies ``permissions_required`` and
``all_permissions_required`` on ``$connect`` (``check_connect_permissions``); it loads the user.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists
from django.http import HttpRequest, HttpResponseBase

from ..models import ChannelAccess, ChannelPermission
from .legacy import LegacyHooks
from .responses import CHANNEL_FORBIDDEN, forbidden


class ChannelAccessChecks(LegacyHooks):
    """``ALLOW_UNLISTED_CHANNELS``, ``CHECK_PERMISSIONS_ON_CONNECT`` and the two methods a
    project may override (release 4.1's names and defaults)."""

    #: ``False``: a channel without a ``ChannelPermission`` row is refused (403).
    ALLOW_UNLISTED_CHANNELS = True
    #: ``True``: the view's permission lists apply on ``$connect`` too (403).
    CHECK_PERMISSIONS_ON_CONNECT = False

    #: Rows read ahead for a batch of channels (a ``subscribe``): channel → row, for every
    #: channel of the batch (``None``: it has no row). Set and cleared by the handler.
    _channel_batch: dict[str, ChannelPermission | None] | None = None

    def get_channel_permission(self, channel_name: str) -> ChannelPermission | None:
        """The ``ChannelPermission`` row of ``channel_name``, or ``None`` (one query; none
        while a ``subscribe`` batch has read its channels' rows ahead)."""
        batch = self._channel_batch
        if batch is not None and channel_name in batch:
            return batch[channel_name]
        return ChannelPermission.for_channel(channel_name)

    def can_join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        """Whether ``request.user`` may join ``channel_name``: its row's
        :meth:`~ChannelPermission.allows`, else ``ALLOW_UNLISTED_CHANNELS``."""
        permission = self.get_channel_permission(channel_name)
        if permission is None:
            return bool(self.ALLOW_UNLISTED_CHANNELS)
        user: Any = getattr(request, "user", None)
        return permission.allows(user)

    def _channel_refused(self, request: HttpRequest, channel_name: str) -> bool:
        # Joining no channel at all ("": none given, no gateway default) is not a channel.
        return bool(channel_name) and self.can_join_channel(request, channel_name) is not True

    def _channel_decided_by_sql(self, channel_name: str) -> bool:
        """The channel's row is folded into the statement that writes the session (no extra
        query for an open channel) unless the project overrides one of the two methods; then
        :meth:`can_join_channel` is asked first."""
        klass = type(self)
        return (
            bool(channel_name)
            and klass.can_join_channel is ChannelAccessChecks.can_join_channel
            and klass.get_channel_permission is ChannelAccessChecks.get_channel_permission
        )

    def _open_to_everyone(self, channel_name: str) -> Any:
        """The ORM form of ``admission.channel_guard``: the channel needs no question about
        the user."""
        rows = ChannelPermission.objects.filter(channel_name=channel_name)
        if self.ALLOW_UNLISTED_CHANNELS:
            return ~Exists(rows.exclude(access=ChannelAccess.ALLOW_ALL))
        return Exists(rows.filter(access=ChannelAccess.ALLOW_ALL))

    def channel_forbidden(self) -> HttpResponseBase:
        """The 403 of a refused channel (``$connect`` and ``change_channel``)."""
        self._debug("Channel refused")
        return forbidden(CHANNEL_FORBIDDEN)

    def check_connect_permissions(self, request: HttpRequest) -> HttpResponseBase | None:
        """With ``CHECK_PERMISSIONS_ON_CONNECT``: the permission lists hold on ``$connect``."""
        if not self.CHECK_PERMISSIONS_ON_CONNECT:
            return None
        if self.all_permissions_required and not self.has_all_permission(request):
            return self.permission_denied(request)
        if self.permissions_required and not self.has_any_permission(request):
            return self.permission_denied(request)
        return None
