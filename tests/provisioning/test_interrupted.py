"""An API whose creation answer never arrived is adopted, never duplicated, never left behind.

AWS can complete ``CreateApi`` while its answer is lost: the run was killed with the call in
flight, or botocore stopped waiting (read timeout) and sent the request again. Provisioning
writes a token to the row before the call and tags the API with ``"<pk>:<token>"``
(``provisioning.ROW_MARKER_TAG``); the next run and a retried request find the API by that tag.
Everything is real here except AWS itself: moto's server (``ThreadedMotoServer``) on a local
port, behind a proxy (``tests.support.aws_proxy``) that holds or slows down the CreateApi
answer, and in the first test ``manage.py provisionApiGateway`` in a subprocess that is killed
with SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ConnectionClosedError

from django_aws_api_gateway_websockets import models, provisioning
from django_aws_api_gateway_websockets.models import ApiGateway
from django_aws_api_gateway_websockets.provisioning import ROW_MARKER_TAG
from tests.support.aws_proxy import aws_proxy
from tests.support.moto_aws import plain_client, use_client_factory
from tests.support.paths import ROOT

BASE = "https://www.example.com/ws/"


def _apis(moto_url: str) -> list[dict[str, Any]]:
    return list(plain_client(endpoint_url=moto_url).get_apis()["Items"])


# -- a run killed while CreateApi is in flight (a real process, SIGKILL) --------------------------


def _django(db: Path, endpoint: str, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.file_db_settings",
        "WEBSOCKETS_TEST_SQLITE": str(db),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "AWS_ENDPOINT_URL": endpoint,  # boto3 sends every call there
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _run(db: Path, endpoint: str, *args: str) -> str:
    process = _django(db, endpoint, *args)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def _row(db: Path) -> dict[str, Any]:
    with closing(sqlite3.connect(db)) as conn:  # (``with connect()`` does not close it)
        conn.row_factory = sqlite3.Row
        row = conn.execute(
            "SELECT * FROM django_aws_api_gateway_websockets_apigateway WHERE api_name='Chat'"
        ).fetchone()
    return dict(row)


def test_a_run_killed_during_create_api_is_adopted_by_the_next_and_torn_down(
    moto_url: str, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    _run(db, moto_url, "migrate", "-v", "0")
    _run(
        db,
        moto_url,
        "shell",
        "-c",
        "from django_aws_api_gateway_websockets.models import ApiGateway; "
        f"ApiGateway.objects.create(api_name='Chat', target_base_endpoint='{BASE}')",
    )
    with aws_proxy(moto_url, "POST", "/v2/apis") as proxy:
        proxy.mode = "hold"
        run = _django(db, proxy.url, "provisionApiGateway", "apply", "--name", "Chat")
        try:
            assert proxy.arrived.wait(60), "CreateApi never came"
        finally:
            os.killpg(run.pid, signal.SIGKILL)
            run.communicate(timeout=30)
        assert run.returncode == -signal.SIGKILL
        proxy.release()  # AWS completes the call the killed run made
        assert proxy.completed.wait(30)
    (orphan,) = _apis(moto_url)
    row = _row(db)
    assert row["api_id"] == ""  # the answer never reached the row...
    assert row["provisioning_token"]  # ...but the token was written before the call
    assert orphan["Tags"][ROW_MARKER_TAG] == f"{row['id']}:{row['provisioning_token']}"

    out = _run(db, moto_url, "provisionApiGateway", "apply", "--name", "Chat")
    assert f"adopt {orphan['ApiId']}" in out
    (api,) = _apis(moto_url)  # one API: adopted, not duplicated
    assert api["ApiId"] == orphan["ApiId"] == _row(db)["api_id"]
    assert len(plain_client(endpoint_url=moto_url).get_routes(ApiId=api["ApiId"])["Items"]) == 3

    _run(db, moto_url, "provisionApiGateway", "teardown", "--name", "Chat", "--no-input")
    assert _apis(moto_url) == []


# -- botocore retries CreateApi after a read timeout ----------------------------------------------


@pytest.mark.django_db
def test_create_api_retried_after_a_read_timeout_adopts_the_first_attempts_api(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with aws_proxy(moto_url, "POST", "/v2/apis") as proxy:
        proxy.mode, proxy.delay = "slow", 3.0  # AWS creates it, the answer comes too late
        config = Config(read_timeout=1, retries={"mode": "standard", "max_attempts": 3})

        def factory(service: str = "apigatewayv2", **kwargs: Any) -> Any:
            return plain_client(service, endpoint_url=proxy.url, config=config)

        monkeypatch.setattr(models, "get_boto3_client", factory)
        row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
        provisioning.apply(row)
        assert proxy.matching == 1  # the retry found the API and sent no second CreateApi
    (api,) = _apis(moto_url)
    row = ApiGateway.objects.get()
    assert api["ApiId"] == row.api_id
    assert api["Tags"][ROW_MARKER_TAG] == f"{row.pk}:{row.provisioning_token}"
    use_client_factory(monkeypatch, endpoint_url=moto_url)
    assert provisioning.plan(row).empty


@pytest.mark.django_db
def test_a_retry_that_still_made_a_second_api_deletes_it(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first attempt's request is lost in transit and lands at AWS only after the retry
    looked for it: two APIs carry the row's tag. The run keeps the one it recorded and deletes
    the other. (A hook after ours fails the first send with a connection error, which botocore
    retries, and on the retry creates the first attempt's API, late.)"""
    aws = plain_client(endpoint_url=moto_url)
    sends = 0

    def lost_then_late(request: Any, **_: Any) -> None:
        nonlocal sends
        sends += 1
        if sends == 1:
            raise ConnectionClosedError(endpoint_url=moto_url)
        if sends == 2:
            sent = json.loads(request.body)
            aws.create_api(
                Name=sent["name"],
                ProtocolType="WEBSOCKET",
                RouteSelectionExpression=sent["routeSelectionExpression"],
                Tags=sent["tags"],
            )

    def on_client(client: Any) -> None:
        if client.meta.service_model.service_name == "apigatewayv2":
            client.meta.events.register_last("before-send.apigatewayv2.CreateApi", lost_then_late)

    use_client_factory(monkeypatch, endpoint_url=moto_url, on_client=on_client)
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    result = provisioning.apply(row)
    assert sends == 2
    row = ApiGateway.objects.get()
    (api,) = _apis(moto_url)
    assert api["ApiId"] == row.api_id
    assert [c.details[1] for c in result.changes if c.step == "delete API Chat"] == [
        "tagged for this row, not recorded"
    ]


# -- never by name ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_api_of_the_same_name_is_never_adopted(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = plain_client(endpoint_url=moto_url)
    common = {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}
    unrelated = aws.create_api(Name="Chat", **common)["ApiId"]
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    # Another database's row with the same pk, which also got as far as its token.
    other = aws.create_api(Name="Chat", Tags={ROW_MARKER_TAG: f"{row.pk}:elsewhere"}, **common)
    row.provisioning_token = "ours"  # an earlier run of ours stopped before CreateApi
    row.save()
    use_client_factory(monkeypatch, endpoint_url=moto_url)

    provisioning.apply(row)
    row = ApiGateway.objects.get()
    assert row.api_id not in {unrelated, other["ApiId"]}
    assert {a["ApiId"] for a in _apis(moto_url)} == {unrelated, other["ApiId"], row.api_id}
    provisioning.teardown(row)
    assert {a["ApiId"] for a in _apis(moto_url)} == {unrelated, other["ApiId"]}


@pytest.mark.django_db
def test_teardown_after_a_killed_run_deletes_the_unrecorded_api(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint=BASE, provisioning_token="t0ken"
    )
    aws = plain_client(endpoint_url=moto_url)
    aws.create_api(
        Name="Chat",
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression="$request.body.action",
        Tags={ROW_MARKER_TAG: f"{row.pk}:t0ken"},
    )
    use_client_factory(monkeypatch, endpoint_url=moto_url)
    planned = provisioning.teardown(row, dry_run=True)
    assert [c.step for c in planned.changes] == ["delete API Chat"]
    provisioning.teardown(row)
    assert _apis(moto_url) == []


def test_the_deploy_policy_lets_a_run_list_apis_to_find_its_own() -> None:
    from django_aws_api_gateway_websockets.provisioning.iam import deploy_policy

    gateway = ApiGateway(api_name="Chat", api_id="a1")
    policy = deploy_policy([gateway], region="us-east-1")
    (create,) = [s for s in policy["Statement"] if s["Sid"] == "CreateApis"]
    assert set(create["Action"]) == {"apigateway:GET", "apigateway:POST"}
    assert create["Resource"] == ["arn:aws:apigateway:us-east-1::/apis"]
