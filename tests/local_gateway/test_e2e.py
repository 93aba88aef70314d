"""End to end through real sockets: websockets client -> local gateway -> Django live server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ApiGatewayAdditionalRoute,
    WebSocketSession,
)

from .conftest import Browser
from .test_server import abort

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def gateway(live_server) -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="E2E",
        target_base_endpoint=f"{live_server.url}/ws/",
        default_channel_name="lobby",
        secret=ApiGateway.generate_secret(),
    )


def open_socket(
    local_gateway, gateway: ApiGateway, browser: Browser, **query: str
) -> ClientConnection:
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
    with open_socket(
        local_gateway, gateway, browser, ws_token=browser.token(), channel="room"
    ) as ws:
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
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1000
    local_gateway.wait_for_event("disconnect", connection_id)
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected
    with pytest.raises(ClientError) as gone:
        client.post_to_connection(ConnectionId=connection_id, Data=b"x")
    assert gone.value.response["Error"]["Code"] == "GoneException"
    client.close()


def refused_status(local_gateway, gateway, **kwargs) -> tuple[int, bytes]:
    with pytest.raises(InvalidStatus) as refused:
        connect(local_gateway.url(gateway, **kwargs.pop("query", {})), open_timeout=10, **kwargs)
    return refused.value.response.status_code, refused.value.response.body


def test_token_flow_refusals(local_gateway, gateway, browser):
    local_gateway.serve(gateway)
    token = browser.token()
    with open_socket(local_gateway, gateway, browser, ws_token=token):
        pass
    # the same token twice, no token, no session cookie, a foreign page
    assert refused_status(
        local_gateway,
        gateway,
        query={"ws_token": token},
        additional_headers={"Cookie": browser.cookie},
        origin=local_gateway.origin,
    ) == (400, b"Invalid or expired token")
    assert refused_status(
        local_gateway,
        gateway,
        additional_headers={"Cookie": browser.cookie},
        origin=local_gateway.origin,
    ) == (400, b"Invalid or expired token")
    assert refused_status(
        local_gateway,
        gateway,
        query={"ws_token": browser.quick_token()},
        additional_headers={"Cookie": "sessionid=forged"},
        origin=local_gateway.origin,
    ) == (400, b"Invalid session")
    assert refused_status(
        local_gateway,
        gateway,
        query={"ws_token": browser.quick_token()},
        additional_headers={"Cookie": browser.cookie},
        origin="https://evil.example",
    ) == (400, b"Host is not in Origin")
    assert WebSocketSession.objects.count() == 1
    assert local_gateway.connection_ids() == []


def test_secret_header_is_checked(local_gateway, gateway, browser, settings):
    settings.WEBSOCKETS = {"require_gateway_secret": True}
    local_gateway.serve(gateway)
    with open_socket(local_gateway, gateway, browser) as ws:
        ws.send(json.dumps({"handler": "echo", "text": "verified"}))
        assert recv_json(ws)["echo"] == "verified"
        (connection_id,) = local_gateway.connection_ids()
        # Django now expects another secret than the one the gateway was configured with (an
        # edit in this process: the $connect gateway cache drops the row at once; a change made
        # in another process is seen within WEBSOCKETS["gateway_cache_seconds"], see
        # tests/views/test_gateway_cache.py)
        edited = ApiGateway.objects.get(pk=gateway.pk)
        edited.secret = "rotated"
        edited.save(update_fields=["secret"])
        ws.send(json.dumps({"handler": "echo", "text": "forged"}))
        assert ws.recv(timeout=5) == "Gateway authentication failed"
    # the refused $disconnect is not lost: the session is marked by the sweep
    local_gateway.wait_for_event("disconnect", connection_id)
    assert WebSocketSession.objects.get(connection_id=connection_id).connected
    assert local_gateway.sweep() == 1
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected
    status, body = refused_status(
        local_gateway,
        gateway,
        query={"ws_token": browser.quick_token()},
        additional_headers={"Cookie": browser.cookie},
        origin=local_gateway.origin,
    )
    assert (status, body) == (403, b"Gateway authentication failed")


def test_route_selection_template_reaches_custom_integration(
    local_gateway, gateway, browser, live_server
):
    gateway.route_selection_expression = "${request.body.service}/${request.body.action}"
    gateway.save()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=gateway,
        name="chat echo",
        route_key="chat/echo",
        integration_url=f"{live_server.url}/ws/custom-echo",
    )
    local_gateway.serve(gateway)
    with open_socket(local_gateway, gateway, browser) as ws:
        ws.send(json.dumps({"service": "chat", "action": "echo", "handler": "echo", "text": "t"}))
        assert recv_json(ws) == {"echo": "t", "user": "alice"}
        ws.send(json.dumps({"service": "chat", "action": "other", "handler": "echo", "text": "d"}))
        assert recv_json(ws) == {"echo": "d", "user": "alice"}
    routes = [e.route_key for e in local_gateway.events() if e.kind == "message"]
    assert routes == ["chat/echo", "$default"]


def test_backend_errors_and_bad_frames(local_gateway, gateway, browser):
    local_gateway.serve(gateway)
    local_gateway.set_limits(max_frame_bytes=4096)
    with open_socket(local_gateway, gateway, browser) as ws:
        (connection_id,) = local_gateway.connection_ids()
        ws.send(json.dumps({"handler": "explode"}))
        frame = recv_json(ws)
        assert frame["message"] == "Internal server error"
        assert frame["connectionId"] == connection_id and frame["requestId"]
        ws.send(json.dumps({"text": "no handler"}))
        assert ws.recv(timeout=5) == "Invalid request format (1)"
        ws.send("not json at all")
        assert ws.recv(timeout=5) == "Invalid request format (1)"
        ws.send(json.dumps({"handler": "echo", "text": "still here"}))
        assert recv_json(ws)["echo"] == "still here"
        ws.send("x" * 5000)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1009
    local_gateway.wait_for_event("disconnect", connection_id)
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected


def test_binary_frame_closes_and_disconnects(local_gateway, gateway, browser):
    local_gateway.serve(gateway)
    with open_socket(local_gateway, gateway, browser) as ws:
        (connection_id,) = local_gateway.connection_ids()
        ws.send(b"\x00")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1003
    local_gateway.wait_for_event("disconnect", connection_id)
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected


def test_vanishing_client_and_idle_timeout_leave_no_session_connected(
    local_gateway, gateway, browser
):
    local_gateway.serve(gateway)
    with open_socket(local_gateway, gateway, browser) as ws:
        (vanished,) = local_gateway.connection_ids()
        abort(ws)
        local_gateway.wait_for_event("disconnect", vanished)
    local_gateway.set_limits(idle_timeout=0.3)
    with open_socket(local_gateway, gateway, browser) as ws:
        (idle,) = local_gateway.connection_ids()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1001
    local_gateway.wait_for_event("disconnect", idle)
    assert WebSocketSession.objects.filter(connected=True).count() == 0
    assert WebSocketSession.objects.count() == 2


def test_pushes_to_user_channel_everyone_and_gone(local_gateway, gateway, browser):
    from django.contrib.auth import get_user_model

    local_gateway.serve(gateway)
    with (
        open_socket(local_gateway, gateway, browser, channel="red") as red,
        open_socket(local_gateway, gateway, browser, channel="blue") as blue,
    ):
        assert len(local_gateway.connection_ids()) == 2
        browser.user.websocket_sessions.send_message({"to": "user"})
        assert recv_json(red) == recv_json(blue) == {"to": "user"}
        result = WebSocketSession.objects.filter(channel_name="red").send_message({"to": "red"})
        assert result.sent and not result.failed
        assert recv_json(red) == {"to": "red"}
        WebSocketSession.objects.send_message({"to": "everyone"})
        assert recv_json(red) == recv_json(blue) == {"to": "everyone"}
        with pytest.raises(TimeoutError):
            blue.recv(timeout=0.2)
    # a row whose socket is gone (no $disconnect ever reached Django): send_message finds out
    other = get_user_model().objects.create_user("bob")
    stale = WebSocketSession.objects.create(
        connection_id="Zm9vYmFyYmF6cXU=", api_gateway=gateway, user=other
    )
    stale.refresh_from_db()
    assert stale.send_message({"x": 1}) is None
    assert not WebSocketSession.objects.get(pk=stale.pk).connected


def test_stop_fires_disconnect_and_restores_row(local_gateway, gateway, browser):
    stale = WebSocketSession.objects.create(connection_id="c3RhbGUtZnJvbS0=", api_gateway=gateway)
    local_gateway.serve(gateway)
    assert not WebSocketSession.objects.get(pk=stale.pk).connected  # swept at start
    with open_socket(local_gateway, gateway, browser) as ws:
        (connection_id,) = local_gateway.connection_ids()
        local_gateway.close()
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1001
    assert not WebSocketSession.objects.get(connection_id=connection_id).connected
    gateway.refresh_from_db()
    assert gateway.api_endpoint == "" and gateway.api_id  # the generated id stays


def test_two_hundred_clients_each_get_one_broadcast(local_gateway, gateway, browser, settings):
    settings.WEBSOCKETS = {"rate_limit_max_attempts": 1000}
    local_gateway.serve(gateway)
    count = 200
    tokens = [browser.quick_token() for _ in range(count)]
    crowd = Crowd()
    try:
        started = time.monotonic()
        crowd.run(
            crowd.connect(
                [local_gateway.url(gateway, channel="big", ws_token=t) for t in tokens],
                {"Cookie": browser.cookie},
                local_gateway.origin,
            )
        )
        connected = time.monotonic() - started
        assert WebSocketSession.objects.filter(channel_name="big", connected=True).count() == count
        started = time.monotonic()
        result = WebSocketSession.objects.filter(channel_name="big").send_message({"hello": "all"})
        assert len(result.sent) == count and not result.failed and not result.gone
        crowd.run(crowd.wait_for(lambda inboxes: all(inboxes), timeout=30))
        delivered = time.monotonic() - started
        time.sleep(0.3)
        inboxes = crowd.run(crowd.snapshot())
        assert [len(i) for i in inboxes] == [1] * count
        assert {json.loads(i[0])["hello"] for i in inboxes} == {"all"}
        print(
            f"\n200 clients: connected in {connected:.2f}s, broadcast delivered in {delivered:.2f}s"
        )
    finally:
        crowd.close()
    local_gateway.wait_for_event("disconnect", count=count, timeout=60)
    assert WebSocketSession.objects.filter(connected=True).count() == 0


class Crowd:
    """Many asyncio clients on an event loop in a background thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.clients: list = []
        self.inboxes: list[list[str]] = []
        self.readers: list[asyncio.Task] = []

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(120)

    async def connect(self, urls: list[str], headers: dict[str, str], origin: str) -> None:
        from websockets.asyncio.client import connect as aconnect

        self.clients = await asyncio.gather(
            *(aconnect(u, additional_headers=headers, origin=origin, open_timeout=60) for u in urls)
        )
        self.inboxes = [[] for _ in self.clients]
        self.readers = [
            asyncio.ensure_future(self._read(c, inbox))
            for c, inbox in zip(self.clients, self.inboxes, strict=True)
        ]

    @staticmethod
    async def _read(client, inbox: list[str]) -> None:
        with contextlib.suppress(Exception):
            async for message in client:
                inbox.append(message)

    async def wait_for(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.inboxes):
            assert time.monotonic() < deadline, "not every client got the broadcast"
            await asyncio.sleep(0.01)

    async def snapshot(self) -> list[list[str]]:
        return [list(i) for i in self.inboxes]

    async def _close(self) -> None:
        await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        await asyncio.gather(*self.readers, return_exceptions=True)

    def close(self) -> None:
        try:
            self.run(self._close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


def test_custom_domain_row_connects_locally_and_stale_endpoint_is_cleared(local_gateway, gateway):
    ApiGateway.objects.filter(pk=gateway.pk).update(
        domain_name="ws.example.com", api_endpoint="ws://127.0.0.1:1/left-by-a-killed-gateway"
    )
    gateway.refresh_from_db()
    local_gateway.serve(gateway)
    gateway.refresh_from_db()
    url = gateway.websocket_url("room")
    assert url == local_gateway.url(gateway, channel="room")
    local_gateway.close()
    gateway.refresh_from_db()
    assert gateway.api_endpoint == ""
    assert gateway.websocket_url() == "wss://ws.example.com/"
