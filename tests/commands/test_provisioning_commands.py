"""The provisionApiGateway and apiGatewayIamPolicy commands (and createApiGateway /
createCustomDomain re-run on top of apply), against moto in-process.

moto lacks CreateDeployment/GetDeployments: filled in the test setup
(``tests.support.moto_aws.fill_moto_gaps``), not in the product.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_aws_api_gateway_websockets.models import ApiGateway
from tests.support.moto_aws import (
    fail_on_call,
    plain_client,
    use_client_factory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint="https://www.example.com/ws/", tags={"a": "b"}
    )


def run(*args: str, **options: Any) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def test_plan_apply_plan_teardown(moto_aws: Any, row: ApiGateway) -> None:
    out = run("provisionApiGateway", "plan", "--pk", str(row.pk))
    assert "Reading AWS for ApiGateway 'Chat'" in out
    assert "  + create API Chat (WEBSOCKET; route selection $request.body.action)" in out
    assert "  + create route $connect" in out
    assert "Plan: 11 to create. Run 'apply' to make these changes." in out
    with pytest.raises(CommandError, match=r"11 change\(s\) to apply") as raised:
        run("provisionApiGateway", "plan", "--name", "Chat", "--check")
    assert raised.value.returncode == 2

    out = run("provisionApiGateway", "apply", "--name", "Chat")
    lines = out.splitlines()
    assert lines[0] == "Applying ApiGateway 'Chat' (pk=1):".replace("1", str(row.pk))
    assert "  + create API Chat (WEBSOCKET; route selection $request.body.action) ... done" in lines
    assert "  + create deployment production" in out
    assert lines[-1] == "Done: 11 created."
    assert len(moto_aws.get_apis()["Items"]) == 1

    out = run("provisionApiGateway", "plan", "--pk", str(row.pk), "--check")
    assert "No changes: AWS matches the gateway." in out
    out = run("provisionApiGateway", "apply", "--pk", str(row.pk))
    assert "AWS already matched the gateway; nothing changed." in out

    out = run("provisionApiGateway", "teardown", "--pk", str(row.pk), "--dry-run")
    assert "Teardown would:\n  - delete API Chat" in out
    assert len(moto_aws.get_apis()["Items"]) == 1
    out = run("provisionApiGateway", "teardown", "--pk", str(row.pk), "--no-input")
    assert "  - delete API Chat" in out and "... done" in out
    assert moto_aws.get_apis()["Items"] == []
    out = run("provisionApiGateway", "teardown", "--pk", str(row.pk), "--no-input")
    assert "Nothing to delete." in out


def test_teardown_asks_for_the_name(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("provisionApiGateway", "apply", "--pk", str(row.pk))
    monkeypatch.setattr("builtins.input", lambda prompt: "wrong")
    with pytest.raises(CommandError, match="cancelled"):
        run("provisionApiGateway", "teardown", "--pk", str(row.pk))
    assert len(moto_aws.get_apis()["Items"]) == 1
    monkeypatch.setattr("builtins.input", lambda prompt: "Chat")
    run("provisionApiGateway", "teardown", "--pk", str(row.pk))
    assert moto_aws.get_apis()["Items"] == []


def test_apply_failure_names_the_step_and_a_rerun_finishes(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateStage"))
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("provisionApiGateway", "apply", "--pk", str(row.pk), stdout=out)
    message = str(raised.value)
    assert message.startswith("apply stopped at step 'create stage production': AWS error ")
    assert "TooManyRequestsException in CreateStage" in message
    assert "9 change(s) were made before it" in message
    assert "  + create stage production ... FAILED" in out.getvalue()
    use_client_factory(monkeypatch)
    out2 = run("provisionApiGateway", "apply", "--pk", str(row.pk))
    assert "create API" not in out2  # resumed, not started over
    assert "  + create stage production ... done" in out2
    assert len(moto_aws.get_apis()["Items"]) == 1
    assert "No changes" in run("provisionApiGateway", "plan", "--pk", str(row.pk))


def test_unknown_gateway_and_bad_arguments(moto_aws: Any, row: ApiGateway) -> None:
    with pytest.raises(CommandError, match=r"no ApiGateway with pk=999.*1 \(Chat\)|Chat"):
        run("provisionApiGateway", "plan", "--pk", "999")
    with pytest.raises(CommandError, match="api_name='Nope'"):
        run("provisionApiGateway", "plan", "--name", "Nope")
    with pytest.raises(CommandError):
        run("provisionApiGateway", "plan")  # neither --pk nor --name
    with pytest.raises(CommandError):
        run("provisionApiGateway", "deploy", "--pk", str(row.pk))


def test_invalid_row_is_a_clear_error(moto_aws: Any, row: ApiGateway) -> None:
    ApiGateway.objects.filter(pk=row.pk).update(target_base_endpoint=None)
    with pytest.raises(CommandError, match="step 'validate gateway': target_base_endpoint"):
        run("provisionApiGateway", "apply", "--pk", str(row.pk))


def test_no_region_is_a_clear_error(moto_aws: Any, row: ApiGateway, settings: Any) -> None:
    del settings.AWS_REGION_NAME
    with pytest.raises(CommandError, match="could not start: AWS_GATEWAY_REGION_NAME"):
        run("provisionApiGateway", "plan", "--pk", str(row.pk))


def test_manage_py_help_and_exit_codes(tmp_path: Any) -> None:
    """Through a real process: --help, and a non-zero exit status on failure."""
    env_settings = "tests.settings"
    base = [sys.executable, "-W", "error", "-m", "django"]
    env = {"DJANGO_SETTINGS_MODULE": env_settings, "PYTHONPATH": ".", "PATH": "/usr/bin:/bin"}
    shown = subprocess.run(
        [*base, "provisionApiGateway", "--help"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0, shown.stderr
    assert "{plan,apply,rotate-secret,teardown}" in shown.stdout
    assert "--pk PK" in shown.stdout and "--name NAME" in shown.stdout
    assert "--dry-run" in shown.stdout and "--check" in shown.stdout
    failed = subprocess.run(
        [*base, "provisionApiGateway", "plan"], capture_output=True, text=True, env=env
    )
    assert failed.returncode == 2
    assert "one of the arguments --pk --name is required" in failed.stderr
    assert "Traceback" not in failed.stderr
    shown = subprocess.run(
        [*base, "apiGatewayIamPolicy", "--help"], capture_output=True, text=True, env=env
    )
    assert shown.returncode == 0 and "--kind {deploy,runtime,both}" in shown.stdout


# -- the existing commands on top of apply ------------------------------------------------------


def test_create_commands_are_safe_to_rerun(
    moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    zone = plain_client("route53").create_hosted_zone(Name="example.com", CallerReference="c")
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateRoute", 2))
    with pytest.raises(CommandError, match=r"Creating the API Gateway .* failed: AWS error"):
        run("createApiGateway", "--pk", str(row.pk))
    use_client_factory(monkeypatch)
    out = run("createApiGateway", "--pk", str(row.pk))
    assert "Created API Gateway 'Chat'" in out
    assert len(moto_aws.get_apis()["Items"]) == 1
    assert moto_aws.get_integrations(ApiId=ApiGateway.objects.get().api_id)["Items"].__len__() == 3
    with pytest.raises(CommandError, match="provisionApiGateway apply --pk"):
        run("createApiGateway", "--pk", str(row.pk))

    ApiGateway.objects.filter(pk=row.pk).update(
        domain_name="ws.example.com", certificate_arn="arn:x", hosted_zone_id=zone_id
    )
    out = run("createCustomDomain", "--pk", str(row.pk))
    assert f"Its Route 53 alias record in zone {zone_id} points at d-" in out
    with pytest.raises(CommandError, match="apply --only domain"):
        run("createCustomDomain", "--pk", str(row.pk))
    assert "No changes" in run("provisionApiGateway", "plan", "--pk", str(row.pk))


# -- IAM policies ------------------------------------------------------------------------------


def test_iam_policies(moto_aws: Any, row: ApiGateway) -> None:
    both = json.loads(run("apiGatewayIamPolicy"))
    deploy = both["deploy"]
    assert deploy["Version"] == "2012-10-17"
    statements = {s["Sid"]: s for s in deploy["Statement"]}
    # No API yet: only /apis/* can be named.
    assert statements["ManageTheGatewaysApis"]["Resource"] == [
        "arn:aws:apigateway:us-east-1::/apis/*"
    ]
    assert "ManageTheGatewaysDomains" not in statements
    runtime = both["runtime"]["Statement"]
    assert runtime == [
        {
            "Sid": "PostToTheGatewaysConnections",
            "Effect": "Allow",
            "Action": ["execute-api:ManageConnections"],
            "Resource": ["arn:aws:execute-api:us-east-1:*:*/production/POST/@connections/*"],
        }
    ]

    run("provisionApiGateway", "apply", "--pk", str(row.pk))
    row.refresh_from_db()
    ApiGateway.objects.filter(pk=row.pk).update(domain_name="ws.example.com", hosted_zone_id="Z123")
    deploy = json.loads(run("apiGatewayIamPolicy", "--pk", str(row.pk), "--kind", "deploy"))
    statements = {s["Sid"]: s for s in deploy["Statement"]}
    assert statements["ManageTheGatewaysApis"]["Resource"] == [
        f"arn:aws:apigateway:us-east-1::/apis/{row.api_id}",
        f"arn:aws:apigateway:us-east-1::/apis/{row.api_id}/*",
    ]
    assert statements["ManageTheGatewaysDomains"]["Resource"] == [
        "arn:aws:apigateway:us-east-1::/domainnames",
        "arn:aws:apigateway:us-east-1::/domainnames/ws.example.com",
        "arn:aws:apigateway:us-east-1::/domainnames/ws.example.com/*",
    ]
    dns = statements["AliasRecordsForTheGatewaysDomains"]
    assert dns["Resource"] == ["arn:aws:route53:::hostedzone/Z123"]
    assert dns["Condition"]["ForAllValues:StringEquals"] == {
        "route53:ChangeResourceRecordSetsNormalizedRecordNames": ["ws.example.com"],
        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
    }
    runtime = json.loads(
        run("apiGatewayIamPolicy", "--name", "Chat", "--kind", "runtime", "--account-id", "1234")
    )
    assert runtime["Statement"][0]["Resource"] == [
        f"arn:aws:execute-api:us-east-1:1234:{row.api_id}/production/POST/@connections/*"
    ]


def test_iam_policy_without_gateways(db: None) -> None:
    with pytest.raises(CommandError, match="no ApiGateway rows"):
        run("apiGatewayIamPolicy")
