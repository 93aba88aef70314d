"""The admin, through Django's test client as a logged-in superuser.

AWS is faked by patching ``django_aws_api_gateway_websockets.models.get_boto3_client`` (the
attribute every AWS call of the package goes through) with a ``MagicMock`` client. This stands
in for real AWS here; a later issue replaces it with moto.
"""

from __future__ import annotations

import logging
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.contrib.auth import get_user_model
from django.core import checks
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)

pytestmark = pytest.mark.django_db

APP = "django_aws_api_gateway_websockets"
AUDIT_LOGGER = f"{APP}.admin"
SECRET = "s3cret-value"  # the conftest gateway's secret
AWS_MESSAGE = f"Invalid mapping expression '{SECRET}'"
MODELS = {
    "apigateway": ApiGateway,
    "apigatewayadditionalroute": ApiGatewayAdditionalRoute,
    "websocketsession": WebSocketSession,
    "websockettoken": WebSocketToken,
    "connectionratelimit": ConnectionRateLimit,
}


def url(model: str, view: str = "changelist", *args: Any) -> str:
    return reverse(f"admin:{APP}_{model}_{view}", args=args)


@pytest.fixture
def admin_user(db: None) -> Any:
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")


@pytest.fixture
def admin_client(admin_user: Any) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def rows(gateway: ApiGateway, user: Any) -> dict[str, Any]:
    """One row of each model (the gateway is the conftest one, with a secret)."""
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="Chat route",
        route_key="chat",
        integration_url="https://www.example.com/ws/chat",
    )
    session = WebSocketSession.objects.create(
        connection_id="conn-abc=", channel_name="lobby", user=user, api_gateway=gateway
    )
    token = WebSocketToken.generate_token(user, "browser-session-key-123")
    attempt = ConnectionRateLimit.record_attempt("10.1.2.3", user, successful=True)
    return {
        "apigateway": gateway,
        "apigatewayadditionalroute": route,
        "websocketsession": session,
        "websockettoken": token,
        "connectionratelimit": attempt,
    }


def client_error(code: str, operation: str) -> ClientError:
    # Like real AWS errors, the message echoes request values: it must never reach the browser.
    return ClientError({"Error": {"Code": code, "Message": AWS_MESSAGE}}, operation)


def messages_of(response: Any) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in response.context["messages"]]


def assert_safe(html: str, *secrets: str) -> None:
    """Nothing secret and no traceback in a page."""
    for secret in (SECRET, AWS_MESSAGE, "Traceback", *secrets):
        assert secret not in html


# -- the pages ----------------------------------------------------------------------------------


def test_admin_system_checks_pass() -> None:
    errors = [e for e in checks.run_checks(tags=[checks.Tags.admin]) if APP in str(e.obj)]
    assert errors == []


@pytest.mark.parametrize("model", MODELS)
def test_changelist_and_change_pages_render(
    admin_client: Client, rows: dict[str, Any], model: str
) -> None:
    obj = rows[model]
    token = rows["websockettoken"]
    response = admin_client.get(url(model))
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["cl"].result_count == 1
    assert url(model, "change", obj.pk) in html
    assert_safe(html, token.token, token.session_key)
    response = admin_client.get(url(model, "change", obj.pk))
    assert response.status_code == 200
    assert_safe(response.content.decode(), token.token, token.session_key)
    response = admin_client.get(url(model, "history", obj.pk))
    assert response.status_code == 200
    assert_safe(response.content.decode(), token.token, token.session_key)


@pytest.mark.parametrize("model", MODELS)
def test_delete_confirmation_pages_show_no_secrets(
    admin_client: Client, rows: dict[str, Any], model: str
) -> None:
    token = rows["websockettoken"]
    response = admin_client.get(url(model, "delete", rows[model].pk))
    assert response.status_code == 200
    assert_safe(response.content.decode(), token.token, token.session_key)


@pytest.mark.parametrize(
    ("model", "query"),
    [
        ("apigateway", "Test Gateway"),
        ("apigateway", "abc123defg"),
        ("apigatewayadditionalroute", "chat"),
        ("apigatewayadditionalroute", "Test Gateway"),
        ("websocketsession", "conn-abc="),
        ("websocketsession", "alice"),
        ("websockettoken", "alice"),
        ("connectionratelimit", "10.1"),
        ("connectionratelimit", "alice"),  # not an IP: must not reach an inet comparison
    ],
)
def test_search_finds_the_row(
    admin_client: Client, rows: dict[str, Any], model: str, query: str
) -> None:
    response = admin_client.get(url(model), {"q": query})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    response = admin_client.get(url(model), {"q": "no-such-thing"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("apigateway", {"api_created__exact": "0", "stage_name": "production"}),
        ("apigatewayadditionalroute", {"deployed__exact": "0"}),
        ("websocketsession", {"connected__exact": "1"}),
        ("websockettoken", {"used__exact": "0"}),
        ("connectionratelimit", {"successful__exact": "1"}),
    ],
)
def test_filters_and_date_hierarchy(
    admin_client: Client, rows: dict[str, Any], model: str, params: dict[str, str]
) -> None:
    response = admin_client.get(url(model), params)
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
    date_field = response.context["cl"].date_hierarchy
    assert date_field
    year = getattr(rows[model], date_field).year
    response = admin_client.get(url(model), {f"{date_field}__year": str(year)})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 1


def test_token_shows_only_its_prefix(admin_client: Client, rows: dict[str, Any]) -> None:
    token = rows["websockettoken"]
    prefix = token.token[:8]
    for page in (url("websockettoken"), url("websockettoken", "change", token.pk)):
        html = admin_client.get(page).content.decode()
        assert f"{prefix}…" in html
        assert token.token[:9] not in html  # not one character more
        assert token.session_key not in html


def test_gateway_secret_is_never_displayed(admin_client: Client, rows: dict[str, Any]) -> None:
    gateway = rows["apigateway"]
    response = admin_client.get(url("apigateway"))
    assert response.context["cl"].result_list[0].secret == SECRET
    html = response.content.decode()
    assert "column-secret_status" in html and ">set<" in html
    response = admin_client.get(url("apigateway", "change", gateway.pk))
    assert "secret" not in response.context["adminform"].form.fields
    assert ">set<" in response.content.decode()
    response = admin_client.get(url("apigateway", "add"))
    assert response.status_code == 200
    assert "secret" not in response.context["adminform"].form.fields
    ApiGateway.objects.filter(pk=gateway.pk).update(secret="")
    html = admin_client.get(url("apigateway")).content.decode()
    assert ">not set<" in html


def test_read_only_models_cannot_be_added_or_changed(
    admin_client: Client, rows: dict[str, Any]
) -> None:
    for model in ("websockettoken", "connectionratelimit", "websocketsession"):
        assert admin_client.get(url(model, "add")).status_code == 403
    for model in ("websockettoken", "connectionratelimit"):
        obj = rows[model]
        response = admin_client.post(url(model, "change", obj.pk), {"used": "on"})
        assert response.status_code == 403
    token = rows["websockettoken"]
    token.refresh_from_db()
    assert not token.used


def test_sessions_are_read_only(admin_client: Client, rows: dict[str, Any]) -> None:
    """As release 4.1: connections can be viewed and deleted, never changed."""
    session = rows["websocketsession"]
    other = get_user_model().objects.create_user("mallory", password="pw")
    response = admin_client.post(
        url("websocketsession", "change", session.pk),
        {"channel_name": "room-2", "connected": "on", "user": other.pk},
    )
    assert response.status_code == 403
    session.refresh_from_db()
    assert session.channel_name != "room-2"
    assert session.user is not None and session.user.get_username() == "alice"
    page = admin_client.get(url("websocketsession", "change", session.pk))
    assert page.status_code == 200 and 'name="channel_name"' not in page.content.decode()
    deleted = admin_client.post(url("websocketsession", "delete", session.pk), {"post": "yes"})
    assert deleted.status_code == 302
    assert not WebSocketSession.objects.filter(pk=session.pk).exists()


def test_read_only_rows_can_be_deleted(admin_client: Client, rows: dict[str, Any]) -> None:
    token = rows["websockettoken"]
    response = admin_client.post(url("websockettoken", "delete", token.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not WebSocketToken.objects.exists()


# -- no N+1 on list pages -----------------------------------------------------------------------


def make_rows(n: int, start: int) -> None:
    user_model = get_user_model()
    for i in range(start, start + n):
        user = user_model.objects.create_user(f"user{i}", password="pw")
        gateway = ApiGateway.objects.create(api_name=f"Gateway {i}", stage_name=f"stage{i}")
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=gateway,
            name=f"Route {i}",
            route_key=f"key{i}",
            integration_url=f"https://www.example.com/ws/r{i}",
        )
        WebSocketSession.objects.create(
            connection_id=f"c{i}=", user=user, api_gateway=gateway, channel_name=f"ch{i}"
        )
        WebSocketToken.generate_token(user, f"sk{i}")
        ConnectionRateLimit.record_attempt(f"10.0.0.{i}", user)


def count_queries(client: Client, page: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(page).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("model", MODELS)
def test_list_pages_do_not_query_per_row(admin_client: Client, model: str) -> None:
    make_rows(2, 0)
    few = count_queries(admin_client, url(model))
    make_rows(6, 2)
    many = count_queries(admin_client, url(model))
    assert many == few
    response = admin_client.get(url(model))
    assert response.context["cl"].result_count == 8


# -- actions ------------------------------------------------------------------------------------


@pytest.fixture
def new_gateway(db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="New Gateway",
        target_base_endpoint="https://www.example.com/ws/",
        domain_name="ws.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        secret=SECRET,
    )


def run_action(client: Client, action: str, *gateways: ApiGateway) -> Any:
    response = client.post(
        url("apigateway"),
        {"action": action, "_selected_action": [g.pk for g in gateways]},
        follow=True,
    )
    assert response.status_code == 200
    assert_safe(response.content.decode())
    return response


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == AUDIT_LOGGER]


def test_actions_are_offered(admin_client: Client, rows: dict[str, Any]) -> None:
    response = admin_client.get(url("apigateway"))
    choices = dict(response.context["action_form"].fields["action"].choices)
    assert choices["create_api_gateway"] == "Create API Gateway"
    assert choices["create_custom_domain"] == "Create Custom Domain"


def test_create_api_gateway_action_succeeds(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    response = run_action(admin_client, "create_api_gateway", new_gateway)
    assert messages_of(response) == [
        ("success", "New Gateway created")  # the existing package's text
    ]
    new_gateway.refresh_from_db()
    assert new_gateway.api_created and new_gateway.api_id == "newapi1234"
    aws_mock.create_api.assert_called_once()
    assert audit_lines(caplog) == [
        f"admin user 'boss' (pk={response.wsgi_request.user.pk}) ran 'Create API Gateway' on "
        f"ApiGateway 'New Gateway' (pk={new_gateway.pk}): succeeded (API id newapi1234)"
    ]
    # A second run has nothing to do, and says so without calling AWS.
    aws_mock.create_api.reset_mock()
    response = run_action(admin_client, "create_api_gateway", new_gateway)
    assert messages_of(response) == [("info", "New Gateway already created")]
    aws_mock.create_api.assert_not_called()
    assert audit_lines(caplog)[-1].endswith("nothing to do (New Gateway already created)")


def test_create_api_gateway_action_aws_failure(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    aws_mock.create_integration.side_effect = client_error(
        "BadRequestException", "CreateIntegration"
    )
    response = run_action(admin_client, "create_api_gateway", new_gateway)
    # The message names the exception class (the existing package's text); the audit line
    # keeps the AWS error code and operation.
    assert messages_of(response) == [("error", "Failed to create New Gateway: ClientError")]
    new_gateway.refresh_from_db()
    assert not new_gateway.api_created
    (line,) = audit_lines(caplog)
    assert "'boss'" in line and "'New Gateway'" in line
    assert line.endswith("failed (AWS error BadRequestException in CreateIntegration)")
    assert SECRET not in caplog.text
    assert [r.levelname for r in caplog.records if r.name == AUDIT_LOGGER] == ["ERROR"]


def test_create_api_gateway_action_unexpected_failure(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    aws_mock.create_api.return_value = {
        "Unexpected": SECRET
    }  # no ApiId -> KeyError in provisioning
    response = run_action(admin_client, "create_api_gateway", new_gateway)
    assert messages_of(response) == [("error", "Failed to create New Gateway: KeyError")]
    # The details go to the server log only, with the traceback.
    details = [r for r in caplog.records if r.name == AUDIT_LOGGER and r.exc_info]
    assert len(details) == 1


def test_create_api_gateway_action_botocore_failure(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    aws_mock.create_api.side_effect = EndpointConnectionError(
        endpoint_url="https://nowhere.invalid"
    )
    response = run_action(admin_client, "create_api_gateway", new_gateway)
    assert messages_of(response) == [
        ("error", "Failed to create New Gateway: EndpointConnectionError")
    ]
    assert "nowhere.invalid" not in response.content.decode()


def test_create_api_gateway_action_refuses_without_endpoint(
    admin_client: Client, aws_mock: mock.MagicMock, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    gateway = ApiGateway.objects.create(api_name="Bare")
    response = run_action(admin_client, "create_api_gateway", gateway)
    expected = "target_base_endpoint is empty: set it, then run the action again"
    assert messages_of(response) == [("error", f"Bare: {expected}")]
    aws_mock.factory.assert_not_called()
    assert audit_lines(caplog)[0].endswith(f"refused ({expected})")


def test_action_reports_each_selected_gateway(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    bare = ApiGateway.objects.create(api_name="Bare")
    response = run_action(admin_client, "create_api_gateway", new_gateway, bare)
    assert [level for level, _ in messages_of(response)] == ["success", "error"]
    assert len(audit_lines(caplog)) == 2


def test_create_custom_domain_action_succeeds(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    ApiGateway.objects.filter(pk=new_gateway.pk).update(api_created=True, api_id="abc123defg")
    response = run_action(admin_client, "create_custom_domain", new_gateway)
    assert messages_of(response) == [("success", "ws.example.com custom domain created")]
    new_gateway.refresh_from_db()
    assert new_gateway.custom_domain_created and new_gateway.api_mapping_id == "map1"
    assert audit_lines(caplog)[0].endswith(
        f"ran 'Create Custom Domain' on ApiGateway 'New Gateway' (pk={new_gateway.pk}): "
        "succeeded (point the DNS record at d-abc.execute-api.amazonaws.com)"
    )
    response = run_action(admin_client, "create_custom_domain", new_gateway)
    assert messages_of(response) == [("info", "ws.example.com custom domain already created")]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"api_created": False}, "The API needs to be created before calling this method"),
        ({"certificate_arn": ""}, "A Certificate ARN is required"),
        ({"domain_name": ""}, "A domain name is required"),
    ],
)
def test_create_custom_domain_action_refusals(
    admin_client: Client,
    aws_mock: mock.MagicMock,
    new_gateway: ApiGateway,
    caplog: Any,
    changes: dict[str, Any],
    expected: str,
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    ApiGateway.objects.filter(pk=new_gateway.pk).update(
        **{"api_created": True, "api_id": "abc123defg", **changes}
    )
    response = run_action(admin_client, "create_custom_domain", new_gateway)
    assert messages_of(response) == [("error", f"New Gateway: {expected}")]
    aws_mock.factory.assert_not_called()
    assert audit_lines(caplog)[0].endswith(f"refused ({expected})")


def test_create_custom_domain_action_aws_failure(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    ApiGateway.objects.filter(pk=new_gateway.pk).update(api_created=True, api_id="abc123defg")
    aws_mock.create_domain_name.side_effect = client_error(
        "AccessDeniedException", "CreateDomainName"
    )
    response = run_action(admin_client, "create_custom_domain", new_gateway)
    assert messages_of(response) == [
        ("error", "Failed to create custom domain for New Gateway: ClientError")
    ]
    new_gateway.refresh_from_db()
    assert not new_gateway.custom_domain_created
    assert audit_lines(caplog)[0].endswith(
        "failed (AWS error AccessDeniedException in CreateDomainName)"
    )


def test_unexpected_error_shows_only_its_type(
    admin_client: Client, aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    ApiGateway.objects.filter(pk=new_gateway.pk).update(api_created=True, api_id="abc123defg")
    with mock.patch.object(ApiGateway, "create_custom_domain", side_effect=RuntimeError(SECRET)):
        response = run_action(admin_client, "create_custom_domain", new_gateway)
    assert messages_of(response) == [
        ("error", "Failed to create custom domain for New Gateway: RuntimeError")
    ]


# -- saving routes (AWS is updated once the gateway is deployed) -------------------------------


def form_data(response: Any) -> dict[str, Any]:
    """The POST data of an admin change form as rendered (main form and inline formsets)."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is not None:
                data[form[name].html_name] = value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


@pytest.fixture
def deployed(gateway: ApiGateway) -> ApiGateway:
    ApiGateway.objects.filter(pk=gateway.pk).update(
        api_created=True, deployment_id="dep0", api_endpoint="wss://abc123defg.example"
    )
    gateway.refresh_from_db()
    return gateway


#: An additional route as the route admin's form posts it, and as the gateway's inline posts it.
CHAT_ROUTE = {
    "name": "Chat",
    "route_key": "chat",
    "integration_url": "https://www.example.com/ws/chat",
}
INLINE_CHAT_ROUTE = {"additional_routes-TOTAL_FORMS": "1"} | {
    f"additional_routes-0-{name}": value for name, value in CHAT_ROUTE.items()
}


def test_inline_route_saved_on_undeployed_gateway_does_not_call_aws(
    admin_client: Client, aws_mock: mock.MagicMock, gateway: ApiGateway
) -> None:
    change = url("apigateway", "change", gateway.pk)
    data = form_data(admin_client.get(change))
    data.update(INLINE_CHAT_ROUTE)
    response = admin_client.post(change, data, follow=True)
    assert response.status_code == 200
    assert [lvl for lvl, _ in messages_of(response)] == ["success"]
    assert gateway.additional_routes.get().route_key == "chat"
    aws_mock.factory.assert_not_called()
    assert ApiGateway.objects.get(pk=gateway.pk).secret == SECRET  # the form keeps the secret


def test_inline_route_aws_failure_keeps_the_row_and_warns(
    admin_client: Client, aws_mock: mock.MagicMock, deployed: ApiGateway, caplog: Any
) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    aws_mock.create_integration.side_effect = client_error(
        "BadRequestException", "CreateIntegration"
    )
    change = url("apigateway", "change", deployed.pk)
    data = form_data(admin_client.get(change))
    data.update(INLINE_CHAT_ROUTE)
    response = admin_client.post(change, data, follow=True)
    assert response.status_code == 200
    assert_safe(response.content.decode())
    assert (
        "warning",
        "Route “Chat” was saved, but updating it on AWS failed: AWS error BadRequestException "
        "in CreateIntegration. Save it again to retry.",
    ) in messages_of(response)
    route = deployed.additional_routes.get()
    assert not route.deployed
    assert audit_lines(caplog)[0].endswith(
        "saved; AWS update failed (AWS error BadRequestException in CreateIntegration)"
    )
    # Saving it again once AWS accepts it deploys it.
    aws_mock.create_integration.side_effect = None
    data = form_data(admin_client.get(change))
    response = admin_client.post(change, data, follow=True)
    route.refresh_from_db()
    assert route.deployed
    assert audit_lines(caplog)[-1].endswith("saved and deployed to AWS")


@pytest.mark.django_db(transaction=True)  # the push runs when the admin's transaction commits
def test_editing_a_deployed_route_when_aws_fails_marks_it_not_deployed(
    admin_client: Client, aws_mock: mock.MagicMock, deployed: ApiGateway
) -> None:
    data = {"api_gateway": deployed.pk, **CHAT_ROUTE}
    admin_client.post(url("apigatewayadditionalroute", "add"), data, follow=True)
    route = ApiGatewayAdditionalRoute.objects.get()
    assert route.deployed
    aws_mock.update_integration.side_effect = client_error(
        "BadRequestException", "UpdateIntegration"
    )
    aws_mock.create_integration.side_effect = client_error(
        "BadRequestException", "CreateIntegration"
    )
    data["integration_url"] = "https://www.example.com/ws/chat-v2"
    response = admin_client.post(
        url("apigatewayadditionalroute", "change", route.pk), data, follow=True
    )
    assert response.status_code == 200
    assert any(
        "AWS was not fully updated: updating the route “Chat” on AWS failed" in text
        for _level, text in messages_of(response)
    )
    route.refresh_from_db()
    # the edit is kept, and the row no longer claims the stage serves it
    assert route.integration_url == "https://www.example.com/ws/chat-v2"
    assert not route.deployed


def test_inline_route_can_be_deleted(
    admin_client: Client, aws_mock: mock.MagicMock, rows: dict[str, Any]
) -> None:
    gateway = rows["apigateway"]
    change = url("apigateway", "change", gateway.pk)
    data = form_data(admin_client.get(change))
    data["additional_routes-0-DELETE"] = "on"
    response = admin_client.post(change, data, follow=True)
    assert response.status_code == 200
    assert not gateway.additional_routes.exists()


def test_route_admin_save_with_aws_failure_and_retry(
    admin_client: Client, aws_mock: mock.MagicMock, deployed: ApiGateway
) -> None:
    aws_mock.create_deployment.side_effect = client_error(
        "TooManyRequestsException", "CreateDeployment"
    )
    data = {"api_gateway": deployed.pk, **CHAT_ROUTE}
    response = admin_client.post(url("apigatewayadditionalroute", "add"), data, follow=True)
    assert response.status_code == 200
    assert_safe(response.content.decode())
    levels = dict((text, lvl) for lvl, text in messages_of(response))
    assert (
        levels[
            "Route “Chat” was saved, but updating it on AWS failed: AWS error "
            "TooManyRequestsException in CreateDeployment. Save it again to retry."
        ]
        == "warning"
    )
    route = ApiGatewayAdditionalRoute.objects.get()
    assert not route.deployed
    aws_mock.create_deployment.side_effect = None
    response = admin_client.post(
        url("apigatewayadditionalroute", "change", route.pk), data, follow=True
    )
    assert response.status_code == 200
    route.refresh_from_db()
    assert route.deployed


def test_admin_index_lists_the_five_models(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200
    html = response.content.decode()
    for model in MODELS:
        assert url(model) in html
