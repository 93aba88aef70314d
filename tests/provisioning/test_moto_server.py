"""The whole provisioning lifecycle through moto's SERVER MODE (``ThreadedMotoServer``): real HTTP
requests from boto3 to a moto server on 127.0.0.1, with the ``endpoint_url`` passed to every
client by patching ``models.get_boto3_client`` (as a project pointing at LocalStack or moto
would).

moto lacks CreateDeployment/GetDeployments (and a few other calls): the gaps are filled in the
test setup (``tests.support.moto_aws.fill_moto_gaps``, applied to moto's backend before the
server handles a request), not in the product.
"""

from __future__ import annotations

import pytest

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.provisioning import ROW_MARKER_TAG, ProvisioningError
from tests.support.moto_aws import (
    fail_on_call,
    inventory,
    plain_client,
    use_client_factory,
)

pytestmark = pytest.mark.django_db

BASE = "https://www.example.com/ws/"


def test_lifecycle_through_the_moto_server(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    api = plain_client(endpoint_url=moto_url)
    route53 = plain_client("route53", endpoint_url=moto_url)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="server")
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    row = ApiGateway.objects.create(
        api_name="Chat",
        target_base_endpoint=BASE,
        tags={"team": "web"},
        domain_name="ws.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        hosted_zone_id=zone_id,
    )
    ApiGatewayAdditionalRoute.objects.bulk_create(
        [
            ApiGatewayAdditionalRoute(
                api_gateway=row, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
            )
        ]
    )

    # A failure part way through the first apply, then a re-run that finishes the job.
    use_client_factory(monkeypatch, endpoint_url=moto_url, on_client=fail_on_call("CreateRoute", 4))
    with pytest.raises(ProvisioningError, match="create route chat failed"):
        provisioning.apply(row)
    made = use_client_factory(monkeypatch, endpoint_url=moto_url)
    provisioning.apply(ApiGateway.objects.get())
    row = ApiGateway.objects.get()
    assert made and all(c.meta.endpoint_url == moto_url for c in made)  # every call went there
    assert len(api.get_apis()["Items"]) == 1
    live = inventory(api, row.api_id)
    assert live["route_count"] == live["integration_count"] == 4
    assert live["routes"]["chat"]["responses"] == ["$default"]
    assert live["stages"] == {"production": row.deployment_id}
    assert live["deployments"] == [row.deployment_id]
    assert api.get_api_mappings(DomainName="ws.example.com")["Items"][0]["ApiId"] == row.api_id
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    (alias,) = [r for r in records if r["Type"] == "A"]
    assert alias["AliasTarget"]["DNSName"].rstrip(".") == row.api_gateway_domain_name
    assert provisioning.plan(row).empty

    # Edit a route URL, add one, delete one, change the tags: one apply.
    ApiGatewayAdditionalRoute.objects.filter(route_key="chat").update(
        integration_url=f"{BASE}chat-v2"
    )
    ApiGatewayAdditionalRoute.objects.bulk_create(
        [
            ApiGatewayAdditionalRoute(
                api_gateway=row, name="Ping", route_key="ping", integration_url=f"{BASE}ping"
            )
        ]
    )
    row.tags = {"team": "platform"}
    row.save()
    provisioning.apply(row)
    ApiGatewayAdditionalRoute.objects.filter(route_key="ping").delete()
    provisioning.apply(row)
    row = ApiGateway.objects.get()
    live = inventory(api, row.api_id)
    assert set(live["routes"]) == {"$connect", "$disconnect", "$default", "chat"}
    assert live["routes"]["chat"]["uri"] == f"{BASE}chat-v2"
    assert live["integration_count"] == 4
    assert live["tags"] == {
        "team": "platform",
        ROW_MARKER_TAG: f"{row.pk}:{row.provisioning_token}",
    }
    domain_arn = api.get_domain_name(DomainName="ws.example.com")["DomainNameArn"]
    assert api.get_tags(ResourceArn=domain_arn)["Tags"] == {"team": "platform"}
    assert live["deployments"] == [row.deployment_id]
    assert provisioning.plan(row).empty

    # Teardown leaves nothing.
    provisioning.teardown(row)
    assert api.get_apis()["Items"] == []
    assert api.get_domain_names()["Items"] == []
    records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    assert [r for r in records if r["Type"] == "A"] == []
    assert provisioning.teardown(ApiGateway.objects.get()).empty
