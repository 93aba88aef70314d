"""The four management commands, every path including the errors.

AWS is faked by patching ``django_aws_api_gateway_websockets.models.get_boto3_client`` (the
attribute every AWS call of the package goes through) with a ``MagicMock`` client. This stands
in for real AWS here; a later issue replaces it with moto.
"""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, NoCredentialsError
from django.contrib.auth import get_user_model
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import timezone

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
)

pytestmark = pytest.mark.django_db

SECRET = "s3cret-value"
APP = "django_aws_api_gateway_websockets"
COMMANDS = [
    "createApiGateway",
    "createCustomDomain",
    "clearWebSocketSessions",
    "cleanupWebSocketTokens",
]


def client_error(code: str, operation: str) -> ClientError:
    # The AWS message echoes a request value (as real AWS errors can): it must never be shown.
    return ClientError({"Error": {"Code": code, "Message": f"bad mapping '{SECRET}'"}}, operation)


@pytest.fixture
def new_gateway() -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="New Gateway",
        target_base_endpoint="https://www.example.com/ws/",
        domain_name="ws.example.com",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/abc",
        secret=SECRET,
    )


@pytest.fixture
def created_gateway(new_gateway: ApiGateway) -> ApiGateway:
    ApiGateway.objects.filter(pk=new_gateway.pk).update(
        api_created=True, api_id="abc123defg", deployment_id="dep0"
    )
    new_gateway.refresh_from_db()
    return new_gateway


def run(name: str, *args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# -- discovery and --help ----------------------------------------------------------------------


@pytest.mark.parametrize("name", COMMANDS)
def test_command_is_registered_and_explained(name: str) -> None:
    assert get_commands()[name] == APP
    command = load_command_class(APP, name)
    assert len(command.help) > 60
    help_text = command.create_parser("manage.py", name).format_help()
    for flag in {
        "createApiGateway": ["--pk"],
        "createCustomDomain": ["--pk"],
        "clearWebSocketSessions": [],
        "cleanupWebSocketTokens": ["--token-age", "--rate-limit-age"],
    }[name]:
        assert flag in help_text
    parser = command.create_parser("manage.py", name)
    own = [
        a
        for a in parser._actions
        if a.option_strings and a.dest in {"pk", "token_age", "rate_limit_age"}
    ]
    assert all(a.help and len(a.help) > 20 for a in own)


def test_cleanup_help_mentions_defaults() -> None:
    command = load_command_class(APP, "cleanupWebSocketTokens")
    help_text = command.create_parser("manage.py", "cleanupWebSocketTokens").format_help()
    flat = " ".join(help_text.split())
    assert "(default: the larger of 300 and" in flat and "default: 7" in flat


# -- createApiGateway ----------------------------------------------------------------------------


def test_create_api_gateway_creates_and_reports(
    aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    out, _ = run("createApiGateway", "--pk", str(new_gateway.pk))
    new_gateway.refresh_from_db()
    assert new_gateway.api_created
    assert new_gateway.api_id == "newapi1234"
    assert new_gateway.deployment_id == "dep1"
    assert "Created API Gateway 'New Gateway'" in out and "newapi1234" in out
    aws_mock.create_api.assert_called_once()
    assert aws_mock.create_api.call_args.kwargs["Name"] == "New Gateway"
    assert aws_mock.create_route.call_count == 3  # $connect, $disconnect, $default
    assert SECRET not in out


def test_create_api_gateway_wrong_pk_lists_existing(
    aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    with pytest.raises(CommandError) as excinfo:
        run("createApiGateway", "--pk", "999999")
    message = str(excinfo.value)
    assert "no ApiGateway with pk=999999" in message
    assert f"{new_gateway.pk} (New Gateway)" in message
    aws_mock.factory.assert_not_called()


def test_create_api_gateway_wrong_pk_without_rows(aws_mock: mock.MagicMock) -> None:
    with pytest.raises(CommandError, match="none yet"):
        run("createApiGateway", "--pk", "1")


def test_create_api_gateway_pk_is_required_and_an_integer() -> None:
    with pytest.raises(CommandError, match="--pk"):
        run("createApiGateway")
    with pytest.raises(CommandError, match="invalid int value"):
        run("createApiGateway", "--pk", "abc")


def test_create_api_gateway_refuses_an_already_created_gateway(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    with pytest.raises(CommandError, match=re.escape("already created on AWS (api_id abc123defg)")):
        run("createApiGateway", "--pk", str(created_gateway.pk))
    aws_mock.factory.assert_not_called()


def test_create_api_gateway_needs_a_target_base_endpoint(aws_mock: mock.MagicMock) -> None:
    gateway = ApiGateway.objects.create(api_name="No Endpoint")
    with pytest.raises(CommandError, match="has no target_base_endpoint"):
        run("createApiGateway", "--pk", str(gateway.pk))
    aws_mock.factory.assert_not_called()


def test_create_api_gateway_aws_error_names_the_step_and_code(
    aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    aws_mock.create_integration.side_effect = client_error(
        "BadRequestException", "CreateIntegration"
    )
    with pytest.raises(CommandError) as excinfo:
        run("createApiGateway", "--pk", str(new_gateway.pk))
    message = str(excinfo.value)
    assert "AWS error BadRequestException in CreateIntegration" in message
    assert "'New Gateway'" in message and "run again" in message
    assert SECRET not in message and "bad mapping" not in message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    new_gateway.refresh_from_db()
    assert not new_gateway.api_created  # can be retried
    # Retrying after the cause is fixed completes the gateway.
    aws_mock.create_integration.side_effect = None
    run("createApiGateway", "--pk", str(new_gateway.pk))
    new_gateway.refresh_from_db()
    assert new_gateway.api_created


def test_create_api_gateway_botocore_error(
    aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    aws_mock.create_api.side_effect = NoCredentialsError()
    with pytest.raises(CommandError, match="botocore raised NoCredentialsError"):
        run("createApiGateway", "--pk", str(new_gateway.pk))


def test_create_api_gateway_without_region(new_gateway: ApiGateway) -> None:
    with (
        override_settings(AWS_REGION_NAME=None, AWS_GATEWAY_REGION_NAME=None),
        pytest.raises(CommandError, match="AWS_REGION_NAME must be set"),
    ):
        run("createApiGateway", "--pk", str(new_gateway.pk))


def test_create_api_gateway_invalid_row(aws_mock: mock.MagicMock, new_gateway: ApiGateway) -> None:
    ApiGateway.objects.filter(pk=new_gateway.pk).update(api_name="bad/name!")
    with pytest.raises(CommandError, match="is not valid: API name can only contain"):
        run("createApiGateway", "--pk", str(new_gateway.pk))


# -- createCustomDomain --------------------------------------------------------------------------


def test_create_custom_domain_creates_and_reports(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    out, _ = run("createCustomDomain", "--pk", str(created_gateway.pk))
    created_gateway.refresh_from_db()
    assert created_gateway.custom_domain_created
    assert created_gateway.api_mapping_id == "map1"
    assert "Created custom domain ws.example.com" in out
    assert "d-abc.execute-api.amazonaws.com" in out
    kwargs = aws_mock.create_domain_name.call_args.kwargs
    assert kwargs["DomainName"] == "ws.example.com"
    assert kwargs["DomainNameConfigurations"][0]["CertificateArn"].endswith("certificate/abc")


def test_create_custom_domain_wrong_pk(aws_mock: mock.MagicMock) -> None:
    with pytest.raises(CommandError, match="no ApiGateway with pk=424242"):
        run("createCustomDomain", "--pk", "424242")


def test_create_custom_domain_pk_is_required() -> None:
    with pytest.raises(CommandError, match="--pk"):
        run("createCustomDomain")


def test_create_custom_domain_needs_a_created_gateway(
    aws_mock: mock.MagicMock, new_gateway: ApiGateway
) -> None:
    with pytest.raises(CommandError, match=f"createApiGateway --pk {new_gateway.pk}` first"):
        run("createCustomDomain", "--pk", str(new_gateway.pk))
    aws_mock.factory.assert_not_called()


def test_create_custom_domain_needs_a_certificate(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    ApiGateway.objects.filter(pk=created_gateway.pk).update(certificate_arn="")
    with pytest.raises(CommandError, match="has no certificate_arn"):
        run("createCustomDomain", "--pk", str(created_gateway.pk))
    aws_mock.factory.assert_not_called()


def test_create_custom_domain_needs_a_domain_name(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    ApiGateway.objects.filter(pk=created_gateway.pk).update(domain_name="")
    with pytest.raises(CommandError, match="has no domain_name"):
        run("createCustomDomain", "--pk", str(created_gateway.pk))


def test_create_custom_domain_refuses_a_second_time(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    ApiGateway.objects.filter(pk=created_gateway.pk).update(custom_domain_created=True)
    with pytest.raises(
        CommandError, match=re.escape("already has its custom domain ws.example.com")
    ):
        run("createCustomDomain", "--pk", str(created_gateway.pk))
    aws_mock.factory.assert_not_called()


def test_create_custom_domain_model_precondition_becomes_command_error(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    # The model's own ValueError (for instance when the row changed in between) is reported too.
    with (
        mock.patch.object(
            ApiGateway,
            "create_custom_domain",
            side_effect=ValueError("A Certificate ARN is required"),
        ),
        pytest.raises(CommandError, match="A Certificate ARN is required"),
    ):
        run("createCustomDomain", "--pk", str(created_gateway.pk))


def test_create_custom_domain_aws_error(
    aws_mock: mock.MagicMock, created_gateway: ApiGateway
) -> None:
    aws_mock.create_api_mapping.side_effect = client_error("NotFoundException", "CreateApiMapping")
    with pytest.raises(CommandError) as excinfo:
        run("createCustomDomain", "--pk", str(created_gateway.pk))
    message = str(excinfo.value)
    assert "Creating the custom domain" in message
    assert "AWS error NotFoundException in CreateApiMapping" in message
    assert SECRET not in message
    created_gateway.refresh_from_db()
    assert not created_gateway.custom_domain_created


# -- clearWebSocketSessions ----------------------------------------------------------------------


def test_clear_websocket_sessions_deletes_only_disconnected(gateway: ApiGateway) -> None:
    for i in range(3):
        WebSocketSession.objects.create(
            connection_id=f"gone{i}=", connected=False, api_gateway=gateway
        )
    WebSocketSession.objects.create(connection_id="live1=", api_gateway=gateway)
    WebSocketSession.objects.create(connection_id="live2=")
    out, _ = run("clearWebSocketSessions")
    assert "Successfully deleted 3 disconnected WebSocket sessions" in out
    assert sorted(WebSocketSession.objects.values_list("connection_id", flat=True)) == [
        "live1=",
        "live2=",
    ]
    out, _ = run("clearWebSocketSessions")
    assert "Successfully deleted 0 disconnected" in out
    assert WebSocketSession.objects.count() == 2


# -- cleanupWebSocketTokens ----------------------------------------------------------------------


@pytest.fixture
def aged_rows(user: Any) -> None:
    """Tokens aged 10 s, 299 s, 301 s and 3600 s; attempts aged 1 h, 6 d 23 h, 7 d 1 h and 30 d."""
    now = timezone.now()
    for seconds in (10, 299, 301, 3600):
        token = WebSocketToken.generate_token(user, f"session{seconds}")
        WebSocketToken.objects.filter(pk=token.pk).update(
            created_at=now - timedelta(seconds=seconds)
        )
    for age in (
        timedelta(hours=1),
        timedelta(days=6, hours=23),
        timedelta(days=7, hours=1),
        timedelta(days=30),
    ):
        row = ConnectionRateLimit.record_attempt("10.0.0.1", user)
        ConnectionRateLimit.objects.filter(pk=row.pk).update(attempt_time=now - age)


def token_ages() -> list[str]:
    """The session labels of the tokens left (tokens store the keys' hashes)."""
    labels = {hash_session_key(f"session{age}"): f"session{age}" for age in (10, 299, 301, 3600)}
    return sorted(
        labels[key] for key in WebSocketToken.objects.values_list("session_key", flat=True)
    )


def test_cleanup_defaults(aged_rows: None) -> None:
    out, err = run("cleanupWebSocketTokens")
    assert "Successfully deleted 2 expired WebSocket tokens (older than 300s)" in out
    assert "Successfully deleted 2 old rate limit records (older than 7 days)" in out
    assert err == ""
    assert token_ages() == ["session10", "session299"]
    assert ConnectionRateLimit.objects.count() == 2
    out, _ = run("cleanupWebSocketTokens")
    assert "deleted 0 expired" in out and "deleted 0 old rate limit" in out


def test_cleanup_with_ages(aged_rows: None) -> None:
    out, _ = run("cleanupWebSocketTokens", "--token-age", "3000", "--rate-limit-age", "1")
    assert "Successfully deleted 1 expired WebSocket tokens (older than 3000s)" in out
    assert "Successfully deleted 3 old rate limit records (older than 1 days)" in out
    assert token_ages() == ["session10", "session299", "session301"]
    assert ConnectionRateLimit.objects.count() == 1


def test_cleanup_zero_ages_delete_everything_older_than_now(aged_rows: None) -> None:
    out, err = run("cleanupWebSocketTokens", "--token-age=0", "--rate-limit-age=0")
    assert "deleted 4 expired" in out and "deleted 4 old rate limit" in out
    assert "shorter than the token expiry" in err  # still-valid tokens were deleted: say so
    assert WebSocketToken.objects.count() == 0 and ConnectionRateLimit.objects.count() == 0


def test_cleanup_warns_when_token_age_is_below_the_expiry(aged_rows: None) -> None:
    with override_settings(WEBSOCKETS={"token_expiry_seconds": 600}):
        _, err = run("cleanupWebSocketTokens", "--token-age", "300")
    assert "--token-age 300 is shorter than the token expiry (600s)" in err


def test_cleanup_default_follows_a_longer_expiry(aged_rows: None) -> None:
    """Release 4.1's default: max(300, token_expiry_seconds), so no usable token is deleted."""
    with override_settings(WEBSOCKETS={"token_expiry_seconds": 600}):
        out, err = run("cleanupWebSocketTokens")
    assert "(older than 600s)" in out and err == ""
    assert token_ages() == ["session10", "session299", "session301"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--token-age", "-1"], "argument --token-age: must be a number of seconds between 0 and"),
        (
            ["--rate-limit-age", "-5"],
            "argument --rate-limit-age: must be a number of days between 0 and",
        ),
        (["--token-age", "soon"], "expected a whole number of seconds, got 'soon'"),
        (["--rate-limit-age", "99999999999"], "between 0 and 36500, got 99999999999"),
    ],
)
def test_cleanup_rejects_bad_ages(aged_rows: None, args: list[str], expected: str) -> None:
    with pytest.raises(CommandError, match=re.escape(expected)):
        run("cleanupWebSocketTokens", *args)
    assert WebSocketToken.objects.count() == 4
    assert ConnectionRateLimit.objects.count() == 4


def test_cleanup_keeps_other_users_rows_untouched_by_age(aged_rows: None) -> None:
    # Only age decides: a fresh token of another user survives, an old one does not.
    bob = get_user_model().objects.create_user("bob", password="pw")
    fresh = WebSocketToken.generate_token(bob, "bobfresh")
    old = WebSocketToken.generate_token(bob, "bobold")
    WebSocketToken.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    run("cleanupWebSocketTokens")
    assert WebSocketToken.objects.filter(pk=fresh.pk).exists()
    assert not WebSocketToken.objects.filter(pk=old.pk).exists()
