"""Kills, timeouts and failures between an AWS call and the database write that records it
(issue 16's sweep), against moto in-process. A kill is emulated by raising a BaseException
(which no ``except Exception`` of the package catches, so nothing runs after the call: as when
the process dies there) from botocore's ``after-call`` hook, i.e. once AWS has done the call.
The real SIGKILL of a process is in ``test_interrupted.py`` (``CreateApi``).

- ``createCustomDomain``/``apply`` killed right after ``CreateDomainName``: the row does not
  know the domain; the next apply adopts it (a domain name is unique in an account and region,
  so its name identifies it), maps it and records it; teardown leaves nothing;
- ``rotate-secret`` killed after the first integration got the new secret: the new value is
  stored and the old one still accepted, so both kinds of integration are served; the next
  apply finishes the rotation (every integration, one deployment);
- saving an additional route when AWS fails after creating it (at the deployment): the row is
  kept, marked not deployed; apply deploys it and marks it.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.views import gateway_auth
from django_aws_api_gateway_websockets.wire import SECRET_HEADER
from tests.support.moto_aws import (
    Killed,
    fail_on_call,
    inventory,
    kill_after_call,
    plain_client,
    use_client_factory,
)

BASE = "https://www.example.com/ws/"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/abc"

pytestmark = pytest.mark.django_db


def fresh(row: ApiGateway) -> ApiGateway:
    return ApiGateway.objects.get(pk=row.pk)


def secrets_of(api: Any, api_id: str) -> set[str]:
    return {
        route["params"].get(f"integration.request.header.{SECRET_HEADER}", "")
        for route in inventory(api, api_id)["routes"].values()
    }


def test_killed_after_create_domain_name(moto_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = plain_client("route53").create_hosted_zone(Name="example.com", CallerReference="k1")
    row = ApiGateway.objects.create(
        api_name="Chat",
        target_base_endpoint=BASE,
        domain_name="ws.example.com",
        certificate_arn=CERTIFICATE,
        hosted_zone_id=zone["HostedZone"]["Id"].rsplit("/", 1)[-1],
    )
    use_client_factory(monkeypatch, on_client=kill_after_call("CreateDomainName"))
    with pytest.raises(Killed):
        provisioning.apply(row)
    assert [d["DomainName"] for d in moto_aws.get_domain_names()["Items"]] == ["ws.example.com"]
    assert not fresh(row).custom_domain_created  # AWS has it; the row does not know

    use_client_factory(monkeypatch)
    provisioning.apply(fresh(row))
    row = fresh(row)
    assert row.custom_domain_created and row.api_gateway_domain_name
    assert len(moto_aws.get_domain_names()["Items"]) == 1  # adopted, not created twice
    (mapping,) = moto_aws.get_api_mappings(DomainName="ws.example.com")["Items"]
    assert mapping["ApiId"] == row.api_id
    assert provisioning.plan(row).empty

    provisioning.teardown(row)
    assert moto_aws.get_domain_names()["Items"] == []
    assert moto_aws.get_apis()["Items"] == []


def test_secret_rotation_killed_part_way(moto_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    use_client_factory(monkeypatch)
    provisioning.apply(row)
    old = fresh(row).secret
    use_client_factory(monkeypatch, on_client=kill_after_call("UpdateIntegration"))
    with pytest.raises(Killed):
        provisioning.rotate_secret(fresh(row))
    row = fresh(row)
    new = row.secret
    assert new != old and row.previous_secret == old
    assert secrets_of(moto_aws, row.api_id) == {f"'{new}'", f"'{old}'"}  # half updated
    # Callbacks from either kind of integration are accepted meanwhile.
    assert gateway_auth.secret_matches(row, old) and gateway_auth.secret_matches(row, new)

    use_client_factory(monkeypatch)
    provisioning.apply(row)
    row = fresh(row)
    assert secrets_of(moto_aws, row.api_id) == {f"'{new}'"}
    assert inventory(moto_aws, row.api_id)["stages"]["production"] == row.deployment_id
    assert provisioning.plan(row).empty


def test_saving_a_route_when_aws_fails_after_creating_it(
    moto_aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    use_client_factory(monkeypatch)
    provisioning.apply(row)
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateDeployment"))
    route = ApiGatewayAdditionalRoute(
        api_gateway=fresh(row), name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    with pytest.raises(ClientError):
        route.save()
    route = ApiGatewayAdditionalRoute.objects.get()  # kept
    assert not route.deployed
    assert "chat" in inventory(moto_aws, row.api_id)["routes"]  # on AWS, not deployed
    assert not provisioning.plan(fresh(row)).empty

    use_client_factory(monkeypatch)
    provisioning.apply(fresh(row))
    assert ApiGatewayAdditionalRoute.objects.get().deployed
    row = fresh(row)
    assert inventory(moto_aws, row.api_id)["stages"]["production"] == row.deployment_id
    assert provisioning.plan(row).empty
