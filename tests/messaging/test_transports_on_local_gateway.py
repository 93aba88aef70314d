"""Both transports against the local gateway's Management API, on its benchmark-mode (virtual)
connections: delivery, GetConnection/DeleteConnection, Gone, throttling (429) retried with
backoff, 413, injected latency. (Real sockets: tests/local_gateway/test_e2e.py
pushes through the same code with the real factory, i.e. the lean transport.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from django_aws_api_gateway_websockets import messaging, models
from django_aws_api_gateway_websockets.local_gateway import Limits
from django_aws_api_gateway_websockets.local_gateway.service import LocalGatewayService
from django_aws_api_gateway_websockets.messaging import lean
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

pytestmark = pytest.mark.django_db


@pytest.fixture
def service() -> Iterator[LocalGatewayService]:
    service = LocalGatewayService(port=0, limits=Limits())
    try:
        yield service
    finally:
        lean.shutdown()
        messaging.clear_client_cache()
        service.close()


@pytest.fixture
def served(service: LocalGatewayService) -> ApiGateway:
    gateway = ApiGateway.objects.create(api_name="bench", default_channel_name="all")
    service.serve(gateway)
    return gateway


def frames(service: LocalGatewayService) -> int:
    return service.thread.call(lambda: service.gateway.virtual_frames)


@pytest.mark.parametrize("name", ["lean", "boto3"])
def test_broadcast_to_virtual_connections(name, service, served) -> None:
    ids = service.add_virtual_connections(served, 120)
    assert len(set(ids)) == 120 and all(len(i) == 16 and i.endswith("=") for i in ids)
    assert WebSocketSession.objects.filter(channel_name="all", connected=True).count() == 120
    endpoint = served.management_endpoint
    with override_settings(WEBSOCKETS={"send_transport": name}):
        assert messaging.transport_for(endpoint, models.get_boto3_client) == name
        result = WebSocketSession.objects.filter(channel_name="all").send_message({"n": 1})
    assert result.summary() == {"sent": 120, "gone": 0, "failed": 0}
    assert frames(service) == 120


def test_get_delete_and_gone(service, served) -> None:
    first, second, *_ = service.add_virtual_connections(served, 3)
    client = messaging.shared_client(served.management_endpoint, 4)
    info = client.get_connection(ConnectionId=first)
    assert info["Identity"]["UserAgent"] == "virtual"
    client.delete_connection(ConnectionId=second)
    result = WebSocketSession.objects.send_message({"after": "delete"})
    assert result.gone == [second]
    assert not WebSocketSession.objects.get(connection_id=second).connected
    assert WebSocketSession.objects.get(connection_id=first).send_message({}) is not None


@override_settings(
    WEBSOCKETS={
        "send_retry_base_delay": 0.05,
        "send_retry_max_delay": 0.5,
        "send_max_attempts": 20,
        "lean_in_flight": 16,
    }
)
def test_throttling_by_the_gateway_is_retried(service, served) -> None:
    """50 calls a second admitted: the 10 over the limit wait for the next second."""
    service.add_virtual_connections(served, 60)
    service.gateway.limits = service.gateway.limits.replace(management_requests_per_second=50)
    result = WebSocketSession.objects.send_message({"n": 1})
    assert result.summary() == {"sent": 60, "gone": 0, "failed": 0}
    assert result.retried > 0  # 429 LimitExceededException, then backoff
    assert frames(service) == 60


@pytest.mark.parametrize("name", ["lean", "boto3"])
def test_payload_too_large_for_the_gateway(name, service, served) -> None:
    service.add_virtual_connections(served, 2)
    service.gateway.limits = service.gateway.limits.replace(max_post_bytes=50)
    with override_settings(WEBSOCKETS={"send_transport": name}):
        result = WebSocketSession.objects.send_message({"x": "y" * 100})
    assert {(o.status, o.error, o.attempts) for o in result.outcomes} == {
        ("failed", "PayloadTooLargeException", 1)
    }


def test_injected_latency_with_keep_alive(service, served) -> None:
    service.add_virtual_connections(served, 40)
    service.gateway.limits = service.gateway.limits.replace(management_latency_ms=20)
    for _ in range(2):
        result = WebSocketSession.objects.send_message({"n": 1})
        assert len(result.sent) == 40
    assert frames(service) == 80
    assert lean.runner().connections() <= 40
