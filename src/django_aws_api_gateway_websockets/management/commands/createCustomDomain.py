"""``manage.py createCustomDomain --pk N``: create the custom domain of a created ApiGateway."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.management._common import (
    add_gateway_arguments,
    aws_failure,
    find_gateway,
    gateway_changed,
)
from django_aws_api_gateway_websockets.models import ApiGateway


class Command(BaseCommand):
    help = (
        "Create the custom domain (domain_name, with the ACM certificate certificate_arn) of an "
        "ApiGateway row that createApiGateway has already created, and map it to the row's "
        "stage. Prints the API Gateway domain name to point your DNS record (CNAME or Route 53 "
        "alias) at. Refused when the gateway is not created yet, has no domain name or "
        "certificate ARN, or already has its custom domain."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_gateway_arguments(
            parser,
            pk_help="Primary key of the (already created) ApiGateway row whose custom domain to "
            "create.",
            name_help=None,
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:  # the existing package's lookup (projects' tests patch ApiGateway in this module)
            gateway = ApiGateway.objects.get(
                pk=options["pk"], api_created=True, custom_domain_created=False
            )
        except ObjectDoesNotExist:
            raise self._not_found(options["pk"]) from None
        label = f"ApiGateway {gateway.api_name!r} (pk={gateway.pk})"
        if not gateway.domain_name:
            raise CommandError(f"{label} has no domain_name: set it and run the command again.")
        if not gateway.certificate_arn:
            raise CommandError(
                f"{label} has no certificate_arn: request a certificate for "
                f"{gateway.domain_name} in AWS Certificate Manager, store its ARN on the row and "
                "run the command again."
            )
        try:
            gateway.create_custom_domain()
        except ValueError as error:  # the model's own precondition checks
            raise CommandError(f"{label}: {error}") from None
        except (ClientError, BotoCoreError) as error:
            raise aws_failure("Creating the custom domain", gateway, error) from None
        except ValidationError as error:  # saving the row validates it
            raise CommandError(
                f"ApiGateway {gateway.api_name!r} (pk={gateway.pk}) is not valid: "
                f"{'; '.join(error.messages)}. Correct it and run the command again."
            ) from None
        except RuntimeError as error:  # no region configured (see get_region_name)
            raise CommandError(str(error)) from None
        dns = (
            f"Its Route 53 alias record in zone {gateway.hosted_zone_id} points at "
            f"{gateway.api_gateway_domain_name}."
            if gateway.hosted_zone_id
            else f"Point its DNS record at {gateway.api_gateway_domain_name}."
        )
        self.stdout.write(
            self.style.SUCCESS(f"Created custom domain {gateway.domain_name} for {label}. {dns}")
        )

    @staticmethod
    def _not_found(pk: int) -> CommandError:
        """Why there is no row to work on: no such row (listing those there are), its API is
        not created yet, or it already has its custom domain."""
        gateway = find_gateway(pk)  # a CommandError listing the rows when there is none
        label = f"ApiGateway {gateway.api_name!r} (pk={gateway.pk})"
        if not gateway.api_created:
            return CommandError(
                f"{label} is not created on AWS yet: run `manage.py createApiGateway "
                f"--pk {gateway.pk}` first."
            )
        if gateway.custom_domain_created:
            return CommandError(
                f"{label} already has its custom domain {gateway.domain_name}; there is nothing "
                "to do. To bring it up to date with the row, run `manage.py provisionApiGateway "
                f"apply --only domain --pk {gateway.pk}`."
            )
        return gateway_changed(pk)
