"""The admin's "Sync to AWS" / "Sync from AWS" actions (release 4.1's), against moto in-process,
through the admin's changelist and called directly as a 4.1 project's tests call them."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.contrib import admin as django_admin
from django.test import Client, RequestFactory
from django.urls import reverse

from django_aws_api_gateway_websockets import provisioning
from django_aws_api_gateway_websockets.admin.sync import sync_from_aws, sync_to_aws
from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewaySyncError
from tests.support.moto_aws import deployed_gateway, plain_client

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:django_aws_api_gateway_websockets_apigateway_changelist"
BASE = "https://www.example.com/ws/"


@pytest.fixture
def deployed(moto_aws: Any) -> ApiGateway:
    return deployed_gateway()


def act(client: Client, action: str, *rows: ApiGateway) -> Any:
    data = {"action": action, "_selected_action": [str(r.pk) for r in rows]}
    return client.post(reverse(CHANGELIST), data, follow=True)


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def test_the_actions_are_offered(admin_client: Client, deployed: ApiGateway) -> None:
    html = admin_client.get(reverse(CHANGELIST)).content.decode()
    assert 'value="sync_to_aws"' in html and 'value="sync_from_aws"' in html
    assert "Sync to AWS" in html and "Sync from AWS" in html


def test_sync_from_then_to(admin_client: Client, deployed: ApiGateway) -> None:
    plain_client().update_api(ApiId=deployed.api_id, Description="from the console")
    response = act(admin_client, "sync_from_aws", deployed)
    assert messages_of(response) == [
        ("success", "Sync from AWS: “Chat” synced from AWS: Updated api_description.")
    ]
    assert ApiGateway.objects.get().api_description == "from the console"
    response = act(admin_client, "sync_to_aws", deployed)
    assert messages_of(response) == [("info", "Sync to AWS: “Chat” already in sync to AWS.")]


def test_a_gateway_deleted_in_aws_is_an_error_message_not_a_500(
    admin_client: Client, deployed: ApiGateway
) -> None:
    plain_client().delete_api(ApiId=deployed.api_id)
    for action in ("sync_to_aws", "sync_from_aws"):
        response = act(admin_client, action, deployed)
        assert response.status_code == 200
        ((level, text),) = messages_of(response)
        assert level == "error"
        assert "no longer exists in AWS (NotFoundException)" in text
        assert "the rows are kept" in text
    row = ApiGateway.objects.get()
    assert row.api_id == deployed.api_id and row.last_error == "ClientError: NotFoundException"


def test_a_gateway_not_deployed_is_refused(admin_client: Client, moto_aws: Any) -> None:
    row = ApiGateway.objects.create(api_name="New", target_base_endpoint=BASE)
    response = act(admin_client, "sync_to_aws", row)
    ((level, text),) = messages_of(response)
    assert level == "warning" and "is not deployed" in text


def test_a_deferred_push_outside_any_collector_raises_and_keeps_the_row(
    deployed: ApiGateway, django_capture_on_commit_callbacks: Any
) -> None:
    plain_client().delete_api(ApiId=deployed.api_id)
    with pytest.raises(ApiGatewaySyncError), django_capture_on_commit_callbacks(execute=True):
        deployed.api_description = "edited"
        deployed.save()
    assert ApiGateway.objects.get().api_description == "edited"


@pytest.mark.django_db(transaction=True)
def test_the_admin_change_form_reports_a_failed_push_as_a_message(
    admin_client: Client, moto_aws: Any
) -> None:
    row = ApiGateway.objects.create(api_name="Chat", target_base_endpoint=BASE)
    provisioning.apply(row, parts={"api"})
    row = ApiGateway.objects.get(pk=row.pk)
    plain_client().delete_api(ApiId=row.api_id)
    url = reverse("admin:django_aws_api_gateway_websockets_apigateway_change", args=[row.pk])
    form = admin_client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        {
            "api_description": "edited",
            "tags": "{}",
            "additional_routes-TOTAL_FORMS": "0",
            "additional_routes-INITIAL_FORMS": "0",
        }
    )
    response = admin_client.post(url, data, follow=True)
    assert response.status_code == 200
    texts = [text for _level, text in messages_of(response)]
    assert any("AWS was not fully updated" in t and "no longer exists" in t for t in texts), texts
    assert ApiGateway.objects.get().api_description == "edited"


def test_called_directly_as_a_4_1_project_does(deployed: ApiGateway, admin_user: Any) -> None:
    request = RequestFactory().post("/")
    request.user = admin_user
    with mock.patch("django_aws_api_gateway_websockets.admin.messages") as messages:
        sync_to_aws(django_admin.site._registry[ApiGateway], request, ApiGateway.objects.all())
        sync_from_aws(None, request, [deployed])
    assert messages.info.call_count == 2
