"""One-time connection tokens, and the rows that rate-limit ``$connect``."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Count, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .hashes import hash_session_key

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

TOKEN_RE = re.compile(r"^[a-f0-9]{64}$")

#: How many days a connection attempt is kept before the cleanup commands delete it.
RATE_LIMIT_RETENTION_DAYS = 7


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
    # A keyed hash of the browser's session key (hashes.hash_session_key), never the key itself.
    session_key = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    used = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["token", "used"], name="idx_websocket_tokens_used")]

    def __str__(self) -> str:
        return f"{self.token[:8]}…"

    @classmethod
    def generate_token(cls, user: AbstractBaseUser, session_key: str) -> WebSocketToken:
        """Create a token for ``user`` bound to the browser session ``session_key`` (stored as
        its keyed hash)."""
        return cls.objects.create(
            token=secrets.token_hex(32), user=user, session_key=hash_session_key(session_key)
        )

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
            token=token_value,
            session_key=hash_session_key(session_key),
            used=False,
            created_at__gte=cutoff,
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
    def cleanup_old_records(
        cls, days: int = RATE_LIMIT_RETENTION_DAYS
    ) -> tuple[int, dict[str, int]]:
        """Delete attempts older than ``days``."""
        cutoff = timezone.now() - timedelta(days=days)
        return cls.objects.filter(attempt_time__lt=cutoff).delete()
