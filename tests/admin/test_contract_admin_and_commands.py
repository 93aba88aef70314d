"""The existing package's admin actions and management commands, called the way projects' own
tests call them: actions directly with a list (or an empty queryset and ``request=None``) and
``admin.messages`` patched; commands with ``call_command`` and the model class in the command's
module patched. AWS is replaced by ``MagicMock`` doubles (it cannot run here)."""

from __future__ import annotations

import logging
from unittest.mock import MagicMock, patch

import pytest
from botocore.exceptions import ClientError
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from django_aws_api_gateway_websockets import admin
from django_aws_api_gateway_websockets.admin import AUDIT_LOGGER
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession, WebSocketToken

MESSAGES = "django_aws_api_gateway_websockets.admin.messages"
COMMANDS = "django_aws_api_gateway_websockets.management.commands"


def gateway_double(**fields: object) -> MagicMock:
    values: dict[str, object] = {
        "api_created": False,
        "custom_domain_created": False,
        "api_name": "Test API",
        "domain_name": "ws.example.com",
    }
    values.update(fields)
    return MagicMock(**values)


def client_error(code: str = "A123") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Some error"}}, "CreateApi")


# -- actions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("action", [admin.create_api_gateway, admin.create_custom_domain])
def test_an_empty_list_with_no_request_does_nothing(action) -> None:
    with patch(MESSAGES) as messages:
        action(None, None, [])
    assert messages.mock_calls == []


@pytest.mark.django_db
@pytest.mark.parametrize("action", [admin.create_api_gateway, admin.create_custom_domain])
def test_an_empty_queryset_with_no_request_does_nothing(action) -> None:
    with patch(MESSAGES) as messages:
        action(None, None, ApiGateway.objects.none())
    assert messages.mock_calls == []


def test_create_api_gateway_texts() -> None:
    request = MagicMock()
    created, skipped, failing, refused = (
        gateway_double(api_name="One"),
        gateway_double(api_name="Two", api_created=True),
        gateway_double(api_name="Three"),
        gateway_double(api_name="Four", target_base_endpoint=""),
    )
    failing.create_gateway.side_effect = client_error()
    with patch(MESSAGES) as messages:
        admin.create_api_gateway(None, request, [created, skipped, failing, refused])
    created.create_gateway.assert_called_once_with()
    skipped.create_gateway.assert_not_called()
    messages.success.assert_called_once_with(request, "One created")
    messages.info.assert_called_once_with(request, "Two already created")
    assert messages.error.call_args_list[0].args == (request, "Failed to create Three: ClientError")
    assert messages.error.call_args_list[1].args[1].startswith("Four: target_base_endpoint")


def test_create_gateway_returning_none_is_already_created() -> None:
    request = MagicMock()
    gateway = gateway_double()
    gateway.create_gateway.return_value = None  # the existing package's "nothing to do"
    with patch(MESSAGES) as messages:
        admin.create_api_gateway(None, request, [gateway])
    messages.info.assert_called_once_with(request, "Test API already created")


def test_create_custom_domain_texts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    request = MagicMock()
    done = gateway_double(api_name="One", api_created=True, domain_name="one.example.com")
    not_created = gateway_double(api_name="Two")
    no_arn = gateway_double(api_name="Three", api_created=True)
    no_arn.create_custom_domain.side_effect = ValueError("A Certificate ARN is required")
    failing = gateway_double(api_name="Four", api_created=True)
    failing.create_custom_domain.side_effect = client_error("AccessDeniedException")
    already = gateway_double(api_name="Five", api_created=True, custom_domain_created=True)
    with patch(MESSAGES) as messages:
        admin.create_custom_domain(None, request, [done, not_created, no_arn, failing, already])
    messages.success.assert_called_once_with(request, "one.example.com custom domain created")
    assert [c.args[1] for c in messages.error.call_args_list] == [
        "Two: The API needs to be created before calling this method",
        "Three: A Certificate ARN is required",
        "Failed to create custom domain for Four: ClientError",
    ]
    messages.info.assert_called_once_with(request, "ws.example.com custom domain already created")
    not_created.create_custom_domain.assert_not_called()
    already.create_custom_domain.assert_not_called()
    # The audit log keeps the AWS error code the message leaves out.
    assert any("AccessDeniedException" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_real_gateway_in_a_list(caplog: pytest.LogCaptureFixture) -> None:
    gateway = ApiGateway.objects.create(
        api_name="Real", target_base_endpoint="https://www.example.com/ws/"
    )
    client = MagicMock()
    client.create_api.side_effect = client_error("BadRequestException")
    request = MagicMock()
    with (
        patch(MESSAGES) as messages,
        patch("django_aws_api_gateway_websockets.models.get_boto3_client", return_value=client),
    ):
        caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
        admin.create_api_gateway(None, request, [gateway])
    messages.error.assert_called_once_with(request, "Failed to create Real: ClientError")
    assert "AWS error BadRequestException in CreateApi" in caplog.text


@pytest.mark.django_db
def test_token_preview() -> None:
    user = get_user_model().objects.create_user("tok")
    token = WebSocketToken.generate_token(user, "session-key")
    token_admin = admin.WebSocketTokenAdmin(WebSocketToken, AdminSite())
    assert token_admin.token_preview(token) == f"{token.token[:16]}..."
    token_admin.list_display = ("token_preview", "user")  # as projects list it
    assert token_admin.get_list_display(MagicMock()) == ("token_preview", "user")


# -- commands ----------------------------------------------------------------------------------


def test_create_api_gateway_command_lookup() -> None:
    with patch(f"{COMMANDS}.createApiGateway.ApiGateway") as model:
        call_command("createApiGateway", "--pk", "7")
    model.objects.get.assert_called_once_with(pk=7, api_created=False)
    model.objects.get.return_value.create_gateway.assert_called_once_with()


def test_create_custom_domain_command_lookup() -> None:
    with patch(f"{COMMANDS}.createCustomDomain.ApiGateway") as model:
        call_command("createCustomDomain", "--pk", "7")
    model.objects.get.assert_called_once_with(pk=7, api_created=True, custom_domain_created=False)
    model.objects.get.return_value.create_custom_domain.assert_called_once_with()


def test_clear_sessions_reads_the_count_as_result_0() -> None:
    with patch(f"{COMMANDS}.clearWebSocketSessions.WebSocketSession") as model:
        model.objects.filter.return_value.delete.return_value = MagicMock(
            __getitem__=lambda self, i: 3
        )
        out = MagicMock()
        call_command("clearWebSocketSessions", stdout=out)
    model.objects.filter.assert_called_once_with(connected=False)
    assert "Successfully deleted 3 disconnected" in out.write.call_args.args[0]


@pytest.mark.django_db
def test_command_errors_from_the_does_not_exist_branch() -> None:
    with pytest.raises(CommandError, match="no ApiGateway with pk=99"):
        call_command("createApiGateway", "--pk", "99")
    created = ApiGateway.objects.create(api_name="Done", api_id="abc")
    ApiGateway.objects.filter(pk=created.pk).update(api_created=True, custom_domain_created=True)
    with pytest.raises(CommandError, match="already created on AWS"):
        call_command("createApiGateway", "--pk", str(created.pk))
    with pytest.raises(CommandError, match="already has its custom domain"):
        call_command("createCustomDomain", "--pk", str(created.pk))
    fresh = ApiGateway.objects.create(api_name="Fresh")
    with pytest.raises(CommandError, match="not created on AWS yet"):
        call_command("createCustomDomain", "--pk", str(fresh.pk))


@pytest.mark.django_db
def test_clear_sessions_counts_real_rows(gateway: ApiGateway) -> None:
    WebSocketSession.objects.create(connection_id="a=", connected=False)
    WebSocketSession.objects.create(connection_id="b=", connected=True)
    out = MagicMock()
    call_command("clearWebSocketSessions", stdout=out)
    assert "Successfully deleted 1 disconnected" in out.write.call_args.args[0]
    assert list(WebSocketSession.objects.values_list("connection_id", flat=True)) == ["b="]


def test_no_command_imports_another_commands_module() -> None:
    import ast
    from pathlib import Path

    import django_aws_api_gateway_websockets.management.commands as package

    folder = Path(package.__path__[0])
    names = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not any(node.module.endswith(f"commands.{n}") for n in names), path
                if node.module.endswith("commands") or node.level:
                    assert not {a.name for a in node.names} & names, path
