"""``manage.py updateApiGatewayIntegrations [--pk N] [--dry-run]`` (release 4.1's command).

Makes every created gateway's integrations send the site-wide secret of
``WEBSOCKETS["gateway_secret"]`` (adding, changing or removing the ``X-Ws-Gateway-Secret``
mapping) and redeploys the stage. It is provisioning's ``apply`` of the API part, the one
engine: whatever else of the API differs from the row is converged too, and listed.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.management._common import find_gateway
from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.provisioning import ProvisioningError


class Command(BaseCommand):
    help = (
        "Update the integrations of created API Gateways so they send "
        'WEBSOCKETS["gateway_secret"] as X-Ws-Gateway-Secret (added, changed or removed to '
        "match the setting), and redeploy. --dry-run lists the changes without making them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--pk", type=int, help="Only the ApiGateway with this primary key.")
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would change; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pk"] is not None:
            gateways = [find_gateway(options["pk"])]
        else:
            gateways = list(ApiGateway.objects.exclude(api_id="").order_by("pk"))
        if not gateways:
            self.stdout.write("No created API Gateway to update.")
            return
        failed = 0
        for gateway in gateways:
            label = f"ApiGateway {gateway.api_name!r} (pk={gateway.pk})"
            if not gateway.api_id:
                self.stdout.write(f"{label}: not created in AWS yet; skipped.")
                continue
            try:
                self._one(gateway, label, dry_run=options["dry_run"])
            except ProvisioningError as error:
                failed += 1
                self.stderr.write(f"{label}: stopped at step '{error.step}': {error.reason}.")
            except (ClientError, BotoCoreError, RuntimeError) as error:
                failed += 1
                self.stderr.write(f"{label}: could not start: {error}")
        if failed:
            raise CommandError(f"{failed} of {len(gateways)} gateway(s) failed; run again.")

    def _one(self, gateway: ApiGateway, label: str, *, dry_run: bool) -> None:
        planned = provisioning.plan(gateway, parts={"api"})
        if any(c.action == "create" and c.resource == "API" for c in planned.changes):
            # Recreating a deleted API would give it a new id and endpoint: not this command's
            # business (provisionApiGateway apply does it, knowingly).
            raise ProvisioningError(
                "read API",
                f"API {gateway.api_id} no longer exists in AWS; run "
                f"'provisionApiGateway apply --pk {gateway.pk}' to create it again",
            )
        if dry_run or planned.empty:
            self._report(label, planned, f"{label} would change:")
            return
        result = provisioning.apply(gateway, parts={"api"})
        self._report(label, result, f"{label}: {result.summary()}.")

    def _report(self, label: str, result: provisioning.Result, heading: str) -> None:
        if result.empty:
            self.stdout.write(f"{label}: up to date.")
            return
        self.stdout.write(heading)
        for change in result.changes:
            self.stdout.write(f"  {change}")
