"""Creating a gateway's AWS resources from its rows (the description in ``routes.py``).

Every client comes from ``models.get_boto3_client`` at call time. Flags such as ``api_created``
are set only after every step succeeded, so a failed action can be retried.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import models
from .routes import Integration, Route, gateway_routes

if TYPE_CHECKING:
    from .models import ApiGateway, ApiGatewayAdditionalRoute


def _integration_kwargs(api_id: str, integration: Integration) -> dict[str, Any]:
    return {
        "ApiId": api_id,
        "ConnectionType": "INTERNET",
        "IntegrationMethod": integration.method,
        "IntegrationType": integration.integration_type,
        "IntegrationUri": integration.uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": dict(integration.request_parameters),
        "TimeoutInMillis": integration.timeout_ms,
    }


def _find_route(client: Any, api_id: str, route_key: str) -> dict[str, Any] | None:
    for item in client.get_routes(ApiId=api_id).get("Items", []):
        if item.get("RouteKey") == route_key:
            return dict(item)
    return None


def upsert_route(client: Any, api_id: str, route: Route) -> None:
    """Create the route and its integration, or point an existing route's integration at the
    description; two-way routes get a ``$default`` route response."""
    existing = _find_route(client, api_id, route.route_key)
    kwargs = _integration_kwargs(api_id, route.integration)
    target = (existing or {}).get("Target", "")
    if existing and target.startswith("integrations/"):
        integration_id = target.split("/", 1)[1]
        client.update_integration(IntegrationId=integration_id, **kwargs)
        route_id = existing["RouteId"]
    else:
        integration_id = client.create_integration(**kwargs)["IntegrationId"]
        route_kwargs: dict[str, Any] = {
            "ApiId": api_id,
            "ApiKeyRequired": False,
            "AuthorizationType": "NONE",
            "RouteKey": route.route_key,
            "Target": f"integrations/{integration_id}",
        }
        if route.two_way:
            route_kwargs["RouteResponseSelectionExpression"] = "$default"
        if existing:
            route_id = existing["RouteId"]
            client.update_route(RouteId=route_id, **route_kwargs)
        else:
            route_id = client.create_route(**route_kwargs)["RouteId"]
    if route.two_way:
        responses = client.get_route_responses(ApiId=api_id, RouteId=route_id).get("Items", [])
        if not any(r.get("RouteResponseKey") == "$default" for r in responses):
            client.create_route_response(
                ApiId=api_id, RouteId=route_id, RouteResponseKey="$default"
            )


def create_gateway(gateway: ApiGateway) -> None:
    """Create the API, every route, the stage and a deployment; then set ``api_created``."""
    client = models.get_boto3_client()
    if not gateway.secret:
        gateway.secret = gateway.generate_secret()
    if not gateway.api_id:
        res = client.create_api(
            ApiKeySelectionExpression=gateway.api_key_selection_expression,
            Description=gateway.api_description,
            DisableSchemaValidation=True,
            Name=gateway.api_name,
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression=gateway.route_selection_expression,
            Tags={str(k): str(v) for k, v in (gateway.tags or {}).items()},
        )
        gateway.api_id = res["ApiId"]
        gateway.api_endpoint = res.get("ApiEndpoint", "")
        gateway.save(update_fields=["api_id", "api_endpoint", "secret"])
    for route in gateway_routes(gateway):
        upsert_route(client, gateway.api_id, route)
    stages = client.get_stages(ApiId=gateway.api_id).get("Items", [])
    if not any(s.get("StageName") == gateway.stage_name for s in stages):
        client.create_stage(ApiId=gateway.api_id, StageName=gateway.stage_name)
    gateway.deploy_api(client)
    gateway.api_created = True
    gateway.save()
    if gateway.pk:
        gateway.additional_routes.update(deployed=True)


def create_custom_domain(gateway: ApiGateway) -> None:
    """Create the custom domain and its API mapping; then set ``custom_domain_created``."""
    client = models.get_boto3_client()
    conf: dict[str, Any] = {
        "CertificateArn": gateway.certificate_arn,
        "EndpointType": "REGIONAL",
        "SecurityPolicy": "TLS_1_2",
    }
    res = client.create_domain_name(
        DomainName=gateway.domain_name,
        DomainNameConfigurations=[conf],
        Tags={str(k): str(v) for k, v in (gateway.tags or {}).items()},
    )
    gateway.api_gateway_domain_name = res["DomainNameConfigurations"][0]["ApiGatewayDomainName"]
    mapping = client.create_api_mapping(
        ApiId=gateway.api_id, DomainName=gateway.domain_name, Stage=gateway.stage_name
    )
    gateway.api_mapping_id = mapping["ApiMappingId"]
    gateway.custom_domain_created = True
    gateway.save()


def upsert_additional_route(route: ApiGatewayAdditionalRoute, client: Any) -> None:
    """Create or update one additional route on AWS."""
    gateway = route.api_gateway
    for spec in gateway_routes(gateway):
        if spec.route_key == route.route_key:
            upsert_route(client, gateway.api_id, spec)
            return
