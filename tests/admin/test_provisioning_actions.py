"""The admin's Plan / Apply / Tear down actions, against moto in-process.

moto lacks CreateDeployment/GetDeployments: filled in the test setup
(``tests.support.moto_aws.fill_moto_gaps``), not in the product.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from django_aws_api_gateway_websockets.models import ApiGateway
from tests.support.moto_aws import (
    fail_on_call,
    use_client_factory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_aws_api_gateway_websockets_apigateway_changelist"
AUDIT_LOGGER = "django_aws_api_gateway_websockets.admin"
SECRET = "the-secret-value-0123456789"


@pytest.fixture
def row(db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Chat", target_base_endpoint="https://www.example.com/ws/", secret=SECRET
    )


def act(client: Client, action: str, *rows: ApiGateway, **extra: str) -> Any:
    data = {"action": action, "_selected_action": [str(r.pk) for r in rows], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def assert_safe(response: Any) -> None:
    html = response.content.decode()
    for unsafe in (SECRET, "Injected failure", "Traceback"):
        assert unsafe not in html


def test_actions_are_offered(admin_client: Client, row: ApiGateway) -> None:
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    for name in ("plan_gateways", "apply_gateways", "teardown_gateways"):
        assert f'value="{name}"' in html


def test_plan_then_apply_then_plan(
    admin_client: Client, moto_aws: Any, row: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    response = act(admin_client, "plan_gateways", row)
    ((level, text),) = messages_of(response)
    assert level == "info"
    assert text.startswith("Plan: “Chat”: 10 to create: + create API Chat")
    assert moto_aws.get_apis()["Items"] == []
    assert_safe(response)

    response = act(admin_client, "apply_gateways", row)
    assert messages_of(response) == [("success", "Apply: “Chat”: 10 created.")]
    assert len(moto_aws.get_apis()["Items"]) == 1
    assert ApiGateway.objects.get().api_created
    assert LogEntry.objects.get().get_change_message() == "Apply: 10 created"
    lines = [r.getMessage() for r in caplog.records if r.name == AUDIT_LOGGER]
    assert lines[-1] == (
        f"admin user 'admin' (pk={LogEntry.objects.get().user_id}) ran 'Apply' on ApiGateway "
        f"'Chat' (pk={row.pk}): succeeded (10 created)"
    )

    response = act(admin_client, "plan_gateways", row)
    assert messages_of(response) == [("info", "Plan: “Chat” matches AWS, no changes.")]
    response = act(admin_client, "apply_gateways", row)
    assert messages_of(response) == [
        ("info", "Apply: “Chat” already matched AWS, nothing changed.")
    ]


def test_apply_failure_is_reported_without_details(
    admin_client: Client,
    moto_aws: Any,
    row: ApiGateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    use_client_factory(monkeypatch, on_client=fail_on_call("CreateRoute", 2))
    response = act(admin_client, "apply_gateways", row)
    assert messages_of(response) == [
        (
            "error",
            "Apply stopped for “Chat” at step “create route $disconnect”: AWS error "
            "TooManyRequestsException in CreateRoute. 4 change(s) made before it are recorded; "
            "run Apply again once the cause is fixed.",
        )
    ]
    assert_safe(response)
    audit = [r for r in caplog.records if r.name == AUDIT_LOGGER and r.levelno == logging.ERROR]
    expected = "(AWS error TooManyRequestsException in CreateRoute)"
    assert audit[0].getMessage().endswith(f"failed at 'create route $disconnect' {expected}")
    assert SECRET not in caplog.text
    assert not ApiGateway.objects.get().api_created and ApiGateway.objects.get().api_id

    use_client_factory(monkeypatch)
    response = act(admin_client, "apply_gateways", row)
    assert messages_of(response)[0][0] == "success"
    api_id = ApiGateway.objects.get().api_id
    assert len(moto_aws.get_integrations(ApiId=api_id)["Items"]) == 3


def test_our_own_refusals_are_shown(admin_client: Client, moto_aws: Any, row: ApiGateway) -> None:
    ApiGateway.objects.filter(pk=row.pk).update(target_base_endpoint=None)
    response = act(admin_client, "apply_gateways", row)
    ((level, text),) = messages_of(response)
    assert level == "error"
    assert "at step “validate gateway”: target_base_endpoint is empty" in text


def test_unexpected_errors_show_only_their_type(
    admin_client: Client, moto_aws: Any, row: ApiGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise LookupError(SECRET)

    monkeypatch.setattr("django_aws_api_gateway_websockets.models.get_boto3_client", broken)
    response = act(admin_client, "plan_gateways", row)
    assert messages_of(response) == [("error", "Plan failed for “Chat”: LookupError.")]
    assert_safe(response)


def test_teardown_asks_first(admin_client: Client, moto_aws: Any, row: ApiGateway) -> None:
    act(admin_client, "apply_gateways", row)
    row.refresh_from_db()
    response = act(admin_client, "teardown_gateways", row)
    html = response.content.decode()
    assert "Tear down AWS resources?" in html
    assert f"Chat (API {row.api_id})" in html
    assert 'value="Yes, tear them down"' in html
    assert len(moto_aws.get_apis()["Items"]) == 1  # nothing deleted yet

    response = act(admin_client, "teardown_gateways", row, post="yes")
    assert messages_of(response) == [("success", "Teardown: “Chat”: 1 deleted.")]
    assert moto_aws.get_apis()["Items"] == []
    row.refresh_from_db()
    assert not row.api_id and not row.api_created


def test_teardown_needs_the_delete_permission(row: ApiGateway) -> None:
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    for codename in ("view_apigateway", "change_apigateway"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert 'value="apply_gateways"' in html
    assert 'value="teardown_gateways"' not in html
