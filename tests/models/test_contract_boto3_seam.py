"""The 4.0 seams projects' own test suites patch, tested the way those suites use them.

AWS itself cannot run here, so these tests replace ``models.boto3`` or
``models.get_boto3_client`` with ``MagicMock`` objects, exactly as users' projects do (that is
the contract under test); the real-AWS paths are covered with moto elsewhere.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock, patch

import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets import models
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    WebSocketSession,
)

pytestmark = pytest.mark.django_db

BOTO3 = "django_aws_api_gateway_websockets.models.boto3"
FACTORY = "django_aws_api_gateway_websockets.models.get_boto3_client"


def _session(gateway: ApiGateway, connection_id: str = "conn-1=") -> WebSocketSession:
    return WebSocketSession.objects.create(connection_id=connection_id, api_gateway=gateway)


# -- models.boto3 ----------------------------------------------------------------------------------


def test_models_has_the_boto3_the_factory_uses() -> None:
    import boto3

    assert models.boto3 is boto3
    with patch(BOTO3) as mocked:
        client = models.get_boto3_client("apigatewayv2")
    assert client is mocked.client.return_value
    mocked.client.assert_called_once_with(
        "apigatewayv2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


@override_settings(AWS_IAM_PROFILE="deploy", AWS_REGION_NAME=None)
def test_models_boto3_patch_sees_the_profile_session() -> None:
    with patch(BOTO3) as mocked:
        mocked.Session.return_value.region_name = "eu-west-1"
        client = models.get_boto3_client("apigatewaymanagementapi")
    mocked.Session.assert_called_once_with(profile_name="deploy")
    mocked.Session.return_value.client.assert_called_once_with("apigatewaymanagementapi")
    assert client is mocked.Session.return_value.client.return_value


@override_settings(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None)
def test_models_boto3_patch_blocks_sending(gateway: ApiGateway) -> None:
    """A project that patches models.boto3 to block AWS: the post goes to its mock (not to a
    cached client of the real boto3, nor through the lean transport)."""
    session = _session(gateway)
    models.get_boto3_client("apigatewaymanagementapi", endpoint_url="https://x/production")
    with patch(BOTO3) as mocked:
        session.send_message({"hello": "world"})
        WebSocketSession.objects.filter(pk=session.pk).send_message({"to": "all"})
    endpoint = "https://abc123defg.execute-api.us-east-1.amazonaws.com/production"
    assert mocked.client.call_args_list[0].args == ("apigatewaymanagementapi",)
    assert mocked.client.call_args_list[0].kwargs == {
        "region_name": "us-east-1",
        "endpoint_url": endpoint,
    }
    posts = mocked.client.return_value.post_to_connection.call_args_list
    assert [c.kwargs for c in posts] == [
        {"Data": '{"hello": "world"}', "ConnectionId": "conn-1="},
        {"Data": '{"to": "all"}', "ConnectionId": "conn-1="},
    ]


# -- a patched factory: sending ------------------------------------------------------------------


def test_patched_factory_gets_the_4_0_endpoint_for_a_gateway_never_created() -> None:
    gateway = ApiGateway.objects.create(api_name="Never created", stage_name="dev")
    session = _session(gateway)
    factory = MagicMock()
    with patch(FACTORY, factory):
        response = session.send_message({"a": 1})
        result = WebSocketSession.objects.filter(pk=session.pk).send_message({"b": 2})
    url = "https://.execute-api.us-east-1.amazonaws.com/dev"
    assert [c.args for c in factory.call_args_list] == [("apigatewaymanagementapi",)] * 2
    assert [c.kwargs for c in factory.call_args_list] == [{"endpoint_url": url}] * 2
    client = factory.return_value
    assert response is client.post_to_connection.return_value
    assert list(result) == [client.post_to_connection.return_value]


def test_real_factory_refuses_a_gateway_never_created() -> None:
    gateway = ApiGateway.objects.create(api_name="Never created")
    with pytest.raises(ValueError, match="has no api_id"):
        _session(gateway).send_message({"a": 1})


# -- a patched factory: provisioning -------------------------------------------------------------


def _new_gateway(**fields: Any) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint="https://www.example.com/ws/", **fields
    )


def test_create_gateway_with_a_configured_magicmock_client() -> None:
    """The test a project writes: configure the create_* answers it cares about, leave the rest
    (create_route, create_stage, every get_*) as MagicMocks."""
    gateway = _new_gateway()
    client = MagicMock()
    client.create_api.return_value = {
        "ApiId": "api1234567",
        "ApiEndpoint": "wss://api1234567.execute-api.us-east-1.amazonaws.com",
    }
    client.create_integration.return_value = {"IntegrationId": "int1"}
    client.create_deployment.return_value = {"DeploymentId": "dep1"}
    with patch(FACTORY, return_value=client):
        assert gateway.create_gateway() is True
    gateway.refresh_from_db()
    assert (gateway.api_created, gateway.api_id, gateway.deployment_id) == (
        True,
        "api1234567",
        "dep1",
    )
    assert gateway.api_endpoint == "wss://api1234567.execute-api.us-east-1.amazonaws.com"
    assert client.create_route.call_count == 3  # $connect, $disconnect, $default
    targets = {c.kwargs["Target"] for c in client.create_route.call_args_list}
    assert targets == {"integrations/int1"}
    client.create_stage.assert_called_once()
    # Already created: nothing to do, and None as the existing package returned.
    client.reset_mock()
    with patch(FACTORY, return_value=client):
        assert gateway.create_gateway() is None
    client.create_api.assert_not_called()


def test_create_gateway_with_an_unconfigured_client_keeps_the_rows_ids() -> None:
    gateway = _new_gateway(api_id="kept123456", deployment_id="olddep")
    with patch(FACTORY, return_value=MagicMock()) as factory:
        gateway.create_gateway()
    gateway.refresh_from_db()
    assert gateway.api_created
    assert (gateway.api_id, gateway.deployment_id) == ("kept123456", "olddep")
    client = factory.return_value
    client.create_api.assert_not_called()  # the row's API is kept, not replaced
    client.create_deployment.assert_called_once()


def test_create_gateway_records_no_id_from_a_mock() -> None:
    gateway = _new_gateway()
    with patch(FACTORY, return_value=MagicMock()) as factory:
        gateway.create_gateway()
    gateway.refresh_from_db()
    assert gateway.api_created and gateway.api_id == "" and gateway.deployment_id == ""
    factory.return_value.create_api.assert_called_once()


def test_create_custom_domain_with_a_magicmock_client() -> None:
    gateway = _new_gateway(
        api_id="api1234567",
        domain_name="ws.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123:certificate/x",
        api_mapping_id="map-old",
        api_gateway_domain_name="d-old.execute-api.us-east-1.amazonaws.com",
    )
    ApiGateway.objects.filter(pk=gateway.pk).update(api_created=True)
    gateway.refresh_from_db()
    with patch(FACTORY, return_value=MagicMock()) as factory:
        gateway.create_custom_domain()
    gateway.refresh_from_db()
    assert gateway.custom_domain_created
    assert gateway.api_mapping_id == "map-old"
    assert gateway.api_gateway_domain_name == "d-old.execute-api.us-east-1.amazonaws.com"
    factory.return_value.create_domain_name.assert_called_once()
    factory.return_value.create_api_mapping.assert_called_once()


def test_deploy_api_with_a_magicmock_client() -> None:
    gateway = _new_gateway(api_id="api1234567", deployment_id="dep0")
    client = MagicMock()
    gateway.deploy_api(client)
    assert gateway.deployment_id == "dep0"
    client.create_deployment.return_value = {"DeploymentId": "dep2"}
    gateway.deploy_api(client)
    assert gateway.deployment_id == "dep2"


# -- saving additional routes --------------------------------------------------------------------


def _deployed_gateway() -> ApiGateway:
    return _new_gateway(api_id="api1234567", deployment_id="dep1")


def test_inserting_a_deployed_route_is_trusted() -> None:
    gateway = _deployed_gateway()
    with patch(FACTORY) as factory:
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name="Chat",
            route_key="chat",
            integration_url="https://www.example.com/ws/chat",
            deployed=True,
        )
    factory.assert_not_called()


def test_resaving_an_unchanged_deployed_route_makes_no_aws_call(
    django_capture_on_commit_callbacks: Any,
) -> None:
    gateway = _deployed_gateway()
    with patch(FACTORY, return_value=MagicMock()):
        route = ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name="Chat",
            route_key="chat",
            integration_url="https://www.example.com/ws/chat",
        )
    assert route.deployed
    loaded = ApiGatewayAdditionalRoute.objects.get(pk=route.pk)
    with patch(FACTORY) as factory:
        loaded.name = "Renamed"  # a name is not sent to AWS
        loaded.save()
        route.save()
    factory.assert_not_called()
    # An edit of what AWS serves still pushes (our improvement), when the transaction commits.
    with (
        patch(FACTORY, return_value=MagicMock()) as factory,
        django_capture_on_commit_callbacks(execute=True),
    ):
        loaded.integration_url = "https://www.example.com/ws/chat2"
        loaded.save()
        factory.assert_not_called()
    factory.return_value.create_integration.assert_called_once()
    factory.return_value.create_deployment.assert_called_once()


def test_saving_an_undeployed_route_pushes_it() -> None:
    gateway = _deployed_gateway()
    with patch(FACTORY, return_value=MagicMock()) as factory:
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name="Chat",
            route_key="chat",
            integration_url="https://www.example.com/ws/chat",
        )
    factory.return_value.create_route.assert_called_once()
