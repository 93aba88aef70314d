"""The exact AWS calls provisioning makes, asserted with botocore's Stubber: the parameters moto
does not keep or check (ApiKeyRequired, PassthroughBehavior, the deployment's description,
UpdateDomainName's configuration, Route 53's change batch, ...). No moto here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from django_aws_api_gateway_websockets import models, provisioning
from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.provisioning import ROW_MARKER_TAG
from django_aws_api_gateway_websockets.routes import gateway_description
from django_aws_api_gateway_websockets.wire import SECRET_HEADER
from tests.support.moto_aws import plain_client

pytestmark = pytest.mark.django_db

BASE = "https://www.example.com/ws/"
SECRET = "s3cret"
NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Stubber]]:
    clients = {"apigatewayv2": plain_client(), "route53": plain_client("route53")}
    stubbers = {name: Stubber(client) for name, client in clients.items()}
    monkeypatch.setattr(
        models, "get_boto3_client", lambda service="apigatewayv2", **_: clients[service]
    )
    for stubber in stubbers.values():
        stubber.activate()
    yield stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def integration(api_id: str, uri: str) -> dict[str, Any]:
    return {
        "ApiId": api_id,
        "ConnectionType": "INTERNET",
        "IntegrationMethod": "POST",
        "IntegrationType": "HTTP_PROXY",
        "IntegrationUri": uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": {
            "integration.request.header.connectionId": "context.connectionId",
            "integration.request.header.X-Real-Ip": "context.identity.sourceIp",
            f"integration.request.header.{SECRET_HEADER}": f"'{SECRET}'",
        },
        "TimeoutInMillis": 29000,
    }


def test_apply_from_nothing_makes_exactly_these_calls(stubs: dict[str, Stubber]) -> None:
    row = ApiGateway.objects.create(
        api_name="Chat",
        api_description="rooms",
        target_base_endpoint=BASE,
        stage_description="live",
        tags={"team": "web"},
        secret=SECRET,
    )
    fingerprint = gateway_description(row).fingerprint()
    api = stubs["apigatewayv2"]
    api.add_response(
        "create_api",
        {"ApiId": "a1", "ApiEndpoint": "wss://a1.execute-api.us-east-1.amazonaws.com"},
        {
            "ApiKeySelectionExpression": "$request.header.x-api-key",
            "Description": "rooms",
            "DisableSchemaValidation": True,
            "Name": "Chat",
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.action",
            # The row's marker (pk and the token written just before this call: see _api).
            "Tags": {"team": "web", ROW_MARKER_TAG: ANY},
        },
    )
    api.add_response("get_routes", {"Items": []}, {"ApiId": "a1"})
    api.add_response("get_integrations", {"Items": []}, {"ApiId": "a1"})
    for n, (key, slug) in enumerate(
        [("$connect", "connect"), ("$disconnect", "disconnect"), ("$default", "default")]
    ):
        api.add_response(
            "create_integration", {"IntegrationId": f"i{n}"}, integration("a1", f"{BASE}{slug}")
        )
        route = {
            "ApiId": "a1",
            "ApiKeyRequired": False,
            "AuthorizationType": "NONE",
            "RouteKey": key,
            "Target": f"integrations/i{n}",
        }
        if key == "$default":
            route["RouteResponseSelectionExpression"] = "$default"
        api.add_response("create_route", {"RouteId": f"r{n}"}, route)
    api.add_response(
        "create_route_response",
        {"RouteResponseId": "rr"},
        {"ApiId": "a1", "RouteId": "r2", "RouteResponseKey": "$default"},
    )
    api.add_response("get_stages", {"Items": []}, {"ApiId": "a1"})
    api.add_response(
        "create_stage",
        {"StageName": "production"},
        {"ApiId": "a1", "StageName": "production", "Description": "live"},
    )
    api.add_response(
        "create_deployment",
        {"DeploymentId": "d1"},
        {"ApiId": "a1", "StageName": "production", "Description": f"live [config {fingerprint}]"},
    )
    api.add_response("get_domain_names", {"Items": []}, {})
    api.add_response(
        "get_deployments", {"Items": [{"DeploymentId": "d1", "CreatedDate": NOW}]}, {"ApiId": "a1"}
    )

    result = provisioning.apply(row)
    assert len(result.changes) == 10
    row.refresh_from_db()
    assert (row.api_id, row.deployment_id, row.api_created) == ("a1", "d1", True)
    assert row.api_endpoint == "wss://a1.execute-api.us-east-1.amazonaws.com"


def test_certificate_change_and_route53_alias_calls(stubs: dict[str, Stubber]) -> None:
    row = ApiGateway.objects.create(
        api_name="Chat",
        target_base_endpoint=BASE,
        secret=SECRET,
        api_id="a1",
        api_created=True,
        domain_name="ws.example.com",
        certificate_arn="arn:new",
        hosted_zone_id="Z1",
    )
    api, dns = stubs["apigatewayv2"], stubs["route53"]
    target = {
        "ApiGatewayDomainName": "d-1.execute-api.us-east-1.amazonaws.com",
        "HostedZoneId": "ZAPIGW",
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    api.add_response(
        "get_domain_name",
        {
            "DomainName": "ws.example.com",
            "DomainNameArn": "arn:aws:apigateway:us-east-1::/domainnames/ws.example.com",
            "DomainNameConfigurations": [{**target, "CertificateArn": "arn:old"}],
        },
        {"DomainName": "ws.example.com"},
    )
    configuration = {
        "CertificateArn": "arn:new",
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    api.add_response(
        "update_domain_name",
        {
            "DomainName": "ws.example.com",
            "DomainNameConfigurations": [{**target, "CertificateArn": "arn:new"}],
        },
        {"DomainName": "ws.example.com", "DomainNameConfigurations": [configuration]},
    )
    api.add_response(
        "get_tags",
        {"Tags": {}},
        {"ResourceArn": "arn:aws:apigateway:us-east-1::/domainnames/ws.example.com"},
    )
    api.add_response(
        "get_api_mappings",
        {
            "Items": [
                {"ApiId": "a1", "ApiMappingId": "m1", "ApiMappingKey": "", "Stage": "production"}
            ]
        },
        {"DomainName": "ws.example.com"},
    )
    dns.add_response(
        "list_resource_record_sets",
        {"ResourceRecordSets": [], "IsTruncated": False, "MaxItems": "1"},
        {
            "HostedZoneId": "Z1",
            "StartRecordName": "ws.example.com",
            "StartRecordType": "A",
            "MaxItems": "1",
        },
    )
    dns.add_response(
        "change_resource_record_sets",
        {"ChangeInfo": {"Id": "c1", "Status": "PENDING", "SubmittedAt": NOW}},
        {
            "HostedZoneId": "Z1",
            "ChangeBatch": {
                "Comment": "django-aws-api-gateway-websockets",
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": "ws.example.com",
                            "Type": "A",
                            "AliasTarget": {
                                "HostedZoneId": "ZAPIGW",
                                "DNSName": "d-1.execute-api.us-east-1.amazonaws.com",
                                "EvaluateTargetHealth": False,
                            },
                        },
                    }
                ],
            },
        },
    )
    api.add_response("get_domain_names", {"Items": [{"DomainName": "ws.example.com"}]}, {})

    result = provisioning.apply(row, parts={"domain"})
    assert [c.step for c in result.changes] == [
        "update domain name ws.example.com",
        "create DNS record ws.example.com A",
    ]
    assert result.changes[0].details == ("certificate: 'arn:old' -> 'arn:new'",)
    row.refresh_from_db()
    assert row.custom_domain_created and row.api_mapping_id == "m1"
    assert row.api_gateway_domain_name == "d-1.execute-api.us-east-1.amazonaws.com"
