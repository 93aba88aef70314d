"""Release 4.1's sync on our engine: sync_to_aws (push = apply), sync_from_aws (pull, new),
save/delete(push_to_aws=), push_changes_to_aws, ApiGatewaySyncError. Against moto in-process
(``mock_aws``), the moto server (real HTTP), and the way a 4.1 project tests (a MagicMock client
patched at ``models.get_boto3_client``: it answers MagicMocks, not dicts)."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from django_aws_api_gateway_websockets import provisioning, sync
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ApiGatewaySyncError,
    collect_deferred_sync_errors,
)
from tests.support.moto_aws import deployed_gateway, inventory, plain_client, use_client_factory

pytestmark = pytest.mark.django_db

BASE = "https://www.example.com/ws/"
FACTORY = "django_aws_api_gateway_websockets.models.get_boto3_client"


@pytest.fixture
def deployed(moto_aws: Any) -> ApiGateway:
    return deployed_gateway()


def fresh(gateway: ApiGateway) -> ApiGateway:
    return ApiGateway.objects.get(pk=gateway.pk)


def test_the_sync_module_has_4_1_names() -> None:
    assert sync.ApiGatewaySyncError is ApiGatewaySyncError
    assert sync.DEFAULT_ROUTE_KEYS == ("$connect", "$disconnect", "$default")
    assert {"api_name", "target_base_endpoint", "stage_description"} <= set(
        sync.SYNCED_GATEWAY_FIELDS
    )
    assert callable(sync.push_gateway) and callable(sync.pull_gateway)


def test_not_deployed_is_refused(moto_aws: Any) -> None:
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    with pytest.raises(ValueError, match="must be deployed"):
        row.sync_to_aws()
    with pytest.raises(ValueError, match="must be deployed"):
        row.sync_from_aws()


def test_sync_to_aws_in_step_changes_nothing(deployed: ApiGateway) -> None:
    assert deployed.sync_to_aws() == []


def test_saving_a_deployed_gateway_pushes_after_commit(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        deployed.api_description = "chat rooms"
        deployed.target_base_endpoint = "https://api.example.com/ws"
        deployed.save()
        assert plain_client().get_api(ApiId=deployed.api_id).get("Description", "") == ""
    assert len(pushes) == 1
    assert plain_client().get_api(ApiId=deployed.api_id)["Description"] == "chat rooms"
    live = inventory(plain_client(), deployed.api_id)
    assert live["routes"]["$default"]["uri"] == "https://api.example.com/ws/default"
    assert live["stages"]["production"] == fresh(deployed).deployment_id  # redeployed


def test_save_without_push(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    with django_capture_on_commit_callbacks() as pushes:
        deployed.api_description = "one"
        deployed.save(push_to_aws=False)
        deployed.default_channel_name = "lobby"  # not held by AWS
        deployed.save()
    settings.WEBSOCKETS = {"push_changes_to_aws": False}
    with django_capture_on_commit_callbacks() as more:
        deployed.api_description = "two"
        deployed.save()
    assert pushes == [] and more == []
    with django_capture_on_commit_callbacks() as forced:
        deployed.api_description = "three"
        deployed.save(push_to_aws=True)
    assert len(forced) == 1


def test_sync_to_aws_reports_and_undoes_a_change_made_in_aws(deployed: ApiGateway) -> None:
    plain_client().update_api(ApiId=deployed.api_id, Name="Renamed in the console")
    sentences = deployed.sync_to_aws()
    # the API's own attribute: no new deployment needed
    assert sentences == ["Updated API Chat (name: 'Renamed in the console' -> 'Chat')"]
    assert plain_client().get_api(ApiId=deployed.api_id)["Name"] == "Chat"


def test_sync_from_aws_pulls_attributes_base_url_deployment_and_routes(
    deployed: ApiGateway,
) -> None:
    client = plain_client()
    api_id = deployed.api_id
    client.update_api(ApiId=api_id, Name="Renamed", Description="from the console")
    integrations = {i["IntegrationUri"]: i for i in client.get_integrations(ApiId=api_id)["Items"]}
    client.update_integration(
        ApiId=api_id,
        IntegrationId=integrations[f"{BASE}default"]["IntegrationId"],
        IntegrationUri="https://new.example.com/sockets/default",
    )
    added = client.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationMethod="POST",
        IntegrationUri="https://new.example.com/sockets/extra",
    )
    route = client.create_route(
        ApiId=api_id, RouteKey="extra", Target=f"integrations/{added['IntegrationId']}"
    )
    local = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=deployed,
        name="Gone",
        route_key="gone",
        integration_url=f"{BASE}gone",
        deployed=True,
    )
    sentences = deployed.sync_from_aws()
    row = fresh(deployed)
    assert (row.api_name, row.api_description) == ("Renamed", "from the console")
    assert row.target_base_endpoint == "https://new.example.com/sockets/"
    assert "Updated api_name" in sentences
    assert "Added the extra route, found only in AWS" in sentences
    extra = ApiGatewayAdditionalRoute.objects.get(route_key="extra")
    assert (extra.route_id, extra.integration_id, extra.deployed) == (
        route["RouteId"],
        added["IntegrationId"],
        True,
    )
    assert extra.integration_url == "https://new.example.com/sockets/extra"
    local.refresh_from_db()
    assert not local.deployed  # kept, marked for the next push; nothing deleted
    assert deployed.sync_from_aws() == []  # in step now
    assert client.get_api(ApiId=api_id)["Name"] == "Renamed"  # a pull changes nothing in AWS


def test_a_gateway_deleted_in_aws_is_a_clear_sync_error_and_rows_stay(
    deployed: ApiGateway,
) -> None:
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=deployed, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    plain_client().delete_api(ApiId=deployed.api_id)
    before = fresh(deployed)
    for sync_it in (before.sync_to_aws, before.sync_from_aws):
        with pytest.raises(ApiGatewaySyncError, match="no longer exists in AWS"):
            sync_it()
    after = fresh(deployed)
    assert after.api_id == before.api_id and after.deployment_id == before.deployment_id
    assert after.last_error == "ClientError: NotFoundException"
    assert ApiGatewayAdditionalRoute.objects.filter(pk=route.pk, deployed=True).exists()
    assert plain_client().get_apis()["Items"] == []  # and no new API was created


def test_deleting_a_route_removes_it_from_aws_after_commit_and_redeploys(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=deployed, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    assert "chat" in inventory(plain_client(), deployed.api_id)["routes"]
    with django_capture_on_commit_callbacks(execute=True) as removals:
        route.delete()
        assert "chat" in inventory(plain_client(), deployed.api_id)["routes"]  # not yet
    assert len(removals) == 1
    live = inventory(plain_client(), deployed.api_id)
    assert "chat" not in live["routes"] and live["integration_count"] == 3
    assert live["stages"]["production"] == fresh(deployed).deployment_id


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_aws_goes_first_and_a_failure_keeps_the_row(
    moto_aws: Any,
) -> None:
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    provisioning.apply(row, parts={"api"})
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=fresh(row), name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    plain_client().delete_api(ApiId=fresh(row).api_id)
    with pytest.raises(ApiGatewaySyncError, match="NotFoundException"):
        ApiGatewayAdditionalRoute.objects.get(pk=route.pk).delete()
    assert ApiGatewayAdditionalRoute.objects.filter(pk=route.pk).exists()
    ApiGatewayAdditionalRoute.objects.get(pk=route.pk).delete(push_to_aws=False)
    assert not ApiGatewayAdditionalRoute.objects.filter(pk=route.pk).exists()


def test_a_queryset_delete_removes_routes_after_commit_a_cascade_does_not(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    for key in ("a", "b"):
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=deployed, name=key, route_key=key, integration_url=f"{BASE}{key}"
        )
    with django_capture_on_commit_callbacks(execute=True) as removals:
        ApiGatewayAdditionalRoute.objects.filter(route_key="a").delete()
    assert len(removals) == 1
    assert set(inventory(plain_client(), deployed.api_id)["routes"]) == {
        "$connect",
        "$disconnect",
        "$default",
        "b",
    }
    with django_capture_on_commit_callbacks() as cascade:
        ApiGateway.objects.filter(pk=deployed.pk).delete()
    assert cascade == []
    assert "b" in inventory(plain_client(), deployed.api_id)["routes"]


def test_a_deferred_failure_is_collected_not_raised(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    plain_client().delete_api(ApiId=deployed.api_id)
    with (
        collect_deferred_sync_errors() as errors,
        django_capture_on_commit_callbacks(execute=True),  # (runs them on exit, inside)
    ):
        deployed.api_description = "changed"
        deployed.save()
    assert len(errors) == 1 and "no longer exists in AWS" in str(errors[0])
    assert fresh(deployed).api_description == "changed"  # the row keeps the change


# -- the way a 4.1 project tests: a MagicMock factory answering MagicMocks ------------------------


def test_a_4_1_project_s_magicmock_sync(db: None, django_capture_on_commit_callbacks: Any) -> None:
    gateway = ApiGateway.objects.create(
        api_name="Chat",
        target_base_endpoint=BASE,
        api_id="abc123",
        deployment_id="dep1",
        api_created=True,
        secret="s" * 43,
    )
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="Chat",
        route_key="chat",
        integration_url=f"{BASE}chat",
        deployed=True,
        route_id="r1",
        integration_id="i1",
    )
    with (
        mock.patch(FACTORY) as factory,
        django_capture_on_commit_callbacks(execute=True),
    ):
        client = factory.return_value
        assert isinstance(gateway.sync_to_aws(), list)
        assert isinstance(gateway.sync_from_aws(), list)
        route.delete()
    client.update_api.assert_called()
    client.delete_route.assert_called_once_with(ApiId="abc123", RouteId="r1")
    client.delete_integration.assert_called_once_with(ApiId="abc123", IntegrationId="i1")
    client.create_deployment.assert_called()
    gateway.refresh_from_db()
    assert (gateway.api_id, gateway.deployment_id, gateway.last_error) == ("abc123", "dep1", "")


# -- real HTTP: the moto server --------------------------------------------------------------------


def test_push_and_pull_over_http(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    use_client_factory(monkeypatch, endpoint_url=moto_url)
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    provisioning.apply(row, parts={"api"})
    row = fresh(row)
    client = plain_client(endpoint_url=moto_url)
    client.update_api(ApiId=row.api_id, Description="edited in AWS")
    assert row.sync_from_aws() == ["Updated api_description"]
    row = fresh(row)
    row.api_description = "edited here"
    row.save(push_to_aws=False)
    assert any(s.startswith("Updated API Chat") for s in row.sync_to_aws())
    assert client.get_api(ApiId=row.api_id)["Description"] == "edited here"
