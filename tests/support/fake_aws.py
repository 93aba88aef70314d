"""A MagicMock apigatewayv2 client patched in at ``models.get_boto3_client``.

It stands in for real AWS in the admin and command tests (the provisioning tests use moto).
"""

from __future__ import annotations

from unittest import mock

APP = "django_aws_api_gateway_websockets"


def fake_client() -> mock.MagicMock:
    """A stand-in for the boto3 ``apigatewayv2`` client with AWS-shaped answers."""
    client = mock.MagicMock(name="apigatewayv2")
    client.create_api.return_value = {
        "ApiId": "newapi1234",
        "ApiEndpoint": "wss://newapi1234.execute-api.us-east-1.amazonaws.com",
    }
    client.get_routes.return_value = {"Items": []}
    client.create_integration.return_value = {"IntegrationId": "int1"}
    client.create_route.return_value = {"RouteId": "route1"}
    client.get_route_responses.return_value = {"Items": []}
    client.get_stages.return_value = {"Items": []}
    client.create_deployment.return_value = {"DeploymentId": "dep1"}
    client.create_domain_name.return_value = {
        "DomainNameConfigurations": [{"ApiGatewayDomainName": "d-abc.execute-api.amazonaws.com"}]
    }
    client.create_api_mapping.return_value = {"ApiMappingId": "map1"}
    return client
