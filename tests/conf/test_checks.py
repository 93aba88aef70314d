"""System checks: each misconfiguration yields its stable id; a good configuration yields none."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import override_settings

from django_aws_api_gateway_websockets import checks, migration_history
from django_aws_api_gateway_websockets.models import ApiGateway

SESSION = checks.SESSION_MIDDLEWARE
AUTH = checks.AUTH_MIDDLEWARE


def ids(messages: list) -> list[str]:
    return sorted(m.id for m in messages)


def test_the_test_settings_are_clean() -> None:
    ours = [m for m in run_checks() if m.id.startswith("aws_websockets.")]
    assert ours == []


@pytest.mark.parametrize("value", [None, [], "x", 1])
def test_websockets_not_a_dict(value) -> None:
    with override_settings(WEBSOCKETS=value):
        [message] = checks.check_websockets_setting()
    assert message.id == "aws_websockets.E001"
    assert type(value).__name__ in message.msg


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("token_expiry_seconds", "60"),
        ("token_expiry_seconds", 0),
        ("token_expiry_seconds", True),
        ("rate_limit_max_attempts", -1),
        ("rate_limit_window_minutes", 1.5),
        ("token_rate_limit_per_minute", None),
        ("require_gateway_secret", "yes"),
        ("allowed_origin_hosts", "example.com"),
        ("allowed_origin_hosts", ["ok", 3]),
        ("send_concurrency", 0),
    ],
)
def test_wrong_types(key, value) -> None:
    with override_settings(WEBSOCKETS={key: value}):
        [message] = checks.check_websockets_setting()
    assert message.id == "aws_websockets.E002"
    assert key in message.msg


def test_unknown_key_suggests_the_close_one() -> None:
    with override_settings(WEBSOCKETS={"token_expiry_secs": 5}):
        [message] = checks.check_websockets_setting()
    assert message.id == "aws_websockets.W001"
    assert "token_expiry_seconds" in message.hint


def test_legacy_mode_warns() -> None:
    with override_settings(WEBSOCKETS={"legacy_origin_substring_match": True}):
        assert ids(checks.check_websockets_setting()) == ["aws_websockets.W004"]
    with override_settings(WEBSOCKETS={"legacy_origin_substring_match": False}):
        assert checks.check_websockets_setting() == []


def test_valid_settings() -> None:
    with override_settings(
        WEBSOCKETS={
            "token_rate_limit_per_minute": 5,
            "token_expiry_seconds": 30,
            "rate_limit_max_attempts": 3,
            "rate_limit_window_minutes": 2,
            "require_gateway_secret": True,
            "allowed_origin_hosts": ["app.example.com"],
            "send_concurrency": 64,
        }
    ):
        assert checks.check_websockets_setting() == []


@override_settings(AWS_REGION_NAME=None, AWS_GATEWAY_REGION_NAME=None)
def test_missing_region() -> None:
    assert ids(checks.check_aws_region()) == ["aws_websockets.E003"]


@pytest.mark.django_db
@override_settings(AWS_REGION_NAME=None, AWS_GATEWAY_REGION_NAME=None)
def test_missing_region_stops_neither_migrate_nor_check_but_deploy() -> None:
    """Release 4.1: no region is an error only where AWS is used, or under --deploy."""
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    call_command("migrate", verbosity=0, stdout=StringIO(), skip_checks=False)  # runs checks
    call_command("check", stdout=StringIO())
    with pytest.raises(SystemCheckError, match="E003"):
        call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())


@override_settings(AWS_REGION_NAME=None, AWS_GATEWAY_REGION_NAME="eu-west-1")
def test_gateway_region_alone_is_enough() -> None:
    assert checks.check_aws_settings() == []


@override_settings(AWS_REGION_NAME=["us-east-1"])
def test_region_of_the_wrong_type() -> None:
    assert "aws_websockets.E004" in ids(checks.check_aws_settings())


@override_settings(AWS_SECRET_ACCESS_KEY=None)
def test_half_the_credentials() -> None:
    assert ids(checks.check_aws_settings()) == ["aws_websockets.W002"]


@pytest.mark.parametrize(
    ("middleware", "expected"),
    [
        ([], ["aws_websockets.E005", "aws_websockets.E006"]),
        ([SESSION], ["aws_websockets.E006"]),
        ([AUTH], ["aws_websockets.E005"]),
        ([AUTH, SESSION], ["aws_websockets.E006"]),
        ([SESSION, AUTH], []),
    ],
)
def test_middleware(middleware, expected) -> None:
    with override_settings(MIDDLEWARE=middleware):
        assert ids(checks.check_middleware()) == expected


@override_settings(ROOT_URLCONF="tests.urls_without_token")
def test_token_view_not_routed() -> None:
    assert ids(checks.check_token_url()) == ["aws_websockets.W003"]


@pytest.mark.django_db
def test_gateways_without_secret_are_named() -> None:
    ApiGateway.objects.create(api_name="old one")
    ApiGateway.objects.create(api_name="provisioned", secret="x")
    [message] = checks.check_gateway_secrets(databases=["default"])
    assert message.id == "aws_websockets.W005"
    assert "'old one'" in message.msg and "provisioned" not in message.msg
    assert checks.check_gateway_secrets(databases=None) == []


@pytest.mark.django_db
def test_gateway_secret_check_is_quiet_when_all_have_one() -> None:
    ApiGateway.objects.create(api_name="provisioned", secret="x")
    assert checks.check_gateway_secrets(databases=["default"]) == []


@pytest.mark.django_db
def test_no_legacy_tables() -> None:
    assert checks.check_legacy_tables(databases=["default"]) == []


@pytest.mark.django_db
def test_migrations_from_another_release_stop_migrate() -> None:
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    assert checks.check_foreign_migrations(databases=["default"]) == []
    recorder = MigrationRecorder(connection)
    # A name no release will ever ship (a real future one could become known later).
    recorder.record_applied(migration_history.APP_LABEL, "9999_from_an_unknown_release")
    [message] = checks.check_foreign_migrations(databases=["default"])
    assert message.id == "aws_websockets.E008"
    assert "9999_from_an_unknown_release" in message.msg
    with pytest.raises(SystemCheckError, match="E008"):
        call_command("migrate", verbosity=0, skip_checks=False)
