"""Connections: one row per WebSocket connection, and the sending methods of their querysets.

The sending itself is :mod:`.messaging`'s; the methods here are the public (4.0) entry points
and delegate in one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from .. import aws, messaging
from ..messaging import SendResult, recipients
from .gateways import ApiGateway


def management_client(endpoint_url: str) -> Any:
    """A Management API client for ``endpoint_url``, made through the (patchable) factory."""
    return aws.client("apigatewaymanagementapi", endpoint_url=endpoint_url)


class WebSocketSessionQuerySet(models.QuerySet["WebSocketSession"]):
    """Adds :meth:`send_message` to every queryset of sessions (the work is in
    :mod:`.messaging.recipients`), and the channel and user selections."""

    def in_channel(self, channel: str, *, exclude: Any = None) -> WebSocketSessionQuerySet:
        """The sessions whose primary channel is ``channel`` or that are subscribed to it
        (one query when sent to), without ``exclude`` (a session, a connection id, or a list of
        either: typically the sender)."""
        subscription = self.model._meta.get_field("subscriptions").related_model
        assert isinstance(subscription, type)
        subscribed = subscription._default_manager.filter(
            session=models.OuterRef("pk"), channel=channel
        )
        chosen = self.filter(models.Q(channel_name=channel) | models.Exists(subscribed))
        return chosen.excluding(exclude)

    def of_user(self, user: Any, *, exclude: Any = None) -> WebSocketSessionQuerySet:
        """The sessions of ``user`` (a user or its primary key), without ``exclude``."""
        user_id = getattr(user, "pk", user)
        return self.filter(user_id=user_id).excluding(exclude)

    def excluding(self, exclude: Any) -> WebSocketSessionQuerySet:
        """Without ``exclude``: a session, a connection id, or a list of either (``None``:
        nothing excluded)."""
        if exclude is None:
            return self
        items = exclude if isinstance(exclude, list | tuple | set | frozenset) else [exclude]
        ids = [getattr(item, "connection_id", item) for item in items]
        return self.exclude(connection_id__in=ids)

    def send_to_user(self, user: Any, data: Any, *, exclude: Any = None) -> SendResult:
        """Send ``data`` to every connected session of ``user`` (each of its tabs)."""
        return self.of_user(user, exclude=exclude).send_message(data)

    def disconnect_user(self, user: Any) -> SendResult:
        """Close every connection of ``user`` (``DeleteConnection`` on each, concurrently) and
        mark the rows disconnected; the outcomes as for :meth:`send_message`."""
        return recipients.close(self.of_user(user))

    def send_message(self, data: Any, max_workers: int | None = None) -> SendResult:
        """Send ``data`` (JSON-encoded) to every connected session of the queryset, concurrently
        (``max_workers``, release 4.1's argument: at most that many posts at once on the boto3
        path; ``WEBSOCKETS["send_concurrency"]`` when not given).

        Returns the successful responses as a list (a :class:`~.messaging.SendResult`, whose
        ``outcomes``, ``sent``, ``gone`` and ``failed`` tell what happened to each connection).
        Connections API Gateway reports gone are marked disconnected in one update; throttled
        posts are retried with backoff; any other failure is reported, never raised, and does
        not stop the rest. One query reads the rows with their gateways.
        """
        return recipients.send(self, messaging.encode(data), max_workers)

    def send_message_later(self, data: Any) -> list[Any]:
        """Hand the broadcast to ``WEBSOCKETS["broadcast_dispatcher"]``, in
        :class:`~.messaging.Broadcast` chunks of ``broadcast_chunk_size`` connections, and
        return what the dispatcher returned for each chunk.

        The recipients are the rows connected now (one query); the message is encoded and
        size-checked now. With no dispatcher configured each chunk is delivered at once, in
        this thread, by :func:`deliver_broadcast` (the list then holds its ``SendResult`` objects).
        See ``docs/messaging.md`` for Celery, RQ, Django tasks or a thread.
        """
        return recipients.send_later(self, data, broadcast_dispatcher())


def deliver_broadcast(job: messaging.Broadcast | Mapping[str, Any]) -> SendResult:
    """Deliver a :class:`~.messaging.Broadcast` (or its ``to_dict()``): what a background
    worker calls. Connections closed since the broadcast was made are skipped."""
    return recipients.deliver_broadcast(WebSocketSession.objects.get_queryset(), job)


def broadcast_dispatcher() -> Callable[[messaging.Broadcast], Any]:
    """The callable ``send_message_later`` hands each chunk to (``deliver_broadcast`` unless
    ``WEBSOCKETS["broadcast_dispatcher"]`` names another)."""
    return recipients.dispatcher(deliver_broadcast)


class WebSocketSessionManager(models.Manager["WebSocketSession"]):
    def get_queryset(self) -> WebSocketSessionQuerySet:
        return WebSocketSessionQuerySet(self.model, using=self._db)

    def send_message(self, data: Any, max_workers: int | None = None) -> SendResult:
        return self.get_queryset().send_message(data, max_workers)

    def send_message_later(self, data: Any) -> list[Any]:
        return self.get_queryset().send_message_later(data)

    def in_channel(self, channel: str, *, exclude: Any = None) -> WebSocketSessionQuerySet:
        return self.get_queryset().in_channel(channel, exclude=exclude)

    def of_user(self, user: Any, *, exclude: Any = None) -> WebSocketSessionQuerySet:
        return self.get_queryset().of_user(user, exclude=exclude)

    def send_to_user(self, user: Any, data: Any, *, exclude: Any = None) -> SendResult:
        return self.get_queryset().send_to_user(user, data, exclude=exclude)

    def disconnect_user(self, user: Any) -> SendResult:
        return self.get_queryset().disconnect_user(user)


class WebSocketSession(models.Model):
    """One WebSocket connection."""

    connection_id = models.CharField(max_length=255, unique=True)
    channel_name = models.CharField(
        max_length=128, blank=True, default="", help_text="Used to group connections together"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        blank=True,
        null=True,
        default=None,
        on_delete=models.CASCADE,
        related_name="websocket_sessions",
    )
    connected = models.BooleanField(
        default=True, help_text="Indicates is the connection is current or not"
    )
    api_gateway = models.ForeignKey(
        ApiGateway,
        null=True,
        blank=True,
        default=None,
        on_delete=models.SET_NULL,
        related_name="sessions",
    )
    request_count = models.PositiveBigIntegerField(default=1)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)
    # Release 4.1's columns (migration 0014), keyed hashes (see .hashes): the login's session
    # key, and the user's session auth hash (changes with the password). Empty when unknown.
    session_key_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    auth_hash = models.CharField(max_length=64, blank=True, default="")

    objects = WebSocketSessionManager()

    class Meta:
        indexes = [
            models.Index(
                fields=["connection_id", "connected"], name="django_aws__connect_fee1eb_idx"
            ),
            models.Index(
                fields=["channel_name", "connection_id"], name="django_aws__channel_dd10fa_idx"
            ),
            models.Index(
                fields=["channel_name", "connected"], name="django_aws__channel_1de026_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.connection_id

    @classmethod
    def mark_disconnected(cls, connection_ids: Iterable[str]) -> int:
        """Mark the given connections disconnected, in as few statements as possible."""
        ids = list(connection_ids)
        now = timezone.now()
        count = 0
        for start in range(0, len(ids), recipients.ID_BATCH):
            count += cls.objects.filter(
                connection_id__in=ids[start : start + recipients.ID_BATCH]
            ).update(connected=False, updated_on=now)
        return count

    def send_message(self, data: Any) -> Any:
        """Post ``data`` (JSON-encoded) to this connection and return the Management API's
        response (boto3's, or the same shape from the lean transport).

        ``ValueError`` above :data:`MAX_MESSAGE_SIZE`. When API Gateway says the connection is
        gone the session is marked disconnected and ``None`` is returned; throttling is retried
        with backoff; other errors are raised (``ClientError`` and botocore's exceptions).
        """
        return recipients.send_to_session(self, data)
