"""Model fields, validation and small methods of the contract."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    ConnectionRateLimit,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.testing import capture_messages, new_connection_id
from django_aws_api_gateway_websockets.wire import is_connection_id

pytestmark = pytest.mark.django_db


def test_gateway_defaults_and_str() -> None:
    gateway = ApiGateway.objects.create(api_name="My API")
    assert str(gateway) == "My API"
    assert gateway.api_key_selection_expression == "$request.header.x-api-key"
    assert gateway.route_selection_expression == "$request.body.action"
    assert gateway.route_key == "$default"
    assert gateway.stage_name == "production"
    assert gateway.tags == {}
    assert (gateway.api_created, gateway.custom_domain_created) == (False, False)
    assert gateway.target_base_endpoint is None  # Fix: a None endpoint no longer crashes save()
    assert gateway.secret == ""


def test_target_base_endpoint_gets_its_trailing_slash() -> None:
    gateway = ApiGateway.objects.create(
        api_name="a", target_base_endpoint="https://x.example.com/ws"
    )
    assert gateway.target_base_endpoint == "https://x.example.com/ws/"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("domain_name", "-bad.example.com"),
        ("domain_name", "bad_domain.com"),
        ("domain_name", "a..b"),
        ("api_name", "semi;colon"),
        ("api_name", "dots.not.allowed"),
    ],
)
def test_clean_rejects(field: str, value: str) -> None:
    gateway = ApiGateway(**{"api_name": "ok", field: value})
    with pytest.raises(ValidationError) as info:
        gateway.clean()
    assert list(info.value.message_dict) == [field]
    with pytest.raises(ValidationError):
        gateway.save()
    assert not ApiGateway.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("domain_name", "ws.example.com"), ("domain_name", ""), ("api_name", "My api_name-2")],
)
def test_clean_accepts(field: str, value: str) -> None:
    ApiGateway(**{"api_name": "ok", field: value}).clean()


def test_generate_secret_is_random_and_long() -> None:
    assert len({ApiGateway.generate_secret() for _ in range(20)}) == 20
    assert len(ApiGateway.generate_secret()) >= 40


def test_route_unique_per_gateway_and_key() -> None:
    first = ApiGateway.objects.create(api_name="one")
    second = ApiGateway.objects.create(api_name="two")
    route = ApiGatewayAdditionalRoute.objects.create(
        api_gateway=first, name="Chat", route_key="chat", integration_url="https://e.com/chat"
    )
    assert str(route) == "Chat"
    assert list(first.additional_routes.all()) == [route]
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=second, name="Chat", route_key="chat", integration_url="https://e.com/chat"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiGatewayAdditionalRoute.objects.create(
            api_gateway=first, name="Again", route_key="chat", integration_url="https://e.com/c"
        )


def test_session_defaults_relations_and_set_null() -> None:
    gateway = ApiGateway.objects.create(api_name="g", api_id="abc")
    session = WebSocketSession.objects.create(connection_id="abc=", api_gateway=gateway)
    assert str(session) == "abc="
    assert (session.connected, session.request_count, session.channel_name) == (True, 1, "")
    assert list(gateway.sessions.all()) == [session]
    gateway.delete()
    session.refresh_from_db()
    assert session.api_gateway is None


def test_mark_disconnected_in_batches(django_assert_num_queries) -> None:
    ids = [f"c{i}=" for i in range(1200)]
    WebSocketSession.objects.bulk_create(WebSocketSession(connection_id=i) for i in ids)
    with django_assert_num_queries(3):  # batches of 500
        assert WebSocketSession.mark_disconnected(ids) == 1200
    assert not WebSocketSession.objects.filter(connected=True).exists()
    assert WebSocketSession.mark_disconnected([]) == 0


def test_rate_limit_str() -> None:
    row = ConnectionRateLimit.record_attempt("10.1.2.3")
    assert str(row).startswith("10.1.2.3 at ")


def test_new_connection_id_shape() -> None:
    ids = {new_connection_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 16 and i.endswith("=") and is_connection_id(i) for i in ids)


def test_outbox_get_and_delete_connection() -> None:
    gateway = ApiGateway.objects.create(api_name="g", api_id="abc")
    WebSocketSession.objects.create(connection_id="c1=", api_gateway=gateway)
    from django_aws_api_gateway_websockets import models

    with capture_messages() as outbox:
        client = models.get_boto3_client(
            "apigatewaymanagementapi", endpoint_url=gateway.management_endpoint
        )
        assert client.get_connection(ConnectionId="c1=")["ConnectionId"] == "c1="
        client.delete_connection(ConnectionId="c1=")
        assert "c1=" in outbox.gone
        assert WebSocketSession.objects.send_message({"x": 1}).gone == ["c1="]
        outbox.clear()
        assert outbox.messages == []
    assert not WebSocketSession.objects.get().connected


def test_captures_nest_and_run_in_parallel_threads() -> None:
    """Each capture sees the posts made while it is active; the real factory comes back only
    when the last one exits, whatever the order."""
    import threading

    from django_aws_api_gateway_websockets import models

    real = models.get_boto3_client
    gateway = ApiGateway.objects.create(api_name="g", api_id="abc")
    session = WebSocketSession.objects.create(connection_id="c1=", api_gateway=gateway)
    entered = threading.Barrier(2)
    leave_first = threading.Event()
    seen: dict[str, int] = {}

    def capture(name: str, wait_for: threading.Event | None) -> None:
        with capture_messages() as outbox:
            entered.wait()
            if wait_for is not None:
                wait_for.wait(5)
            else:
                session.send_message({"from": name})
        seen[name] = len(outbox.messages)
        if wait_for is None:
            leave_first.set()

    threads = [
        threading.Thread(target=capture, args=("second", leave_first)),
        threading.Thread(target=capture, args=("first", None)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first": 1, "second": 1}
    assert models.get_boto3_client is real
    with capture_messages() as outer, capture_messages() as inner:
        inner.make_gone("c1=")
        assert session.send_message({}) is None
        assert outer.messages == [] and inner.messages == []
    assert models.get_boto3_client is real
