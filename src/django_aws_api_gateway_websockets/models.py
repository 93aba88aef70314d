"""The five models: gateways, their additional routes, connections, tokens and rate-limit rows.

Public names, fields, tables and defaults are those of the existing package (see the upgrade
notes in the docs); ``get_region_name`` and ``get_boto3_client`` live here as module attributes
because projects patch ``models.get_boto3_client`` in their tests.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from . import messaging
from .aws import connect_url, get_boto3_client, get_region_name, management_endpoint
from .conf import conf
from .messaging import MAX_MESSAGE_SIZE, SendResult, recipients

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

__all__ = [
    "MAX_MESSAGE_SIZE",
    "ApiGateway",
    "ApiGatewayAdditionalRoute",
    "ConnectionRateLimit",
    "WebSocketSession",
    "WebSocketSessionQuerySet",
    "WebSocketToken",
    "deliver_broadcast",
    "get_boto3_client",
    "get_region_name",
]

DOMAIN_NAME_RE = re.compile(
    r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
API_NAME_RE = re.compile(r"^[ a-zA-Z0-9_-]+$")
TOKEN_RE = re.compile(r"^[a-f0-9]{64}$")


def management_client(endpoint_url: str) -> Any:
    """A Management API client for ``endpoint_url``, made through the (patchable) factory."""
    return get_boto3_client("apigatewaymanagementapi", endpoint_url=endpoint_url)


class ApiGateway(models.Model):
    """One API Gateway WebSocket API."""

    api_name = models.CharField(max_length=255, unique=True)
    api_description = models.CharField(max_length=255, blank=True, default="")
    default_channel_name = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="Automatically sets the 'channel' on the WebSocketSession record for the "
        "connection",
    )
    domain_name = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The full domain you wish to use for the API endpoint. E.G ws.example.com",
    )
    target_base_endpoint = models.URLField(  # noqa: DJ001 - nullable in the existing schema
        null=True,
        blank=True,
        default=None,
        help_text=(
            "The URL on your website where the API Gateway routes will point, including the "
            "trailing /, but excluding the final route/slug portion of the URL. E.G. If your "
            "default route will point to https://www.example.com/ws/default then enter "
            "https://www.example.com/ws/"
        ),
    )
    certificate_arn = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="The ARN of the certificate to use from AWS Certificate Manager",
    )
    hosted_zone_id = models.CharField(
        max_length=32,
        blank=True,
        default="",
        help_text="The Hosted Zone ID from AWs Route 53 for the domain you wish to use",
    )
    api_key_selection_expression = models.CharField(
        max_length=255, default="$request.header.x-api-key"
    )
    route_selection_expression = models.CharField(max_length=255, default="$request.body.action")
    route_key = models.CharField(max_length=255, default="$default")
    stage_name = models.CharField(max_length=63, default="production", blank=True)
    stage_description = models.CharField(max_length=63, default="", blank=True)
    deployment_id = models.CharField(max_length=32, default="", blank=True, editable=False)
    tags = models.JSONField(
        blank=True, default=dict, help_text='In format {"tag-name": "tag-value"}'
    )
    # Returned values
    api_id = models.CharField(
        max_length=32, blank=True, default="", help_text="The ID of the Api Gateway returned by AWS"
    )
    api_endpoint = models.CharField(
        max_length=255, blank=True, default="", help_text="The Api Gateway endpoint"
    )
    api_gateway_domain_name = models.CharField(
        max_length=255, blank=True, default="", help_text="The value to point your CNAME record to"
    )
    api_mapping_id = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="The ApiMappingId to use with api_mapping calls",
    )
    api_created = models.BooleanField(default=False, editable=False)
    custom_domain_created = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)
    # Ours: the value API Gateway sends in the X-Gateway-Secret header of every callback.
    secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        editable=False,
        help_text="Sent by API Gateway on every callback and checked by WebSocketView. "
        "Generated by provisioning.",
    )
    # The secret before the last rotation: still accepted for WEBSOCKETS[
    # "secret_rotation_window_seconds"] after secret_rotated_at, while AWS deploys the new one.
    previous_secret = models.CharField(
        max_length=128,
        blank=True,
        default="",
        editable=False,
        help_text="The secret before the last rotation, accepted for a window after it.",
    )
    secret_rotated_at = models.DateTimeField(null=True, blank=True, default=None, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["api_id"], name="django_aws__api_id_0da7ec_idx"),
            models.Index(fields=["domain_name"], name="django_aws__domain__3b4423_idx"),
            models.Index(fields=["custom_domain_created"], name="django_aws__custom__5e8390_idx"),
            models.Index(fields=["api_created"], name="django_aws__api_cre_376add_idx"),
            models.Index(fields=["created_on"], name="django_aws__created_32cf2a_idx"),
        ]

    def __str__(self) -> str:
        return self.api_name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Validate, and store ``target_base_endpoint`` with its trailing slash."""
        self.full_clean(validate_unique=False)
        if self.target_base_endpoint and not self.target_base_endpoint.endswith("/"):
            self.target_base_endpoint = f"{self.target_base_endpoint}/"
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_on"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Validate ``domain_name`` and ``api_name`` when they have values."""
        if self.domain_name and not DOMAIN_NAME_RE.match(self.domain_name):
            raise ValidationError({"domain_name": "Invalid domain name format"})
        if self.api_name and not API_NAME_RE.match(self.api_name):
            raise ValidationError(
                {
                    "api_name": "API name can only contain alphanumeric characters, spaces, "
                    "hyphens, and underscores"
                }
            )

    @staticmethod
    def generate_secret() -> str:
        """A new random value for :attr:`secret`."""
        return secrets.token_urlsafe(32)

    def accepted_secrets(self) -> list[str]:
        """The values a callback may carry: :attr:`secret`, and during the rotation window
        (``WEBSOCKETS["secret_rotation_window_seconds"]`` after :attr:`secret_rotated_at`) also
        :attr:`previous_secret`. Empty when the gateway has no secret."""
        if not self.secret:
            return []
        accepted = [self.secret]
        if self.previous_secret and self.secret_rotated_at is not None:
            window = timedelta(seconds=conf.secret_rotation_window_seconds)
            if timezone.now() < self.secret_rotated_at + window:
                accepted.append(self.previous_secret)
        return accepted

    @property
    def management_endpoint(self) -> str:
        """The Management API endpoint that ``send_message`` posts to for this gateway."""
        return management_endpoint(self)

    def websocket_url(self, channel_name: str = "") -> str | None:
        """The URL a browser connects to (``wss://`` on AWS, ``ws://`` for a local gateway)."""
        return connect_url(self, channel_name)

    # -- provisioning (kept for callers of the existing package) ---------------------------------

    def create_gateway(self) -> bool:
        """Create the API, its routes, stage and deployment on AWS. A no-op (``False``) when
        ``api_created``; the flag is only set when every step succeeded."""
        if self.api_created:
            return False
        _provisioning().create_gateway(self)
        return True

    def create_custom_domain(self) -> None:
        """Create the custom domain and map it to the stage (after :meth:`create_gateway`)."""
        if not self.api_created:
            raise ValueError("The API needs to be created before calling this method")
        if not self.certificate_arn:
            raise ValueError("A Certificate ARN is required")
        _provisioning().create_custom_domain(self)

    def deploy_api(self, client: Any) -> None:
        """Create a deployment of the stage and record its id (its description records what it
        serves, so that provisioning's plan can tell when the stage needs a new one)."""
        _provisioning().deploy(self, client)


class ApiGatewayAdditionalRoute(models.Model):
    """A custom route key of a gateway, sent to its own integration URL."""

    api_gateway = models.ForeignKey(
        ApiGateway, on_delete=models.CASCADE, related_name="additional_routes"
    )
    name = models.CharField(max_length=63, help_text="Descriptive name for the route")
    route_key = models.CharField(max_length=64, db_index=True)
    integration_url = models.URLField()
    deployed = models.BooleanField(default=False, editable=False)
    created_on = models.DateTimeField(auto_now_add=True)
    updated_on = models.DateTimeField(auto_now=True)

    class Meta:
        unique_together = [["api_gateway", "route_key"]]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save, then create or update the route on AWS when the gateway is deployed. When AWS
        fails, the row is kept (marked not deployed: the stage does not serve this version of
        it) and the error is raised; saving again or ``provisionApiGateway apply`` retries."""
        super().save(*args, **kwargs)
        if not kwargs.get("update_fields"):
            _provisioning().sync_additional_route(self)

    def create_route(self, client: Any, deploy: bool = True) -> None:
        """Create (or update, when it exists) the integration and route on AWS, then deploy."""
        _provisioning().upsert_additional_route(self, client, and_deploy=deploy)


# -- the provisioning hook -----------------------------------------------------------------------


class ProvisioningHook(Protocol):
    """What the provisioning methods above delegate to: the :mod:`.provisioning` package, which
    registers itself with :func:`use_provisioning` when imported (the app's ``ready()`` imports
    it). Models never import provisioning, which imports models."""

    def create_gateway(self, gateway: ApiGateway) -> None: ...
    def create_custom_domain(self, gateway: ApiGateway) -> None: ...
    def deploy(self, gateway: ApiGateway, client: Any) -> str: ...
    def sync_additional_route(self, route: ApiGatewayAdditionalRoute) -> None: ...
    def upsert_additional_route(
        self, route: ApiGatewayAdditionalRoute, client: Any, *, and_deploy: bool = ...
    ) -> None: ...


_provisioner: ProvisioningHook | None = None


def use_provisioning(provisioning: ProvisioningHook) -> None:
    """Register what the provisioning methods of the models delegate to."""
    global _provisioner
    _provisioner = provisioning


def _provisioning() -> ProvisioningHook:
    if _provisioner is None:
        raise ImproperlyConfigured(
            "django_aws_api_gateway_websockets.provisioning is not loaded: add "
            "'django_aws_api_gateway_websockets' to INSTALLED_APPS"
        )
    return _provisioner


class WebSocketSessionQuerySet(models.QuerySet["WebSocketSession"]):
    """Adds :meth:`send_message` to every queryset of sessions (the work is in
    :mod:`.messaging.recipients`)."""

    def send_message(self, data: Any) -> SendResult:
        """Send ``data`` (JSON-encoded) to every connected session of the queryset, concurrently.

        Returns the successful responses as a list (a :class:`~.messaging.SendResult`, whose
        ``outcomes``, ``sent``, ``gone`` and ``failed`` tell what happened to each connection).
        Connections API Gateway reports gone are marked disconnected in one update; throttled
        posts are retried with backoff; any other failure is reported, never raised, and does
        not stop the rest. One query reads the rows with their gateways.
        """
        return recipients.send(self, messaging.encode(data))

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

    def send_message(self, data: Any) -> SendResult:
        return self.get_queryset().send_message(data)

    def send_message_later(self, data: Any) -> list[Any]:
        return self.get_queryset().send_message_later(data)


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


class WebSocketToken(models.Model):
    """A one-time token that lets a logged-in browser session open one connection."""

    token = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(r"^[a-f0-9]{64}$", "Invalid token format")],
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="websocket_tokens"
    )
    session_key = models.CharField(max_length=40, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["token", "used"], name="idx_websocket_tokens_used")]

    def __str__(self) -> str:
        return f"{self.token[:8]}…"

    @classmethod
    def generate_token(cls, user: AbstractBaseUser, session_key: str) -> WebSocketToken:
        """Create a token for ``user`` bound to the browser session ``session_key``."""
        return cls.objects.create(token=secrets.token_hex(32), user=user, session_key=session_key)

    @classmethod
    @sensitive_variables("token_value", "session_key")
    def validate_and_consume(
        cls, token_value: str, session_key: str, max_age_seconds: int = 60
    ) -> AbstractBaseUser | None:
        """Use the token once: the user it was issued to, or ``None`` when it is unknown, bound
        to another session, older than ``max_age_seconds`` or already used.

        A single conditional UPDATE claims the token, so concurrent callers cannot both win.
        """
        if not isinstance(token_value, str) or not TOKEN_RE.match(token_value) or not session_key:
            return None
        cutoff = timezone.now() - timedelta(seconds=max_age_seconds)
        claimed = cls.objects.filter(
            token=token_value, session_key=session_key, used=False, created_at__gte=cutoff
        ).update(used=True)
        if not claimed:
            return None
        user_model = cls._meta.get_field("user").related_model
        assert isinstance(user_model, type)
        user = user_model._default_manager.filter(websocket_tokens__token=token_value).first()
        return cast("AbstractBaseUser | None", user)

    @classmethod
    def cleanup_expired(cls, max_age_seconds: int = 300) -> tuple[int, dict[str, int]]:
        """Delete tokens older than ``max_age_seconds``."""
        cutoff = timezone.now() - timedelta(seconds=max_age_seconds)
        return cls.objects.filter(created_at__lt=cutoff).delete()

    @classmethod
    def check_rate_limit(cls, user: AbstractBaseUser, max_tokens_per_minute: int = 10) -> bool:
        """``True`` while ``user`` has been issued fewer than ``max_tokens_per_minute`` tokens in
        the last minute."""
        since = timezone.now() - timedelta(minutes=1)
        recent = cls.objects.filter(user=user, created_at__gte=since).count()
        return recent < max_tokens_per_minute


class ConnectionRateLimit(models.Model):
    """One connection attempt, for rate limiting ``$connect`` by IP and by user."""

    ip_address = models.GenericIPAddressField(db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="connection_attempts",
    )
    attempt_time = models.DateTimeField(auto_now_add=True, db_index=True)
    successful = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
            models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
        ]

    def __str__(self) -> str:
        return f"{self.ip_address} at {self.attempt_time:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def check_rate_limit(
        cls,
        ip_address: str,
        user: AbstractBaseUser | AnonymousUser | None = None,
        max_attempts: int = 20,
        window_minutes: int = 5,
    ) -> tuple[bool, int]:
        """``(allowed, attempts)`` within the last ``window_minutes``: the IP first, then the
        authenticated user."""
        since = timezone.now() - timedelta(minutes=window_minutes)
        ip_attempts = cls.objects.filter(ip_address=ip_address, attempt_time__gte=since).count()
        if ip_attempts >= max_attempts:
            return False, ip_attempts
        if user is not None and user.is_authenticated:
            user_attempts = cls.objects.filter(user=user, attempt_time__gte=since).count()
            if user_attempts >= max_attempts:
                return False, user_attempts
        return True, ip_attempts

    @classmethod
    def recent_attempts(cls, ip_address: str, window_minutes: int) -> Coalesce:
        """An expression counting the attempts from ``ip_address`` in the last
        ``window_minutes`` (to annotate another query with, saving a statement)."""
        since = timezone.now() - timedelta(minutes=window_minutes)
        counted = (
            cls.objects.filter(ip_address=ip_address, attempt_time__gte=since)
            .order_by()
            .values("ip_address")
            .annotate(attempts=Count("pk"))
            .values("attempts")[:1]
        )
        return Coalesce(Subquery(counted), Value(0))

    @classmethod
    def admit(
        cls,
        ip_address: str,
        user: AbstractBaseUser | AnonymousUser | None = None,
        *,
        max_attempts: int = 20,
        window_minutes: int = 5,
        limit_user: bool = True,
    ) -> ConnectionRateLimit | None:
        """Record a successful attempt if it is within the limits, atomically with respect to
        concurrent callers: the row is inserted first, then the attempts in the window are
        counted (``ip_address``, and ``user`` when ``limit_user`` and authenticated). Over a
        limit the row is deleted again and ``None`` returned.

        Every admitted row is counted by the last admitted caller's count, so concurrent
        callers can never be admitted beyond ``max_attempts`` (near the limit some can be
        refused that a one-at-a-time order would have let in). This holds when each insert is
        committed before its count runs, as in Django's default autocommit mode; under
        ``ATOMIC_REQUESTS`` concurrent requests do not see each other's rows until they commit.
        """
        row = cls.record_attempt(ip_address, user, successful=True)
        since = timezone.now() - timedelta(minutes=window_minutes)
        over = (
            cls.objects.filter(ip_address=ip_address, attempt_time__gte=since).count()
            > max_attempts
        )
        if not over and limit_user and user is not None and user.is_authenticated:
            over = cls.objects.filter(user=user, attempt_time__gte=since).count() > max_attempts
        if over:
            cls.objects.filter(pk=row.pk).delete()
            return None
        return row

    @classmethod
    def record_attempt(
        cls,
        ip_address: str,
        user: AbstractBaseUser | AnonymousUser | None = None,
        successful: bool = False,
    ) -> ConnectionRateLimit:
        """Record an attempt; anonymous users are stored as NULL."""
        return cls.objects.create(
            ip_address=ip_address,
            user=user if user is not None and user.is_authenticated else None,
            successful=successful,
        )

    @classmethod
    def cleanup_old_records(cls, days: int = 7) -> tuple[int, dict[str, int]]:
        """Delete attempts older than ``days``."""
        cutoff = timezone.now() - timedelta(days=days)
        return cls.objects.filter(attempt_time__lt=cutoff).delete()
