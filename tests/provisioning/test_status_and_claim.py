"""provisioning_status, last_error, route ids and the claim, filled by our plan/apply runs
(release 4.1's columns). Against moto in-process (``mock_aws``); a failure is injected the way
AWS would answer (a ClientError before the request leaves the client)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute
from django_aws_api_gateway_websockets.provisioning import ROW_MARKER_TAG, ProvisioningError, _api
from tests.support.moto_aws import fail_on_call, inventory, plain_client, use_client_factory

pytestmark = pytest.mark.django_db

BASE = "https://www.example.com/ws/"


@pytest.fixture
def row(db: None) -> ApiGateway:
    return ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)


def fresh(gateway: ApiGateway) -> ApiGateway:
    return ApiGateway.objects.get(pk=gateway.pk)


def test_each_step_is_recorded_in_order(moto_aws: Any, row: ApiGateway) -> None:
    seen: list[str] = []

    def progress(event: str, change: provisioning.Change) -> None:
        if event == "start":
            seen.append(f"{change.step}: {fresh(row).provisioning_status}")

    assert row.provisioning_status == "pending" and not row.is_deployed
    provisioning.apply(row, parts={"api"}, progress=progress)
    # claimed before CreateApi; api_created once it exists; routes_created before the stage
    assert "create API Chat: creating" in seen
    assert "create integration $connect: api_created" in seen
    assert "create stage production: routes_created" in seen
    row = fresh(row)
    assert row.provisioning_status == "deployed" and row.last_error == ""
    assert row.is_deployed


def test_domain_steps_are_recorded_and_teardown_goes_back(moto_aws: Any, row: ApiGateway) -> None:
    cert = plain_client("acm").request_certificate(DomainName="ws.example.com")
    row.domain_name, row.certificate_arn = "ws.example.com", cert["CertificateArn"]
    row.save()
    provisioning.apply(row)
    assert fresh(row).provisioning_status == "mapped"
    provisioning.teardown(fresh(row))
    row = fresh(row)
    assert row.provisioning_status == "pending" and not row.is_deployed


def test_a_failure_records_the_error_class_and_code_only(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateRoute", 2, "BadRequestException"))
    with pytest.raises(ProvisioningError):
        provisioning.apply(row)
    row = fresh(row)
    assert row.last_error == "ClientError: BadRequestException"  # no AWS message, no secret
    assert row.provisioning_status == "api_created"  # the API exists, the routes do not
    assert not row.is_deployed
    provisioning.apply(row)  # resumes (the injected failure was once), clears the error
    row = fresh(row)
    assert (row.provisioning_status, row.last_error) == ("deployed", "")


def test_a_failed_create_api_releases_the_claim(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client_factory(
        monkeypatch, on_client=fail_on_call("CreateApi", 1, "LimitExceededException")
    )
    with pytest.raises(ProvisioningError):
        provisioning.apply(row)
    row = fresh(row)
    assert (row.provisioning_status, row.last_error) == (
        "pending",
        "ClientError: LimitExceededException",
    )


def test_a_row_held_by_another_run_is_not_created_twice(moto_aws: Any, row: ApiGateway) -> None:
    ApiGateway.objects.filter(pk=row.pk).update(
        provisioning_status="creating", secret=ApiGateway.generate_secret()
    )
    with pytest.raises(ProvisioningError, match="another run is creating") as raised:
        provisioning.apply(fresh(row))
    assert raised.value.step == "create API"
    assert plain_client().get_apis()["Items"] == []
    assert fresh(row).provisioning_status == "creating"  # the other run's claim stays


def test_a_stale_claim_of_a_killed_run_is_taken_over(moto_aws: Any, row: ApiGateway) -> None:
    # The killed run had written the secret and claimed the row; nothing since.
    old = timezone.now() - timedelta(hours=1)
    ApiGateway.objects.filter(pk=row.pk).update(
        provisioning_status="creating", secret=ApiGateway.generate_secret(), updated_on=old
    )
    provisioning.apply(fresh(row), parts={"api"})
    assert fresh(row).provisioning_status == "deployed"
    assert len(plain_client().get_apis()["Items"]) == 1


def test_a_plan_writes_no_status(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.plan(row)
    assert fresh(row).provisioning_status == "pending"


def test_route_ids_are_recorded(moto_aws: Any, row: ApiGateway) -> None:
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row, name="Chat", route_key="chat", integration_url=f"{BASE}chat"
    )
    assert (route.route_id, route.integration_id) == ("", "")
    provisioning.apply(row, parts={"api"})
    route.refresh_from_db()
    live = {r["RouteKey"]: r for r in moto_aws.get_routes(ApiId=fresh(row).api_id)["Items"]}
    assert route.route_id == live["chat"]["RouteId"]
    assert f"integrations/{route.integration_id}" == live["chat"]["Target"]
    # saving a new route on a deployed gateway records them too
    other = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=fresh(row), name="Echo", route_key="echo", integration_url=f"{BASE}echo"
    )
    other.refresh_from_db()
    assert other.deployed and other.route_id and other.integration_id
    assert inventory(moto_aws, fresh(row).api_id)["routes"]["echo"]["uri"] == f"{BASE}echo"


def test_a_row_from_before_4_1_counts_as_deployed(moto_aws: Any, row: ApiGateway) -> None:
    provisioning.apply(row, parts={"api"})
    ApiGateway.objects.filter(pk=row.pk).update(provisioning_status="pending")  # as 0012 leaves it
    old = fresh(row)
    assert old.effective_provisioning_status == "deployed" and old.is_deployed
    assert old.create_gateway() is None  # the existing package's no-op for a created API
    provisioning.apply(old, parts={"api"})
    assert fresh(row).provisioning_status == "pending"  # nothing to move forward


def test_a_half_built_row_from_4_1_is_finished(moto_aws: Any, row: ApiGateway) -> None:
    # 4.1 sets api_created as soon as the API exists; a run that stopped there left this row.
    api = moto_aws.create_api(
        Name="Chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )
    ApiGateway.objects.filter(pk=row.pk).update(
        api_id=api["ApiId"], api_created=True, provisioning_status="api_created"
    )
    half = fresh(row)
    assert not half.is_deployed
    assert half.create_gateway() is True  # not taken for done: it converges
    row = fresh(row)
    assert row.provisioning_status == "deployed" and row.is_deployed
    assert set(inventory(moto_aws, row.api_id)["routes"]) == {"$connect", "$disconnect", "$default"}


def test_the_api_of_a_run_killed_after_its_claim_is_adopted_not_refused(
    moto_aws: Any, row: ApiGateway
) -> None:
    # Killed while CreateApi was answered: the row is claimed and has its token, AWS has the
    # API tagged with it, the row has no api_id. The claim is fresh, yet the next run goes on.
    ApiGateway.objects.filter(pk=row.pk).update(
        provisioning_status="creating", provisioning_token="t0k", secret="x" * 43
    )
    orphan = moto_aws.create_api(
        Name="Chat",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
        Tags={ROW_MARKER_TAG: f"{row.pk}:t0k"},
    )
    provisioning.apply(fresh(row), parts={"api"})
    row = fresh(row)
    assert row.api_id == orphan["ApiId"] and row.provisioning_status == "deployed"
    assert [api["ApiId"] for api in moto_aws.get_apis()["Items"]] == [orphan["ApiId"]]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_create_one_api(moto_aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads, each with its own database connection (run it on PostgreSQL and MariaDB
    with DATABASE_URL), both find no API and reach the claim together: one creates the API,
    the other stops with a clear error; AWS has one API."""
    row = ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint=BASE, secret=ApiGateway.generate_secret()
    )
    together = threading.Barrier(2, timeout=30)
    search = _api.marked_apis

    def search_then_wait(run: Any) -> list[dict[str, Any]]:
        found = search(run)
        if not run.gateway.api_id and threading.current_thread().name.startswith("run-"):
            together.wait()  # both have found nothing to adopt; now both claim
        return found

    monkeypatch.setattr(_api, "marked_apis", search_then_wait)
    outcomes: dict[str, str] = {}

    def run(name: str) -> None:
        try:
            provisioning.apply(ApiGateway.objects.get(pk=row.pk), parts={"api"})
            outcomes[name] = "applied"
        except ProvisioningError as error:
            outcomes[name] = str(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(f"run-{n}",), name=f"run-{n}") for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes.values())[0] == "applied"
    assert "another run is creating this gateway's API" in sorted(outcomes.values())[1]
    assert len(moto_aws.get_apis()["Items"]) == 1
    row = fresh(row)
    assert row.provisioning_status == "deployed" and row.api_id
