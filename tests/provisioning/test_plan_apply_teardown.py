"""plan / apply / teardown against moto, in-process (``mock_aws``).

moto lacks CreateDeployment/GetDeployments and a few other calls: the gaps are filled in the
test setup (``tests.support.moto_aws.fill_moto_gaps``), not in the product.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.provisioning import ROW_MARKER_TAG, ProvisioningError
from django_aws_api_gateway_websockets.wire import SECRET_HEADER
from tests.support.moto_aws import (
    fail_on_call,
    inventory,
    plain_client,
    use_client_factory,
)

pytestmark = pytest.mark.django_db

BASE = "https://www.example.com/ws/"


@pytest.fixture
def row(db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Chat",
        api_description="chat rooms",
        target_base_endpoint=BASE,
        stage_description="live",
        tags={"team": "web", "env": "test"},
    )


@pytest.fixture
def zone_id(moto_aws: Any) -> str:
    zone = plain_client("route53").create_hosted_zone(Name="example.com", CallerReference="t1")
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def fresh(gateway: ApiGateway) -> ApiGateway:
    return ApiGateway.objects.get(pk=gateway.pk)


def steps(result: provisioning.Result) -> list[str]:
    return [change.step for change in result.changes]


def a_records(zone_id: str) -> list[dict[str, Any]]:
    records = plain_client("route53").list_resource_record_sets(HostedZoneId=zone_id)
    return [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]


def test_create_from_nothing_then_plan_shows_no_changes(moto_aws: Any, row: ApiGateway) -> None:
    planned = provisioning.plan(row)
    assert steps(planned)[:2] == ["create secret X-Gateway-Secret", "create API Chat"]
    assert "create route $default" in steps(planned)
    assert "create route response $default $default" in steps(planned)
    assert steps(planned)[-2:] == ["create stage production", "create deployment production"]
    assert not fresh(row).secret and not fresh(row).api_id  # a plan writes nothing

    applied = provisioning.apply(row)
    assert steps(applied) == steps(planned)

    row = fresh(row)
    assert row.api_created and row.api_id and row.secret
    live = inventory(moto_aws, row.api_id)
    assert set(live["routes"]) == {"$connect", "$disconnect", "$default"}
    assert live["route_count"] == live["integration_count"] == 3
    assert live["routes"]["$connect"]["uri"] == f"{BASE}connect"
    assert live["routes"]["$default"]["uri"] == f"{BASE}default"
    assert live["routes"]["$default"]["responses"] == ["$default"]
    assert live["routes"]["$default"]["selection"] == "$default"
    assert live["routes"]["$connect"]["responses"] == []
    params = live["routes"]["$connect"]["params"]
    assert params["integration.request.header.connectionId"] == "context.connectionId"
    assert params["integration.request.header.X-Real-Ip"] == "context.identity.sourceIp"
    assert params[f"integration.request.header.{SECRET_HEADER}"] == f"'{row.secret}'"
    assert live["stages"] == {"production": row.deployment_id}
    assert live["deployments"] == [row.deployment_id]
    marker = {ROW_MARKER_TAG: f"{row.pk}:{row.provisioning_token}"}
    assert len(row.provisioning_token) == 32
    assert live["tags"] == {"team": "web", "env": "test", **marker}
    assert moto_aws.get_api(ApiId=row.api_id)["Description"] == "chat rooms"

    assert provisioning.plan(row).empty
    ApiGatewayAdditionalRoute.objects.bulk_create(
        [ApiGatewayAdditionalRoute(api_gateway=row, name="c", route_key="c", integration_url=BASE)]
    )
    provisioning.apply(row)
    ApiGatewayAdditionalRoute.objects.update(deployed=False)  # a row out of step with AWS
    assert provisioning.apply(row).empty  # re-running changes nothing on AWS...
    assert ApiGatewayAdditionalRoute.objects.get().deployed  # ...and puts the record right
    assert len(moto_aws.get_apis()["Items"]) == 1


def test_plan_never_shows_the_secret(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    row.secret = row.generate_secret()
    row.save()
    planned = provisioning.plan(row)
    text = str(planned)
    assert row.secret not in text
    assert f"request parameters: ~{SECRET_HEADER}" in text
    assert "update integration $connect" in steps(planned)
    provisioning.apply(row)
    live = inventory(moto_aws, row.api_id)
    assert (
        live["routes"]["$connect"]["params"][f"integration.request.header.{SECRET_HEADER}"]
        == f"'{row.secret}'"
    )


def test_edit_route_url_and_apply(moto_aws: Any, row: ApiGateway) -> None:
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    provisioning.apply(row)
    row = fresh(row)
    first_deployment = row.deployment_id

    ApiGatewayAdditionalRoute.objects.filter(route_key="chat").update(
        integration_url="https://other.example.com/chat"
    )
    planned = provisioning.plan(row)
    assert steps(planned) == [
        "update integration chat",
        "create deployment production",
        f"delete deployment {first_deployment}",
    ]
    assert planned.changes[0].details == (f"uri: '{BASE}chat' -> 'https://other.example.com/chat'",)
    provisioning.apply(row)
    row = fresh(row)
    live = inventory(moto_aws, row.api_id)
    assert live["routes"]["chat"]["uri"] == "https://other.example.com/chat"
    assert live["routes"]["chat"]["responses"] == ["$default"]
    assert live["integration_count"] == 4
    assert live["deployments"] == [row.deployment_id] != [first_deployment]
    assert provisioning.plan(row).empty


def test_moving_the_backend_updates_every_builtin_route(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    row.target_base_endpoint = "https://api.example.com/sockets/"
    row.save()
    planned = provisioning.plan(row)
    assert [s for s in steps(planned) if s.startswith("update")] == [
        "update integration $connect",
        "update integration $disconnect",
        "update integration $default",
    ]
    provisioning.apply(row)
    live = inventory(moto_aws, row.api_id)
    assert live["routes"]["$disconnect"]["uri"] == "https://api.example.com/sockets/disconnect"
    assert provisioning.plan(fresh(row)).empty


def test_saving_a_deployed_route_updates_aws_after_the_commit(
    moto_aws: Any, row: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    provisioning.apply(row)
    row = fresh(row)
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    assert route.deployed  # created on AWS and deployed by save()
    live = inventory(moto_aws, row.api_id)
    assert live["routes"]["chat"]["uri"] == f"{BASE}chat"
    assert live["routes"]["chat"]["responses"] == ["$default"]
    route.integration_url = f"{BASE}chat2"
    with django_capture_on_commit_callbacks(execute=True) as pushes:
        route.save()
        # Inside the (test's) transaction the change waits for the commit (release 4.1's way).
        assert inventory(moto_aws, row.api_id)["routes"]["chat"]["uri"] == f"{BASE}chat"
    assert len(pushes) == 1
    live = inventory(moto_aws, row.api_id)
    assert live["routes"]["chat"]["uri"] == f"{BASE}chat2"
    assert live["integration_count"] == 4
    row = fresh(row)
    assert live["stages"]["production"] == row.deployment_id
    planned = provisioning.plan(row)
    # Only the deployments the saves replaced are left to tidy up.
    assert {c.resource for c in planned.changes} == {"deployment"}
    assert {c.action for c in planned.changes} == {"delete"}
    provisioning.apply(row)
    assert provisioning.plan(fresh(row)).empty


def test_add_and_delete_a_route(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    # Added without save() (as a bulk import would): apply picks it up.
    ApiGatewayAdditionalRoute.objects.bulk_create(
        [
            ApiGatewayAdditionalRoute(
                api_gateway=row, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
            )
        ]
    )
    planned = provisioning.plan(row)
    assert steps(planned)[:3] == [
        "create integration chat",
        "create route chat",
        "create route response chat $default",
    ]
    provisioning.apply(row)
    assert ApiGatewayAdditionalRoute.objects.get(route_key="chat").deployed
    assert "chat" in inventory(moto_aws, row.api_id)["routes"]

    ApiGatewayAdditionalRoute.objects.filter(route_key="chat").delete()
    planned = provisioning.plan(row)
    assert steps(planned)[:2] == ["delete route chat", steps(planned)[1]]
    assert planned.changes[1].action == "delete" and planned.changes[1].resource == "integration"
    provisioning.apply(row)
    live = inventory(moto_aws, fresh(row).api_id)
    assert set(live["routes"]) == {"$connect", "$disconnect", "$default"}
    assert live["integration_count"] == 3  # no orphan integration
    assert provisioning.plan(fresh(row)).empty


def test_change_tags(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    row.tags = {"team": "platform", "cost-centre": "42"}
    row.save()
    planned = provisioning.plan(row)
    assert steps(planned) == ["update API tags Chat"]
    assert planned.changes[0].details == ("+cost-centre=42", "~team=platform", "-env")
    provisioning.apply(row)
    marker = {ROW_MARKER_TAG: f"{row.pk}:{row.provisioning_token}"}  # left alone
    assert moto_aws.get_api(ApiId=row.api_id)["Tags"] == {
        "team": "platform",
        "cost-centre": "42",
        **marker,
    }
    assert provisioning.plan(fresh(row)).empty


def test_api_settings_and_stage_description_are_updated(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    row.api_description = "new words"
    row.route_selection_expression = "$request.body.handler"
    row.stage_description = "renamed"
    row.save()
    planned = provisioning.plan(row)
    assert steps(planned)[:2] == ["update API Chat", "update stage production"]
    assert "create deployment production" in steps(planned)  # the selection expression changed
    provisioning.apply(row)
    api = moto_aws.get_api(ApiId=row.api_id)
    assert api["Description"] == "new words"
    assert api["RouteSelectionExpression"] == "$request.body.handler"
    assert moto_aws.get_stage(ApiId=row.api_id, StageName="production")["Description"] == "renamed"
    assert provisioning.plan(fresh(row)).empty


@pytest.mark.parametrize(
    ("operation", "nth", "failed_step"),
    [
        ("CreateRoute", 2, "create route $disconnect"),
        ("CreateIntegration", 3, "create integration $default"),
        ("CreateRouteResponse", 1, "create route response $default $default"),
        ("CreateDeployment", 1, "create deployment production"),
    ],
)
def test_failure_mid_apply_then_rerun_converges(
    moto_aws: Any,
    row: ApiGateway,
    monkeypatch: pytest.MonkeyPatch,
    operation: str,
    nth: int,
    failed_step: str,
) -> None:
    use_client_factory(monkeypatch, on_client=fail_on_call(operation, nth))
    with pytest.raises(ProvisioningError) as raised:
        provisioning.apply(row)
    error = raised.value
    assert error.step == failed_step
    assert "TooManyRequestsException" in error.reason and "Injected failure" in error.reason
    assert str(error).startswith(f"{failed_step} failed: ")
    assert "create API Chat" in [c.step for c in error.done]

    stopped = fresh(row)
    assert stopped.api_id  # recorded as soon as the API existed
    assert not stopped.api_created  # ...but it is not complete
    assert len(moto_aws.get_apis()["Items"]) == 1

    use_client_factory(monkeypatch)  # the cause is gone
    provisioning.apply(stopped)
    done = fresh(row)
    assert done.api_created and done.api_id == stopped.api_id
    live = inventory(moto_aws, done.api_id)
    assert len(moto_aws.get_apis()["Items"]) == 1  # no duplicate API
    assert live["route_count"] == live["integration_count"] == 3  # no orphan integration
    assert live["routes"]["$default"]["responses"] == ["$default"]
    assert live["stages"] == {"production": done.deployment_id}
    assert live["deployments"] == [done.deployment_id]
    assert provisioning.plan(done).empty


def test_failure_reading_names_the_step(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    provisioning.apply(row)
    use_client_factory(monkeypatch, on_client=fail_on_call("GetRoutes", 1, "AccessDeniedException"))
    with pytest.raises(ProvisioningError) as raised:
        provisioning.plan(fresh(row))
    assert raised.value.step == "read routes"
    assert "AccessDeniedException" in str(raised.value)


def test_api_deleted_outside_is_recreated_and_the_row_follows(
    moto_aws: Any, row: ApiGateway
) -> None:
    provisioning.apply(row)
    old = fresh(row)
    old_id = old.api_id
    moto_aws.delete_api(ApiId=old_id)
    planned = provisioning.plan(old)
    assert steps(planned)[0] == "create API Chat"
    assert fresh(row).api_id == old_id  # plan writes nothing
    provisioning.apply(old)
    new = fresh(row)
    assert new.api_id != old_id and new.api_created
    assert provisioning.plan(new).empty


def test_custom_domain_mapping_and_route53_alias(
    moto_aws: Any, row: ApiGateway, zone_id: str
) -> None:
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    row.hosted_zone_id = zone_id
    row.save()
    planned = provisioning.plan(row)
    assert steps(planned)[-3:] == [
        "create domain name ws.example.com",
        "create API mapping ws.example.com",
        "create DNS record ws.example.com A",
    ]
    provisioning.apply(row)
    row = fresh(row)
    assert row.custom_domain_created and row.api_mapping_id
    domain = moto_aws.get_domain_name(DomainName="ws.example.com")
    config = domain["DomainNameConfigurations"][0]
    assert config["CertificateArn"] == row.certificate_arn
    assert config["EndpointType"] == "REGIONAL"
    assert row.api_gateway_domain_name == config["ApiGatewayDomainName"]
    assert moto_aws.get_tags(ResourceArn=domain["DomainNameArn"])["Tags"] == row.tags
    mappings = moto_aws.get_api_mappings(DomainName="ws.example.com")["Items"]
    assert [(m["ApiId"], m["Stage"], m["ApiMappingId"]) for m in mappings] == [
        (row.api_id, "production", row.api_mapping_id)
    ]
    (record,) = a_records(zone_id)
    assert record["Name"] == "ws.example.com."
    assert record["AliasTarget"]["DNSName"].rstrip(".") == row.api_gateway_domain_name
    assert record["AliasTarget"]["HostedZoneId"] == config["HostedZoneId"]
    assert provisioning.plan(row).empty

    # A new stage name: created, deployed, the mapping moves, the old stage goes.
    row.stage_name = "v2"
    row.save()
    provisioning.apply(row)
    row = fresh(row)
    assert [s["StageName"] for s in moto_aws.get_stages(ApiId=row.api_id)["Items"]] == ["v2"]
    assert moto_aws.get_api_mappings(DomainName="ws.example.com")["Items"][0]["Stage"] == "v2"
    assert provisioning.plan(row).empty


def test_changing_the_domain_removes_the_old_one(
    moto_aws: Any, row: ApiGateway, zone_id: str
) -> None:
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    row.hosted_zone_id = zone_id
    row.save()
    provisioning.apply(row)
    row = fresh(row)
    row.domain_name = "sockets.example.com"
    row.save()
    planned = provisioning.plan(row)
    assert [s for s in steps(planned) if s.startswith("delete")] == [
        "delete API mapping ws.example.com",
        "delete DNS record ws.example.com A",
        "delete domain name ws.example.com",
    ]
    provisioning.apply(row)
    names = [d["DomainName"] for d in moto_aws.get_domain_names()["Items"]]
    assert names == ["sockets.example.com"]
    assert [r["Name"] for r in a_records(zone_id)] == ["sockets.example.com."]
    assert provisioning.plan(fresh(row)).empty

    # Dropping the domain altogether removes it (and its record) on apply.
    row = fresh(row)
    row.domain_name = ""
    row.certificate_arn = ""
    row.save()
    provisioning.apply(row)
    assert moto_aws.get_domain_names()["Items"] == []
    assert a_records(zone_id) == []
    assert not fresh(row).custom_domain_created


def test_a_domain_mapped_to_another_api_is_refused(moto_aws: Any, row: ApiGateway) -> None:
    other = moto_aws.create_api(
        Name="other", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    moto_aws.create_stage(ApiId=other["ApiId"], StageName="production")
    moto_aws.create_domain_name(
        DomainName="ws.example.com",
        DomainNameConfigurations=[{"CertificateArn": "arn:x", "EndpointType": "REGIONAL"}],
    )
    moto_aws.create_api_mapping(
        ApiId=other["ApiId"], DomainName="ws.example.com", Stage="production"
    )
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:x"
    row.save()
    with pytest.raises(ProvisioningError) as raised:
        provisioning.plan(row)
    assert raised.value.step == "update API mapping ws.example.com"
    assert other["ApiId"] in raised.value.reason


def test_teardown_leaves_nothing(moto_aws: Any, row: ApiGateway, zone_id: str) -> None:
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    row.hosted_zone_id = zone_id
    row.save()
    ApiGatewayAdditionalRoute.objects.bulk_create(
        [ApiGatewayAdditionalRoute(api_gateway=row, name="c", route_key="c", integration_url=BASE)]
    )
    provisioning.apply(row)
    row = fresh(row)
    listed = provisioning.teardown(row, dry_run=True)
    assert steps(listed) == [
        "delete API mapping ws.example.com",
        "delete DNS record ws.example.com A",
        "delete domain name ws.example.com",
        "delete API Chat",
    ]
    assert fresh(row).api_id  # a dry run writes nothing
    done = provisioning.teardown(row)
    assert steps(done) == steps(listed)
    assert moto_aws.get_apis()["Items"] == []
    assert moto_aws.get_domain_names()["Items"] == []
    assert a_records(zone_id) == []
    row = fresh(row)
    assert (row.api_id, row.api_endpoint, row.deployment_id, row.api_mapping_id) == ("",) * 4
    assert not row.api_created and not row.custom_domain_created
    assert not ApiGatewayAdditionalRoute.objects.get(route_key="c").deployed
    assert provisioning.teardown(row).empty  # nothing left to delete
    # ...and apply builds it all again.
    provisioning.apply(row)
    assert provisioning.plan(fresh(row)).empty


def test_teardown_after_a_failure_resumes(
    moto_aws: Any, row: ApiGateway, zone_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:x"
    row.hosted_zone_id = zone_id
    row.save()
    provisioning.apply(row)
    use_client_factory(monkeypatch, on_client=fail_on_call("DeleteDomainName"))
    with pytest.raises(ProvisioningError) as raised:
        provisioning.teardown(fresh(row))
    assert raised.value.step == "delete domain name ws.example.com"
    assert fresh(row).api_created  # the API is still there, and the row says so
    use_client_factory(monkeypatch)
    provisioning.teardown(fresh(row))
    assert moto_aws.get_apis()["Items"] == [] and moto_aws.get_domain_names()["Items"] == []


# -- the existing package's entry points ---------------------------------------------------------


def test_create_gateway_and_custom_domain_keep_their_behaviour(
    moto_aws: Any, row: ApiGateway
) -> None:
    with pytest.raises(ValueError, match="needs to be created"):
        row.create_custom_domain()
    assert row.create_gateway() is True
    assert row.api_created and row.deployment_id
    assert row.create_gateway() is None  # a no-op once created (None, as the existing package)
    assert len(moto_aws.get_apis()["Items"]) == 1
    with pytest.raises(ValueError, match="Certificate ARN"):
        row.create_custom_domain()
    row.domain_name = "ws.example.com"
    row.certificate_arn = "arn:x"
    row.save()
    row.create_custom_domain()
    assert fresh(row).custom_domain_created
    assert moto_aws.get_api_mappings(DomainName="ws.example.com")["Items"][0]["ApiId"] == row.api_id
    assert provisioning.plan(fresh(row)).empty


def test_legacy_create_gateway_raises_the_aws_error_naming_the_step(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateStage"))
    with pytest.raises(ClientError) as raised:
        row.create_gateway()
    assert "create stage production" in "".join(raised.value.__notes__)
    assert not fresh(row).api_created
    use_client_factory(monkeypatch)
    assert fresh(row).create_gateway() is True
    assert len(moto_aws.get_apis()["Items"]) == 1


def test_deploy_api_and_create_route_keep_their_behaviour(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row)
    row = fresh(row)
    client = plain_client()
    before = row.deployment_id
    row.deploy_api(client)
    assert row.deployment_id and row.deployment_id != before
    route = ApiGatewayAdditionalRoute(
        api_gateway=row, name="x", route_key="x", integration_url=f"{BASE}x"
    )
    ApiGatewayAdditionalRoute.objects.bulk_create([route])
    route = ApiGatewayAdditionalRoute.objects.get(route_key="x")
    route.create_route(client, deploy=False)
    assert not fresh_route(route).deployed
    assert "x" in inventory(client, row.api_id)["routes"]
    route.create_route(client)
    assert fresh_route(route).deployed
    stage = client.get_stage(ApiId=row.api_id, StageName="production")
    assert stage["DeploymentId"] == fresh(row).deployment_id


def fresh_route(route: ApiGatewayAdditionalRoute) -> ApiGatewayAdditionalRoute:
    return ApiGatewayAdditionalRoute.objects.get(pk=route.pk)


def test_invalid_rows_are_refused_before_any_aws_call(moto_aws: Any, row: ApiGateway) -> None:
    row.target_base_endpoint = None
    row.save()
    with pytest.raises(ProvisioningError, match="target_base_endpoint is empty") as raised:
        provisioning.apply(row)
    assert raised.value.step == "validate gateway"
    assert moto_aws.get_apis()["Items"] == []
    with pytest.raises(ValueError, match="parts"):
        provisioning.plan(row, parts={"dns"})


def test_models_delegate_to_the_provisioning_package_it_registered(
    row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Models never import provisioning (that would close an import circle): the package
    registers itself, and the model methods call what is registered, looked up at call time."""
    synced: list[ApiGatewayAdditionalRoute] = []
    monkeypatch.setattr(provisioning, "sync_additional_route", synced.append)
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row, name="x", route_key="x", integration_url=f"{BASE}x"
    )
    assert synced == [route]
    route.save(update_fields=["name"])  # a partial save does not push to AWS
    assert synced == [route]
