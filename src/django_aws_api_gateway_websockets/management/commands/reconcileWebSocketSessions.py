"""``manage.py reconcileWebSocketSessions``: session rows against the gateway, and cleanup."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets import reconcile
from django_aws_api_gateway_websockets.conf import conf
from django_aws_api_gateway_websockets.management._common import (
    MAX_RATE_LIMIT_AGE_DAYS,
    MAX_TOKEN_AGE_SECONDS,
    age,
    find_gateway,
)
from django_aws_api_gateway_websockets.models.tokens import RATE_LIMIT_RETENTION_DAYS


def positive(value: str) -> int:
    number = age("units", 10**9)(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Ask API Gateway's Management API (GetConnection) about every WebSocketSession row "
        "marked connected and mark disconnected those whose socket is gone (a lost $disconnect: "
        "Django was down, or a local gateway was killed). Rows that cannot be checked are left "
        "as they are and reported. Then delete expired tokens and old rate-limit rows, and "
        "forget rotated-out gateway secrets past their window. Run it from cron or with "
        "--every SECONDS. Exits with status 1 when some rows could not be checked."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--pk", type=int, help="Only this ApiGateway's sessions.")
        group.add_argument("--name", help="Only the sessions of the ApiGateway with this name.")
        parser.add_argument(
            "--min-age",
            type=age("seconds", MAX_TOKEN_AGE_SECONDS),
            default=reconcile.DEFAULT_MIN_AGE_SECONDS,
            metavar="SECONDS",
            help="Skip rows created less than this long ago (default: "
            f"{reconcile.DEFAULT_MIN_AGE_SECONDS}; their $connect may still be in progress).",
        )
        parser.add_argument(
            "--concurrency",
            type=positive,
            default=None,
            help='GetConnection calls in flight at once (default: WEBSOCKETS["send_concurrency"]).',
        )
        parser.add_argument(
            "--batch-size",
            type=positive,
            default=reconcile.DEFAULT_BATCH_SIZE,
            help=f"Rows read per query (default: {reconcile.DEFAULT_BATCH_SIZE}).",
        )
        parser.add_argument(
            "--disconnect-orphans",
            action="store_true",
            help="Also mark disconnected the connected rows that have no gateway (or one "
            "without an endpoint), which nothing can reach.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; change nothing."
        )
        parser.add_argument(
            "--no-reconcile", action="store_true", help="Only clean up; ask AWS nothing."
        )
        parser.add_argument(
            "--no-cleanup", action="store_true", help="Only reconcile session rows."
        )
        parser.add_argument(
            "--token-age",
            type=age("seconds", MAX_TOKEN_AGE_SECONDS),
            default=300,
            metavar="SECONDS",
            help="Cleanup: delete tokens created more than this long ago (default: 300).",
        )
        parser.add_argument(
            "--rate-limit-age",
            type=age("days", MAX_RATE_LIMIT_AGE_DAYS),
            default=RATE_LIMIT_RETENTION_DAYS,
            metavar="DAYS",
            help=f"Cleanup: delete rate-limit rows older than this "
            f"(default: {RATE_LIMIT_RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--every",
            type=positive,
            default=None,
            metavar="SECONDS",
            help="Run again every SECONDS until interrupted (instead of once).",
        )
        parser.add_argument(
            "--runs", type=positive, default=None, help="With --every: stop after this many runs."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateways = None
        if options["pk"] is not None or options["name"] is not None:
            gateways = [find_gateway(options["pk"], options["name"])]
        if options["token_age"] < conf.token_expiry_seconds and not options["no_cleanup"]:
            self.stderr.write(
                self.style.WARNING(
                    f"--token-age {options['token_age']} is shorter than the token expiry "
                    f"({conf.token_expiry_seconds}s): tokens that could still be used are "
                    "deleted too."
                )
            )
        runs = 0
        unchecked = 0
        while True:
            runs += 1
            unchecked = self._run_once(gateways, options)
            if options["every"] is None or (options["runs"] and runs >= options["runs"]):
                break
            time.sleep(options["every"])
        if unchecked:
            raise CommandError(
                f"{unchecked} session(s) could not be checked (see the errors above); they "
                "were left as they are. Run again when the Management API can be reached."
            )

    def _run_once(self, gateways: Any, options: dict[str, Any]) -> int:
        unchecked = 0
        if not options["no_reconcile"]:
            report = reconcile.reconcile_sessions(
                gateways=gateways,
                min_age_seconds=options["min_age"],
                concurrency=options["concurrency"],
                batch_size=options["batch_size"],
                dry_run=options["dry_run"],
                disconnect_orphans=options["disconnect_orphans"],
            )
            style = self.style.WARNING if report.unchecked else self.style.SUCCESS
            self.stdout.write(style(f"Sessions: {report}"))
            unchecked = report.unchecked
        if not options["no_cleanup"] and not options["dry_run"]:
            cleaned = reconcile.cleanup(
                token_age_seconds=options["token_age"],
                rate_limit_age_days=options["rate_limit_age"],
            )
            self.stdout.write(self.style.SUCCESS(f"Cleanup: {cleaned}"))
        return unchecked
