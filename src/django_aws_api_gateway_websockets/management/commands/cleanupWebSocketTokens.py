"""``manage.py cleanupWebSocketTokens``: delete old connection tokens and rate-limit rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.management._common import (
    MAX_RATE_LIMIT_AGE_DAYS,
    MAX_TOKEN_AGE_SECONDS,
    age,
)
from django_aws_api_gateway_websockets.models import ConnectionRateLimit, WebSocketToken
from django_aws_api_gateway_websockets.models.tokens import RATE_LIMIT_RETENTION_DAYS


class Command(BaseCommand):
    help = (
        "Delete WebSocket connection tokens older than --token-age seconds and $connect "
        "rate-limit records older than --rate-limit-age days, printing how many rows of each "
        "were deleted. Meant to be run on a schedule (cron, Celery beat, ...)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--token-age",
            type=age("seconds", MAX_TOKEN_AGE_SECONDS),
            default=None,
            metavar="SECONDS",
            help="Delete tokens created more than this many seconds ago (default: the larger of "
            '300 and WEBSOCKETS["token_expiry_seconds"], as release 4.1). Keep it at least the '
            "token expiry so tokens that can still be used are not deleted.",
        )
        parser.add_argument(
            "--rate-limit-age",
            type=age("days", MAX_RATE_LIMIT_AGE_DAYS),
            default=RATE_LIMIT_RETENTION_DAYS,
            metavar="DAYS",
            help="Delete rate-limit records of connection attempts made more than this many "
            f"days ago (default: {RATE_LIMIT_RETENTION_DAYS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        expiry = conf.token_expiry_seconds
        token_age: int = options["token_age"]
        if token_age is None:
            token_age = max(300, expiry)
        rate_limit_age: int = options["rate_limit_age"]
        if token_age < expiry:
            self.stderr.write(
                self.style.WARNING(
                    f"--token-age {token_age} is shorter than the token expiry ({expiry}s): "
                    "tokens that could still be used are deleted too."
                )
            )
        token_count, _ = WebSocketToken.cleanup_expired(max_age_seconds=token_age)
        self.stdout.write(
            self.style.SUCCESS(
                f"Successfully deleted {token_count} expired WebSocket tokens "
                f"(older than {token_age}s)"
            )
        )
        rate_limit_count, _ = ConnectionRateLimit.cleanup_old_records(days=rate_limit_age)
        self.stdout.write(
            self.style.SUCCESS(
                f"Successfully deleted {rate_limit_count} old rate limit records "
                f"(older than {rate_limit_age} days)"
            )
        )
