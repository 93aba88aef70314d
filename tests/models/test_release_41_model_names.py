"""Release 4.1's remaining module-level names of ``models`` (issue 12, spec §3): its tuning
constants (each compared with what ours really uses), ``logger``, the ``conf`` re-exports,
``integration_request_parameters``, the module ``sync``, and its three signal receivers, which a
4.1 project disconnects in its own tests: disconnecting ours by those names really stops them.

AWS is moto in-process (``moto_aws``) for provisioning, and the way 4.1 projects test (a
MagicMock boto3 factory, ``aws_mock``) for ``DeleteConnection`` on logout: AWS cannot run here."""

from __future__ import annotations

import ast
import importlib
import logging
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.endpoint import DEFAULT_TIMEOUT
from django.contrib.auth.signals import user_logged_out
from django.core.management import load_command_class
from django.db.models.signals import post_delete, pre_delete
from django.test import Client
from django.utils import timezone

from django_aws_api_gateway_websockets import aws, conf, models, routes
from django_aws_api_gateway_websockets.messaging import RetryPolicy, boto3_transport
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from tests.support import legacy_db
from tests.support.moto_aws import deployed_gateway, inventory, plain_client

APP = "django_aws_api_gateway_websockets"
SECRET = "a" * 40
BASE = "https://www.example.com/ws/"

#: Every name of 4.1.0's ``models`` that ours lacked before (checked with hasattr on 4.1.0).
NAMES_4_1 = [
    "BROADCAST_MAX_WORKERS",
    "BROADCAST_CONNECT_TIMEOUT",
    "BROADCAST_READ_TIMEOUT",
    "BROADCAST_MAX_ATTEMPTS",
    "AWS_CONNECT_TIMEOUT",
    "AWS_READ_TIMEOUT",
    "AWS_MAX_ATTEMPTS",
    "RATE_LIMIT_RETENTION_DAYS",
    "RATE_LIMIT_PURGE_ONE_IN",
    "RATE_LIMIT_PURGE_BATCH",
    "logger",
    "integration_request_parameters",
    "disconnect_sessions_of_deleted_gateway",
    "close_sessions_on_logout",
    "delete_route_from_aws",
    "get_allowed_integration_hosts",
    "get_boolean_setting",
    "get_websockets_config",
    "sync",
]


@pytest.mark.parametrize("name", NAMES_4_1)
def test_every_name_exists_and_is_listed(name: str) -> None:
    assert hasattr(models, name)
    assert name in dir(models)
    assert name in models.__all__
    namespace: dict[str, Any] = {}
    exec(f"from {APP}.models import {name}", namespace)
    assert namespace[name] is getattr(models, name)


def public_names_of_4_1_models() -> set[str]:
    """What 4.1.0's ``models.py`` (read from the real wheel) defines or takes from its own
    package at module level, private names left out."""
    wheel = legacy_db.wheel_for("4.1.0")
    if wheel is None:
        pytest.fail(legacy_db.missing_wheels_message(("4.1.0",)) or "", pytrace=False)
    with zipfile.ZipFile(wheel) as archive:
        tree = ast.parse(archive.read(f"{APP}/models.py").decode())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(APP):
            names.update(alias.asname or alias.name for alias in node.names)
    return {name for name in names if not name.startswith("_")}


def test_nothing_of_4_1s_models_is_missing() -> None:
    theirs = public_names_of_4_1_models()
    assert set(NAMES_4_1) <= theirs and len(theirs) > 30
    assert sorted(name for name in theirs if not hasattr(models, name)) == []


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'BROADCAST_MAX_WORKER'"):
        _ = models.BROADCAST_MAX_WORKER  # type: ignore[attr-defined]


def test_sync_is_the_sync_module() -> None:
    assert models.sync is importlib.import_module(f"{APP}.sync")
    assert models.sync.ApiGatewaySyncError is models.ApiGatewaySyncError


def test_logger_is_the_models_logger() -> None:
    assert models.logger is logging.getLogger(f"{APP}.models")


class TestConfReExports:
    def test_same_functions(self) -> None:
        assert models.get_allowed_integration_hosts is conf.get_allowed_integration_hosts
        assert models.get_boolean_setting is conf.get_boolean_setting
        assert models.get_websockets_config is conf.get_websockets_config

    def test_a_boolean_defaults_as_in_4_1(self, settings: Any) -> None:
        settings.WEBSOCKETS = {}
        assert models.get_boolean_setting("push_changes_to_aws") is True
        settings.WEBSOCKETS = {"push_changes_to_aws": False}
        assert models.get_boolean_setting("push_changes_to_aws") is False

    def test_config_and_hosts(self, settings: Any) -> None:
        settings.WEBSOCKETS = {"allowed_integration_hosts": "WWW.Example.com"}
        assert models.get_websockets_config() == settings.WEBSOCKETS
        assert models.get_allowed_integration_hosts() == ["www.example.com"]


class TestConstants:
    """Each constant is the value ours has in force, read from where ours keeps it."""

    def test_broadcast_workers_are_the_send_concurrency_default(self, settings: Any) -> None:
        settings.WEBSOCKETS = {}
        assert conf.conf.send_concurrency == models.BROADCAST_MAX_WORKERS

    def test_broadcast_attempts_are_the_retry_policys(self, settings: Any) -> None:
        settings.WEBSOCKETS = {}
        assert RetryPolicy.from_settings().max_attempts == models.BROADCAST_MAX_ATTEMPTS

    def test_broadcast_timeouts_are_the_management_clients(self) -> None:
        boto3_transport.clear_client_cache()
        client = boto3_transport.shared_client("https://abc123defg.example.com/prod", 4)
        assert client.meta.config.connect_timeout == models.BROADCAST_CONNECT_TIMEOUT
        assert client.meta.config.read_timeout == models.BROADCAST_READ_TIMEOUT
        boto3_transport.clear_client_cache()

    def test_aws_values_are_the_control_plane_clients(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
        monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        client = aws.client("apigatewayv2")
        assert client.meta.config.connect_timeout == models.AWS_CONNECT_TIMEOUT == DEFAULT_TIMEOUT
        assert client.meta.config.read_timeout == models.AWS_READ_TIMEOUT == DEFAULT_TIMEOUT
        assert client.meta.config.retries["mode"] == "standard"
        assert models.AWS_MAX_ATTEMPTS == 3  # botocore's standard mode, as 4.1 configured

    @pytest.mark.django_db
    def test_rate_limit_retention_is_the_cleanups_default(self) -> None:
        now = timezone.now()
        days = models.RATE_LIMIT_RETENTION_DAYS
        assert days == 7  # as 4.1
        kept = ConnectionRateLimit.objects.create(ip_address="10.0.0.1")
        gone = ConnectionRateLimit.objects.create(ip_address="10.0.0.2")
        ConnectionRateLimit.objects.filter(pk=kept.pk).update(
            attempt_time=now - timedelta(days=days) + timedelta(hours=1)
        )
        ConnectionRateLimit.objects.filter(pk=gone.pk).update(
            attempt_time=now - timedelta(days=days) - timedelta(hours=1)
        )
        ConnectionRateLimit.cleanup_old_records()
        assert list(ConnectionRateLimit.objects.values_list("pk", flat=True)) == [kept.pk]
        for command in ("cleanupWebSocketTokens", "reconcileWebSocketSessions"):
            parser = load_command_class(APP, command).create_parser("manage.py", command)
            assert parser.parse_args([]).rate_limit_age == days

    @pytest.mark.django_db
    def test_no_purge_while_recording(self) -> None:
        assert models.RATE_LIMIT_PURGE_ONE_IN == models.RATE_LIMIT_PURGE_BATCH == 0
        old = ConnectionRateLimit.objects.create(ip_address="10.0.0.1")
        ConnectionRateLimit.objects.filter(pk=old.pk).update(
            attempt_time=timezone.now() - timedelta(days=365)
        )
        for _ in range(120):  # 4.1 would have purged about once in 100
            ConnectionRateLimit.record_attempt("10.0.0.9")
        assert ConnectionRateLimit.objects.filter(pk=old.pk).exists()


class TestIntegrationRequestParameters:
    def test_without_a_secret_maps_the_context(self, settings: Any) -> None:
        settings.WEBSOCKETS = {}
        params = models.integration_request_parameters()
        assert params["integration.request.header.connectionId"] == "context.connectionId"
        assert not any("Secret" in key for key in params)

    def test_the_site_secret_is_sent_quoted(self, settings: Any) -> None:
        settings.WEBSOCKETS = {"gateway_secret": [SECRET, "b" * 40]}
        params = models.integration_request_parameters()
        assert params["integration.request.header.X-Ws-Gateway-Secret"] == f"'{SECRET}'"

    @pytest.mark.parametrize("bad", ["short", SECRET + "\n", ["ok" * 20, "has 'quote'" * 4]])
    def test_an_invalid_secret_is_a_value_error(self, settings: Any, bad: Any) -> None:
        settings.WEBSOCKETS = {"gateway_secret": bad}
        with pytest.raises(ValueError, match="gateway_secret"):
            models.integration_request_parameters()

    @pytest.mark.django_db
    def test_is_what_provisioning_gives_aws(self, moto_aws: Any, settings: Any) -> None:
        settings.WEBSOCKETS = {"gateway_secret": SECRET}
        row = deployed_gateway()
        items = plain_client().get_integrations(ApiId=row.api_id)["Items"]
        assert items
        for item in items:
            assert item["RequestParameters"] == models.integration_request_parameters(row)
        assert models.integration_request_parameters(row) == routes.request_parameters(row)


@pytest.fixture
def aws_calls_run(django_capture_on_commit_callbacks: Any) -> Iterator[None]:
    with django_capture_on_commit_callbacks(execute=True):
        yield


@pytest.mark.django_db
class TestReceiversDisconnectForReal:
    """A 4.1 project's tests disconnect these receivers; that must really stop ours."""

    def test_close_sessions_on_logout(
        self, gateway: ApiGateway, user: Any, aws_mock: Any, aws_calls_run: None
    ) -> None:
        receiver = models.close_sessions_on_logout
        first, second = Client(), Client()
        first.force_login(user)
        second.force_login(user)
        for browser, connection_id in ((first, "a1="), (second, "a2=")):
            callbacks = GatewayCallbacks(browser, gateway)
            assert callbacks.connect(connection_id, token=callbacks.token()).status_code == 200
        assert user_logged_out.disconnect(receiver) is True
        try:
            first.logout()
            assert WebSocketSession.objects.get(connection_id="a1=").connected
        finally:
            user_logged_out.connect(receiver)
        second.logout()
        assert not WebSocketSession.objects.get(connection_id="a2=").connected

    def test_disconnect_sessions_of_deleted_gateway(self, gateway: ApiGateway) -> None:
        receiver = models.disconnect_sessions_of_deleted_gateway
        other = ApiGateway.objects.create(api_name="Other", api_id="other12345")
        WebSocketSession.objects.create(connection_id="g1=", api_gateway=gateway, connected=True)
        WebSocketSession.objects.create(connection_id="g2=", api_gateway=other, connected=True)
        assert pre_delete.disconnect(receiver, sender=ApiGateway) is True
        try:
            gateway.delete()
            assert WebSocketSession.objects.get(connection_id="g1=").connected
        finally:
            pre_delete.connect(receiver, sender=ApiGateway)
        other.delete()
        assert not WebSocketSession.objects.get(connection_id="g2=").connected

    def test_delete_route_from_aws(
        self, moto_aws: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        receiver = models.delete_route_from_aws
        row = deployed_gateway()
        for key in ("a", "b"):
            ApiGatewayAdditionalRoute.objects.create(
                api_gateway=row, name=key, route_key=key, integration_url=f"{BASE}{key}"
            )
        assert post_delete.disconnect(receiver, sender=ApiGatewayAdditionalRoute) is True
        try:
            with django_capture_on_commit_callbacks(execute=True) as removals:
                ApiGatewayAdditionalRoute.objects.filter(route_key="a").delete()
            assert removals == []
        finally:
            post_delete.connect(receiver, sender=ApiGatewayAdditionalRoute)
        with django_capture_on_commit_callbacks(execute=True) as removals:
            ApiGatewayAdditionalRoute.objects.filter(route_key="b").delete()
        assert len(removals) == 1
        keys = set(inventory(plain_client(), row.api_id)["routes"])
        assert "a" in keys and "b" not in keys
