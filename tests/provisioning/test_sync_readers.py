"""Release 4.1's module-level readers in ``sync``: ``list_routes``, ``list_integrations``,
``integration_id_of``, ``is_not_found``. Against moto (in-process, as AWS answers: real pages of
a real API made by ``apply``) and the way a 4.1 project tests (a ``MagicMock`` client whose
pages the test sets; AWS itself cannot run here)."""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets import sync
from django_aws_api_gateway_websockets.models import ApiGatewayAdditionalRoute
from tests.support.moto_aws import deployed_gateway, plain_client

pytestmark = pytest.mark.django_db


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}}, "GetApi")


def test_readers_against_an_api_apply_made(moto_aws: Any) -> None:
    gateway = deployed_gateway()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="Chat",
        route_key="chat",
        integration_url=gateway.target_base_endpoint + "chat",
    )
    from django_aws_api_gateway_websockets import provisioning

    provisioning.apply(gateway, parts={"api"})
    client = plain_client()
    routes = sync.list_routes(client, gateway.api_id)
    integrations = sync.list_integrations(client, gateway.api_id)
    assert sorted(r["RouteKey"] for r in routes) == ["$connect", "$default", "$disconnect", "chat"]
    by_key = {r["RouteKey"]: integrations[sync.integration_id_of(r)] for r in routes}
    assert by_key["chat"]["IntegrationUri"] == "https://www.example.com/ws/chat"
    assert by_key["$default"]["IntegrationUri"] == "https://www.example.com/ws/default"
    assert set(integrations) == {sync.integration_id_of(r) for r in routes}


def test_a_deleted_api_is_not_found(moto_aws: Any) -> None:
    gateway = deployed_gateway()
    client = plain_client()
    client.delete_api(ApiId=gateway.api_id)
    with pytest.raises(ClientError) as raised:
        sync.list_routes(client, gateway.api_id)
    assert sync.is_not_found(raised.value)


def test_every_page_is_read() -> None:
    client = MagicMock()
    client.get_routes.side_effect = [
        {"Items": [{"RouteKey": "a", "Target": "integrations/i1"}], "NextToken": "p2"},
        {"Items": [{"RouteKey": "b"}]},
    ]
    client.get_integrations.return_value = {"Items": [{"IntegrationId": "i1"}]}
    routes = sync.list_routes(client, "api1")
    assert [r["RouteKey"] for r in routes] == ["a", "b"]
    assert [c.kwargs for c in client.get_routes.call_args_list] == [
        {"ApiId": "api1"},
        {"ApiId": "api1", "NextToken": "p2"},
    ]
    assert sync.list_integrations(client, "api1") == {"i1": {"IntegrationId": "i1"}}
    assert [sync.integration_id_of(r) for r in routes] == ["i1", ""]


def test_an_unconfigured_magicmock_client_lists_nothing() -> None:
    """A 4.1 project's bare ``MagicMock()`` answers MagicMocks: an empty listing, no loop."""
    assert sync.list_routes(MagicMock(), "api1") == []
    assert sync.list_integrations(MagicMock(), "api1") == {}


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ({"Target": "integrations/abc123"}, "abc123"),
        ({"Target": "arn:aws:lambda:x"}, ""),
        ({}, ""),
        ({"Target": None}, ""),
    ],
)
def test_integration_id_of(route: dict[str, Any], expected: str) -> None:
    assert sync.integration_id_of(route) == expected


def test_is_not_found() -> None:
    assert sync.is_not_found(client_error("NotFoundException"))
    assert not sync.is_not_found(client_error("TooManyRequestsException"))
    assert not sync.is_not_found(ValueError("NotFoundException"))
