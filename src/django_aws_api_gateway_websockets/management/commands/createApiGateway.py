"""``manage.py createApiGateway --pk N``: create an ApiGateway row's WebSocket API on AWS."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.messaging import error_code
from django_aws_api_gateway_websockets.models import ApiGateway


def get_gateway(pk: int) -> ApiGateway:
    """The ApiGateway row ``pk``, or a ``CommandError`` that lists the rows there are."""
    try:
        return ApiGateway.objects.get(pk=pk)
    except ApiGateway.DoesNotExist:
        rows = list(ApiGateway.objects.order_by("pk").values_list("pk", "api_name")[:20])
        known = ", ".join(f"{row_pk} ({name})" for row_pk, name in rows) or "none yet"
        raise CommandError(
            f"There is no ApiGateway with pk={pk}. Existing ApiGateway rows: {known}."
        ) from None


def aws_failure(doing: str, gateway: ApiGateway, error: Exception) -> CommandError:
    """A ``CommandError`` naming the step that failed and the AWS error code (never the error's
    message, which can echo request values such as the gateway secret)."""
    if isinstance(error, ClientError):
        operation = getattr(error, "operation_name", "") or "an AWS call"
        cause = f"AWS returned {error_code(error)} for {operation}"
    else:
        cause = f"botocore raised {type(error).__name__} before reaching AWS"
    return CommandError(
        f"{doing} for ApiGateway {gateway.api_name!r} (pk={gateway.pk}) failed: {cause}. "
        "Nothing was marked as created, so the command can be run again once the cause is fixed."
    )


class Command(BaseCommand):
    help = (
        "Create the AWS API Gateway WebSocket API described by an ApiGateway row: the API, its "
        "$connect, $disconnect and $default routes pointing at target_base_endpoint, the "
        "additional routes, the stage and a deployment. The row's api_id, api_endpoint and "
        "deployment_id are filled in and api_created is set once every step succeeded; a run "
        "that failed part way can be repeated. A row that is already created is refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pk",
            required=True,
            type=int,
            help="Primary key of the ApiGateway row to create on AWS.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        gateway = get_gateway(options["pk"])
        if gateway.api_created:
            raise CommandError(
                f"ApiGateway {gateway.api_name!r} (pk={gateway.pk}) is already created on AWS "
                f"(api_id {gateway.api_id or 'unknown'}); there is nothing to do. To bring it "
                "up to date with the row, run `manage.py provisionApiGateway apply --pk "
                f"{gateway.pk}`."
            )
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
