"""``manage.py provisionApiGateway plan|apply|rotate-secret|teardown --pk N`` (or ``--name``)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.management._common import (
    add_gateway_arguments,
    find_gateway,
)
from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.provisioning import Change, Event, ProvisioningError


class Command(BaseCommand):
    help = (
        "Make AWS match an ApiGateway row. 'plan' lists what would be created, updated and "
        "deleted (nothing is changed); 'apply' makes those changes step by step, recording ids "
        "on the row as it goes, so running it again after a failure resumes; 'rotate-secret' "
        "stores a new gateway secret (the old one stays accepted for "
        'WEBSOCKETS["secret_rotation_window_seconds"]) and applies the API so AWS sends the new '
        "one: no callback is refused on the way; 'teardown' deletes "
        "the gateway's DNS alias, API mapping, custom domain and API. Exits non-zero when a step "
        "fails, naming the step."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("operation", choices=["plan", "apply", "rotate-secret", "teardown"])
        add_gateway_arguments(parser)
        parser.add_argument(
            "--only",
            choices=sorted(provisioning.ALL_PARTS),
            help="plan/apply only the API (routes, stage, deployment) or only the custom domain "
            "(domain name, API mapping, DNS alias).",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="plan: exit with status 2 when there are changes to apply.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="teardown: list what would be deleted, delete nothing.",
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="teardown: do not ask for confirmation.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = find_gateway(options["pk"], options["name"])
        operation: str = options["operation"]
        parts = {options["only"]} if options["only"] else None
        label = f"ApiGateway {gateway.api_name!r} (pk={gateway.pk})"
        try:
            if operation == "plan":
                self.stdout.write(f"Reading AWS for {label}...")
                result = provisioning.plan(gateway, parts=parts)
                self._print_plan(result)
                if options["check"] and not result.empty:
                    raise CommandError(f"{len(result.changes)} change(s) to apply.", returncode=2)
            elif operation == "apply":
                self.stdout.write(f"Applying {label}:")
                result = provisioning.apply(gateway, parts=parts, progress=self._progress)
                self._print_done(result, "AWS already matched the gateway; nothing changed.")
            elif operation == "rotate-secret":
                self.stdout.write(f"Rotating the secret of {label}:")
                result = provisioning.rotate_secret(gateway, progress=self._progress)
                self._print_done(result, "AWS already matched the gateway; nothing changed.")
            else:
                self._teardown(
                    gateway, label, dry_run=options["dry_run"], interactive=options["interactive"]
                )
        except ProvisioningError as error:
            done = len(error.done)
            raise CommandError(
                f"{operation} stopped at step '{error.step}': {error.reason}. "
                f"{done} change(s) were made before it and are recorded on the row; fix the "
                f"cause and run '{operation}' again to continue."
            ) from None
        except (ClientError, BotoCoreError, RuntimeError) as error:
            # Making the clients: no region, an unknown profile, no credentials.
            raise CommandError(f"{operation} could not start: {error}") from None

    def _teardown(
        self, gateway: ApiGateway, label: str, *, dry_run: bool, interactive: bool
    ) -> None:
        if dry_run:
            self.stdout.write(f"Reading AWS for {label}...")
            result = provisioning.teardown(gateway, dry_run=True)
            if result.empty:
                self.stdout.write("Nothing to delete.")
            else:
                self.stdout.write("Teardown would:")
                for change in result.changes:
                    self.stdout.write(f"  {change}")
            return
        if interactive:
            answer = input(
                f"This deletes the AWS resources of {label}. Type the api_name to confirm: "
            )
            if answer.strip() != gateway.api_name:
                raise CommandError("Teardown cancelled: the name did not match.")
        self.stdout.write(f"Tearing down {label}:")
        result = provisioning.teardown(gateway, progress=self._progress)
        self._print_done(result, "Nothing to delete.")

    def _progress(self, event: Event, change: Change) -> None:
        if event == "start":
            self.stdout.write(f"  {change} ...", ending="")
            self.stdout.flush()
        elif event == "done":
            self.stdout.write(self.style.SUCCESS(" done"))
        else:
            self.stdout.write(self.style.ERROR(" FAILED"))

    def _print_plan(self, result: provisioning.Result) -> None:
        if result.empty:
            self.stdout.write(self.style.SUCCESS("No changes: AWS matches the gateway."))
            return
        for change in result.changes:
            self.stdout.write(f"  {change}")
        self.stdout.write(f"Plan: {result.summary()}. Run 'apply' to make these changes.")

    def _print_done(self, result: provisioning.Result, nothing: str) -> None:
        if result.empty:
            self.stdout.write(self.style.SUCCESS(nothing))
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {result.summary()}."))
