"""Channels beyond the primary one: subscriptions, history streams and their publications.

A connection's primary channel stays ``WebSocketSession.channel_name``. Every other channel it
listens to is a :class:`ChannelSubscription` row, deleted with its session. Presence is not a
table: the members of a channel are the users of its subscriptions whose sessions are live
(connected, and heard from within ``presence_max_age_seconds``). A channel with history has one
:class:`ChannelStream` (its last offset and its epoch) and its recent :class:`ChannelPublication`
rows. The logic is in :mod:`django_aws_api_gateway_websockets.channels`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from .sessions import WebSocketSession

#: Longest channel name (as ``WebSocketSession.channel_name``).
CHANNEL_LENGTH = 128


class ChannelSubscription(models.Model):
    """One connection listening to one channel (other than its primary channel)."""

    session = models.ForeignKey(
        WebSocketSession, on_delete=models.CASCADE, related_name="subscriptions"
    )
    channel = models.CharField(max_length=CHANNEL_LENGTH)
    # The session's user, copied so presence reads one table per channel.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="websocket_subscriptions",
    )
    # What authorize_channel returned for this member (shown in presence; at most 1 KB).
    info = models.JSONField(null=True, blank=True, default=None, encoder=DjangoJSONEncoder)
    created_on = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "channel"], name="ws_subscription_unique")
        ]
        indexes = [models.Index(fields=["channel", "user"], name="ws_subscription_channel")]

    def __str__(self) -> str:
        return f"{self.session_id} in {self.channel}"


class ChannelStream(models.Model):
    """A channel's history: its last offset and its epoch (new whenever the row is created, so
    a client holding offsets of an earlier stream is told it cannot recover)."""

    channel = models.CharField(max_length=CHANNEL_LENGTH, unique=True)
    epoch = models.CharField(max_length=16)
    top_offset = models.PositiveBigIntegerField(default=0)
    created_on = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.channel} @{self.top_offset}/{self.epoch}"


class ChannelPublication(models.Model):
    """One published message of a stream, kept while within the namespace's size and age."""

    stream = models.ForeignKey(ChannelStream, on_delete=models.CASCADE, related_name="publications")
    offset = models.PositiveBigIntegerField()
    data = models.JSONField(encoder=DjangoJSONEncoder)
    created_on = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stream", "offset"], name="ws_publication_offset")
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.offset}"
