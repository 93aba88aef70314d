"""``updateApiGatewayIntegrations [--pk N] [--dry-run]`` (release 4.1's command) on moto's
emulated apigatewayv2 (real AWS cannot run here): adds, changes and removes the
``X-Ws-Gateway-Secret`` mapping on every integration and redeploys; a dry run changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.wire import SETTINGS_SECRET_HEADER
from tests.support.moto_aws import inventory

pytestmark = pytest.mark.django_db

KEY = f"integration.request.header.{SETTINGS_SECRET_HEADER}"
FIRST = "a" * 40
SECOND = "b" * 40


@pytest.fixture
def created(moto_aws: Any) -> ApiGateway:
    row = ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint="https://www.example.com/ws/"
    )
    provisioning.apply(row)
    return ApiGateway.objects.get(pk=row.pk)


def run(*args: str) -> str:
    out = StringIO()
    call_command("updateApiGatewayIntegrations", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def mapped(moto_aws: Any, row: ApiGateway) -> set[str | None]:
    live = inventory(moto_aws, row.api_id)
    return {route["params"].get(KEY) for route in live["routes"].values()}


def test_add_change_remove_and_redeploy(moto_aws: Any, created: ApiGateway, settings) -> None:
    assert mapped(moto_aws, created) == {None}
    first_deployment = created.deployment_id

    settings.WEBSOCKETS = {"gateway_secret": FIRST}
    dry = run("--dry-run")
    assert f"+{SETTINGS_SECRET_HEADER}" in dry and FIRST not in dry
    assert mapped(moto_aws, created) == {None}  # the dry run changed nothing

    out = run()
    assert "update integration $connect" in out and FIRST not in out
    assert mapped(moto_aws, created) == {f"'{FIRST}'"}
    row = ApiGateway.objects.get(pk=created.pk)
    assert row.deployment_id != first_deployment
    assert inventory(moto_aws, row.api_id)["stages"] == {"production": row.deployment_id}

    settings.WEBSOCKETS = {"gateway_secret": [SECOND, FIRST]}
    run("--pk", str(created.pk))
    assert mapped(moto_aws, created) == {f"'{SECOND}'"}

    settings.WEBSOCKETS = {}
    run()
    assert mapped(moto_aws, created) == {None}
    assert "up to date" in run()


def test_gateways_not_created_are_skipped(moto_aws: Any, settings) -> None:
    ApiGateway.objects.create(api_name="Draft", target_base_endpoint="https://www.example.com/ws/")
    assert "No created API Gateway" in run()
    row = ApiGateway.objects.get()
    assert "not created in AWS yet" in run("--pk", str(row.pk))


def test_unknown_pk_is_a_clear_error(moto_aws: Any) -> None:
    with pytest.raises(CommandError, match="There is no ApiGateway with pk=999"):
        run("--pk", "999")


def test_an_api_deleted_in_aws_is_a_clear_error(
    moto_aws: Any, created: ApiGateway, settings
) -> None:
    moto_aws.delete_api(ApiId=created.api_id)
    settings.WEBSOCKETS = {"gateway_secret": FIRST}
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1 gateway"):
        call_command("updateApiGatewayIntegrations", stdout=StringIO(), stderr=err)
    assert "no longer exists in AWS" in err.getvalue()
    assert ApiGateway.objects.get().api_id == created.api_id  # nothing recreated
