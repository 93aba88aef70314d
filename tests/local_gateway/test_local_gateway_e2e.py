"""End to end through real sockets: websockets client -> local gateway -> Django live server."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError
from websockets.sync.client import ClientConnection, connect

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

from .conftest import Browser

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gateway(live_server) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="E2E",
        target_base_endpoint=f"{live_server.url}/ws/",
        default_channel_name="lobby",
        secret=ApiGateway.generate_secret(),
    )


def open_socket(local_gateway, gateway: ApiGateway, browser: Browser, **query: str) -> ClientConnection:
    query.setdefault("ws_token", browser.quick_token())
    return connect(
        local_gateway.url(gateway, **query),
        additional_headers={"Cookie": browser.cookie},
        origin=local_gateway.origin,
        open_timeout=10,
    )


def recv_json(ws: ClientConnection, timeout: float = 5.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def test_connect_message_push_get_delete(local_gateway, gateway, browser):
    local_gateway.serve(gateway)
    gateway.refresh_from_db()
    assert gateway.api_id and gateway.api_endpoint.startswith("ws://127.0.0.1:")
    with open_socket(local_gateway, gateway, browser, ws_token=browser.token(), channel="room") as ws:
        (connection_id,) = local_gateway.connection_ids()
        session = WebSocketSession.objects.get(connection_id=connection_id)
        assert session.connected and session.user == browser.user
        assert session.channel_name == "room" and session.api_gateway == gateway

        ws.send(json.dumps({"handler": "echo", "text": "hi"}))
        assert recv_json(ws) == {"echo": "hi", "user": "alice"}

        session.send_message({"push": 1})
        assert recv_json(ws) == {"push": 1}

        client = local_gateway.management_client(gateway)
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert "websockets" in info["Identity"]["UserAgent"]
        assert info["ConnectedAt"] <= info["LastActiveAt"]

        client.post_to_connection(ConnectionId=connection_id, Data=b'{"raw": true}')
        assert recv_json(ws) == {"raw": True}

        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(Exception):
            ws.recv(timeout=5)
        assert ws.close_code == 1000
    local_gateway.wait_for_event("disconnect", connection_id)
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    client.close()
