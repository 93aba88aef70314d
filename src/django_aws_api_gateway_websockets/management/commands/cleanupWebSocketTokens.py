"""``manage.py cleanupWebSocketTokens``: delete old connection tokens and rate-limit rows."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.models import ConnectionRateLimit, WebSocketToken

#: Upper bounds that keep ``now - age`` inside the range of a datetime.
MAX_TOKEN_AGE_SECONDS = 100 * 365 * 24 * 3600
MAX_RATE_LIMIT_AGE_DAYS = 100 * 365


def age(unit: str, maximum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of ``unit`` between 0 and ``maximum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a whole number of {unit}, got {value!r}"
            ) from None
        if not 0 <= number <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a number of {unit} between 0 and {maximum}, got {number}"
            )
        return number

    return parse


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
            default=300,
            metavar="SECONDS",
            help="Delete tokens created more than this many seconds ago (default: 300). Keep it "
            'at least WEBSOCKETS["token_expiry_seconds"] so tokens that can still be used are '
            "not deleted.",
        )
        parser.add_argument(
            "--rate-limit-age",
            type=age("days", MAX_RATE_LIMIT_AGE_DAYS),
            default=7,
            metavar="DAYS",
            help="Delete rate-limit records of connection attempts made more than this many "
            "days ago (default: 7).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        token_age: int = options["token_age"]
        rate_limit_age: int = options["rate_limit_age"]
        expiry = conf.token_expiry_seconds
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
