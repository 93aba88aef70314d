"""``manage.py runwsgateway``: serve ApiGateway rows as a local API Gateway (no AWS needed)."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run a local API Gateway WebSocket server for the ApiGateway rows (all, or --api NAME): "
        "it calls your views as AWS does and serves the @connections Management API. "
        "Needs the [local] extra (aiohttp)."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        try:
            from ...local_gateway.cli import add_arguments
        except ImportError:  # no aiohttp: handle() says what to install
            return
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            from ...local_gateway.cli import run
        except ImportError as error:
            raise CommandError(str(error)) from error
        try:
            code = run(options, self.stdout)
        except (LookupError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        if code:
            raise CommandError("nothing to serve")
