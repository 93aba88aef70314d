"""``manage.py createApiGateway --pk N``: create an ApiGateway row's WebSocket API on AWS."""

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
        "Create the AWS API Gateway WebSocket API described by an ApiGateway row: the API, its "
        "$connect, $disconnect and $default routes pointing at target_base_endpoint, the "
        "additional routes, the stage and a deployment. The row's api_id, api_endpoint and "
        "deployment_id are filled in and api_created is set once every step succeeded; a run "
        "that failed part way can be repeated. A row that is already created is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_gateway_arguments(
            parser, pk_help="Primary key of the ApiGateway row to create on AWS.", name_help=None
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:  # the existing package's lookup (projects' tests patch ApiGateway in this module)
            gateway = ApiGateway.objects.get(pk=options["pk"], api_created=False)
        except ObjectDoesNotExist:
            raise self._not_found(options["pk"]) from None
        if not gateway.target_base_endpoint:
            raise CommandError(
                f"ApiGateway {gateway.api_name!r} (pk={gateway.pk}) has no target_base_endpoint: "
                "set it to the URL your routes are served under (e.g. https://www.example.com/ws/) "
                "and run the command again."
            )
        try:
            gateway.create_gateway()
        except (ClientError, BotoCoreError) as error:
            raise aws_failure("Creating the API Gateway", gateway, error) from None
        except ValidationError as error:  # saving the row validates it
            raise CommandError(
                f"ApiGateway {gateway.api_name!r} (pk={gateway.pk}) is not valid: "
                f"{'; '.join(error.messages)}. Correct it and run the command again."
            ) from None
        except (RuntimeError, ValueError) as error:  # no region; a row provisioning refuses
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created API Gateway {gateway.api_name!r} (pk={gateway.pk}): api_id "
                f"{gateway.api_id}, endpoint {gateway.api_endpoint or '-'}, stage "
                f"{gateway.stage_name}, deployment {gateway.deployment_id}."
            )
        )

    @staticmethod
    def _not_found(pk: int) -> CommandError:
        """Why there is no row to create: no such row (listing those there are), or it is
        already created."""
        gateway = find_gateway(pk)  # a CommandError listing the rows when there is none
        if gateway.api_created:
            return CommandError(
                f"ApiGateway {gateway.api_name!r} (pk={gateway.pk}) is already created on AWS "
                f"(api_id {gateway.api_id or 'unknown'}); there is nothing to do. To bring it "
                "up to date with the row, run `manage.py provisionApiGateway apply --pk "
                f"{gateway.pk}`."
            )
        return gateway_changed(pk)
