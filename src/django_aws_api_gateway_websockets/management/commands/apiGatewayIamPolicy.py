"""``manage.py apiGatewayIamPolicy``: least-privilege IAM policies for the configured gateways."""

from __future__ import annotations

import json
from typing import Any

import boto3
from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_aws_api_gateway_websockets.management._common import (
    add_gateway_arguments,
    find_gateway,
)
from django_aws_api_gateway_websockets.models import ApiGateway, get_region_name
from django_aws_api_gateway_websockets.provisioning.iam import deploy_policy, runtime_policy


class Command(BaseCommand):
    help = (
        "Print least-privilege IAM policies (JSON) for the configured gateways: 'deploy' for "
        "whoever runs provisionApiGateway plan/apply/teardown, 'runtime' for the Django site "
        "(posting to connections). All gateways unless --pk or --name picks one. Print them "
        "again after the first apply: policies name each API by its id once it exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_gateway_arguments(parser, required=False)
        parser.add_argument(
            "--kind",
            choices=["deploy", "runtime", "both"],
            default="both",
            help='Which policy to print (default: both, as {"deploy": ..., "runtime": ...}).',
        )
        parser.add_argument(
            "--account-id",
            default="*",
            help="AWS account id for the runtime policy's execute-api ARNs (default: *).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["pk"] is not None or options["name"] is not None:
            gateways = [find_gateway(options["pk"], options["name"])]
        else:
            gateways = list(ApiGateway.objects.order_by("pk"))
        if not gateways:
            raise CommandError("There are no ApiGateway rows to write policies for.")
        try:
            region = get_region_name()
        except RuntimeError as error:
            raise CommandError(str(error)) from None
        partition = boto3.session.Session().get_partition_for_region(region)
        policies = {
            "deploy": deploy_policy(gateways, region=region, partition=partition),
            "runtime": runtime_policy(
                gateways, region=region, account_id=options["account_id"], partition=partition
            ),
        }
        output: Any = policies if options["kind"] == "both" else policies[options["kind"]]
        self.stdout.write(json.dumps(output, indent=2))
