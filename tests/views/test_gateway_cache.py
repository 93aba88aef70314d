"""The $connect gateway cache (gateway_cache.py), through real callbacks in autocommit mode.

These tests use ``transactional_db``: the cache is only used outside a transaction, so in the
rest of the suite (``db``, one transaction per test) every callback reads the database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets import gateway_cache
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import (
    DUPLICATE_CONNECTION,
    GATEWAY_FORBIDDEN,
    INVALID_HEADERS,
)

GATEWAY_TABLE = ApiGateway._meta.db_table


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    gateway_cache.clear()
    yield
    gateway_cache.clear()


@pytest.fixture
def gateway(transactional_db: None) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Cached",
        api_id="cache12345",
        target_base_endpoint="https://www.example.com/ws-open/",
        default_channel_name="lobby",
        secret="first-secret",
    )


@pytest.fixture
def callbacks(gateway: ApiGateway) -> GatewayCallbacks:
    return GatewayCallbacks(Client(), gateway)


def gateway_queries(context: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in context.captured_queries if GATEWAY_TABLE in q["sql"]]


def behind_our_back(sql: str, *params: object) -> None:
    """Change the database as another process would: no signals reach this one."""
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=connection.ops.quote_name(GATEWAY_TABLE)), params)


def test_the_second_connect_does_not_read_the_gateway(callbacks: GatewayCallbacks) -> None:
    with CaptureQueriesContext(connection) as first:
        assert callbacks.connect().status_code == 200
    with CaptureQueriesContext(connection) as second:
        assert callbacks.connect().status_code == 200
    assert len(gateway_queries(first)) == 1
    assert gateway_queries(second) == []
    assert WebSocketSession.objects.filter(api_gateway=callbacks.gateway).count() == 2


def test_not_used_inside_a_transaction(gateway: ApiGateway) -> None:
    from django.db import transaction

    callbacks = GatewayCallbacks(Client(), gateway)
    assert callbacks.connect().status_code == 200
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        assert not gateway_cache.enabled()
        assert callbacks.connect().status_code == 200
    assert len(gateway_queries(inside)) == 1


def test_switched_off_with_zero_seconds(callbacks: GatewayCallbacks) -> None:
    from django.test import override_settings

    override = override_settings(WEBSOCKETS={"gateway_cache_seconds": 0})
    override.enable()
    callbacks.connect()
    with CaptureQueriesContext(connection) as second:
        assert callbacks.connect().status_code == 200
    override.disable()
    assert len(gateway_queries(second)) == 1


def test_a_save_in_this_process_is_seen_at_once(callbacks: GatewayCallbacks) -> None:
    callbacks.connect()
    callbacks.gateway.default_channel_name = "hall"
    callbacks.gateway.save()
    response = callbacks.connect("NewChannel1234=")
    assert response.status_code == 200
    assert WebSocketSession.objects.get(connection_id="NewChannel1234=").channel_name == "hall"


def test_a_new_secret_set_elsewhere_is_accepted_at_once(callbacks: GatewayCallbacks) -> None:
    callbacks.connect()
    behind_our_back(
        "UPDATE {table} SET secret = %s WHERE id = %s", "second-secret", callbacks.gateway.pk
    )
    callbacks.gateway.secret = "second-secret"  # the callbacks now carry the new secret
    assert callbacks.connect().status_code == 200


def test_a_forged_secret_is_checked_against_the_database(callbacks: GatewayCallbacks) -> None:
    callbacks.connect()
    with CaptureQueriesContext(connection) as forged:
        response = callbacks.connect(headers={"X-Gateway-Secret": "guess"})
    assert response.status_code == 403
    assert response.content.decode() == GATEWAY_FORBIDDEN
    assert len(gateway_queries(forged)) == 1
    assert WebSocketSession.objects.count() == 1


def test_a_gateway_deleted_elsewhere_is_unknown_not_a_500(callbacks: GatewayCallbacks) -> None:
    assert callbacks.connect().status_code == 200
    WebSocketSession.objects.all().delete()
    behind_our_back("DELETE FROM {table} WHERE id = %s", callbacks.gateway.pk)
    response = callbacks.connect("AfterDelete123=")
    assert response.status_code == 400
    assert response.content.decode() == INVALID_HEADERS
    assert not WebSocketSession.objects.exists()
    assert gateway_cache.get(callbacks.gateway.api_id) is None


def test_a_duplicate_connection_id_is_still_reported_as_one(callbacks: GatewayCallbacks) -> None:
    assert callbacks.connect("SameId12345678=").status_code == 200
    response = callbacks.connect("SameId12345678=")
    assert response.status_code == 400
    assert response.content.decode() == DUPLICATE_CONNECTION


def test_entries_expire(callbacks: GatewayCallbacks, monkeypatch: pytest.MonkeyPatch) -> None:
    callbacks.connect()
    behind_our_back(
        "UPDATE {table} SET default_channel_name = %s WHERE id = %s", "hall", callbacks.gateway.pk
    )
    assert callbacks.connect("BeforeExpiry12=").status_code == 200
    now = gateway_cache.time.monotonic()
    monkeypatch.setattr(gateway_cache.time, "monotonic", lambda: now + 5.01)
    assert callbacks.connect("AfterExpiry123=").status_code == 200
    channels = dict(WebSocketSession.objects.values_list("connection_id", "channel_name"))
    assert channels["BeforeExpiry12="] == "lobby"  # within the 5 seconds: the cached row
    assert channels["AfterExpiry123="] == "hall"


def test_entries_are_copies(callbacks: GatewayCallbacks) -> None:
    callbacks.connect()
    first = gateway_cache.get(callbacks.gateway.api_id)
    assert first is not None
    first.default_channel_name = "changed by one request"
    second = gateway_cache.get(callbacks.gateway.api_id)
    assert second is not None and second.default_channel_name == "lobby"
    assert not hasattr(second, "recent_ip_attempts")


def test_a_flush_empties_the_cache(callbacks: GatewayCallbacks) -> None:
    from django.core.management import call_command

    callbacks.connect()
    assert gateway_cache.get(callbacks.gateway.api_id) is not None
    call_command("flush", interactive=False, verbosity=0)
    assert gateway_cache.get(callbacks.gateway.api_id) is None
