"""The local gateway against a stub HTTP backend: what Django receives, and every failure."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.support.ports import free_port

from .conftest import RunningGateway, stub_gateway_row

API = "stubapi123"


def ws_connect(running: RunningGateway, query: str = "", **kwargs) -> ClientConnection:
    kwargs.setdefault("open_timeout", 5)
    return connect(running.url(API, query), **kwargs)


def closed_code(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    """Read until the gateway closes the socket; its close code."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    return closed.value.rcvd.code if closed.value.rcvd else None


def abort(ws: ClientConnection) -> None:
    """Drop the TCP connection with a reset: no close frame, as when a client vanishes."""
    ws.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    ws.socket.shutdown(socket.SHUT_RDWR)


def http(method: str, url: str, data: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


# -- what the backend receives ---------------------------------------------------------------


def test_connect_forwards_handshake_and_adds_gateway_headers(stub_gateway, stub_backend):
    with ws_connect(
        stub_gateway,
        "channel=room&ws_token=abc",
        origin="http://127.0.0.1:8000",
        user_agent_header="TestBrowser/1.0",
        additional_headers={
            "Cookie": "sessionid=xyz",
            "Accept-Language": "en",
            # forgeries a client might try: never forwarded
            "connectionId": "forged=",
            "X-Gateway-Secret": "forged",
            "X-Forwarded-For": "6.6.6.6",
            "X-Amzn-Apigateway-Api-Id": "forged",
        },
    ):
        stub_backend.wait(lambda rs: any(r.route == "connect" for r in rs))
    (request,) = stub_backend.of_route("connect")
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert request.path == "/ws/connect"
    assert request.query == "channel=room&ws_token=abc"
    assert request.body == b""
    assert headers["content-length"] == "0"
    assert headers["host"] == stub_backend.url.split("//")[1]
    assert headers["origin"] == "http://127.0.0.1:8000"
    assert headers["cookie"] == "sessionid=xyz"
    assert headers["user-agent"] == "TestBrowser/1.0"
    assert headers["accept-language"] == "en"
    assert headers["sec-websocket-version"] == "13"
    assert "sec-websocket-key" in headers and "sec-websocket-extensions" in headers
    assert "upgrade" not in headers and headers.get("connection", "") != "Upgrade"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-real-ip"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-port"] == str(stub_gateway.gateway.port)
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", headers["x-amzn-trace-id"])
    assert headers["x-amzn-apigateway-api-id"] == API
    assert headers["x-gateway-secret"] == "stub-secret"
    assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", headers["connectionid"])
    assert headers["connectionid"] != "forged="


def test_message_and_disconnect_carry_gateway_headers_only(stub_gateway, stub_backend):
    with ws_connect(stub_gateway, additional_headers={"Cookie": "sessionid=xyz"}) as ws:
        ws.send('{"action": "anything", "n": 1}')
        reply = json.loads(ws.recv(timeout=5))
        assert reply == {"route": "default", "body": '{"action": "anything", "n": 1}'}
    stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))
    (connect_request,) = stub_backend.of_route("connect")
    connection_id = connect_request.headers["connectionId"]
    for route in ("default", "disconnect"):
        (request,) = stub_backend.of_route(route)
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["user-agent"] == f"AmazonAPIGateway_{API}"
        assert headers["connectionid"] == connection_id
        assert headers["x-gateway-secret"] == "stub-secret"
        assert headers["x-real-ip"] == headers["x-forwarded-for"] == "127.0.0.1"
        assert headers["x-amzn-apigateway-api-id"] == API
        assert "x-amzn-trace-id" in headers and "content-length" in headers
        assert "cookie" not in headers and "origin" not in headers
    assert stub_backend.of_route("disconnect")[0].body == b""


def test_two_way_route_sends_nonempty_body_only(stub_gateway, stub_backend):
    stub_backend.behaviour = lambda r: (200, "" if b"quiet" in r.body else "{}", {}, 0.0)
    with ws_connect(stub_gateway) as ws:
        ws.send('{"quiet": 1}')
        ws.send('{"loud": 1}')
        assert ws.recv(timeout=5) == "{}"
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)


def test_subprotocol_from_connect_response_is_echoed(stub_gateway, stub_backend):
    stub_backend.behaviour = lambda r: (200, "{}", {"Sec-WebSocket-Protocol": "chat.v1"}, 0.0)
    with ws_connect(stub_gateway, subprotocols=["chat.v1", "other"]) as ws:
        assert ws.subprotocol == "chat.v1"
    request = stub_backend.of_route("connect")[0]
    assert request.headers["Sec-WebSocket-Protocol"] == "chat.v1, other"


def test_no_connect_route_accepts(run_gateway, stub_backend, db):
    from django_aws_api_gateway_websockets.models import ApiGatewayAdditionalRoute

    row = stub_gateway_row(stub_backend.url, target_base_endpoint=None)
    row.save()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row, name="x", route_key="echo", integration_url=f"{stub_backend.url}/x/echo"
    )
    running = run_gateway(row)
    with ws_connect(running) as ws:
        ws.send('{"action": "echo"}')
        assert json.loads(ws.recv(timeout=5))["route"] == "echo"
        # no $default: anything else is Forbidden
        ws.send('{"action": "nope"}')
        error = json.loads(ws.recv(timeout=5))
        assert error["message"] == "Forbidden"
        assert error["connectionId"] == running.connection_ids()[0]
        assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", error["requestId"])
        ws.send("not json")
        assert json.loads(ws.recv(timeout=5))["message"] == "Forbidden"
    assert [r.route for r in stub_backend.requests] == ["echo"]


# -- route selection ---------------------------------------------------------------------------


def test_route_selection_template_and_default(run_gateway, stub_backend, db):
    from django_aws_api_gateway_websockets.models import ApiGatewayAdditionalRoute

    row = stub_gateway_row(
        stub_backend.url,
        route_selection_expression="${request.body.service}/${request.body.action}",
    )
    row.save()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row,
        name="say",
        route_key="chat/say",
        integration_url=f"{stub_backend.url}/custom/say",
    )
    running = run_gateway(row)
    with ws_connect(running) as ws:
        ws.send('{"service": "chat", "action": "say"}')
        assert json.loads(ws.recv(timeout=5))["route"] == "say"
        for text in ('{"service": "chat"}', '{"service": "chat", "action": "SAY"}', "[1, 2]", "x"):
            ws.send(text)
            assert json.loads(ws.recv(timeout=5)) == {"route": "default", "body": text}


# -- $connect failures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [((403, '"Forbidden by Django"', {}, 0.0), 403), ((400, "Invalid", {}, 0.0), 400)],
)
def test_connect_refused_with_backend_status(stub_gateway, stub_backend, answer, expected):
    stub_backend.behaviour = lambda r: answer
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(stub_gateway)
    assert refused.value.response.status_code == expected
    assert refused.value.response.body == answer[1].encode()
    assert stub_gateway.connection_ids() == []
    time.sleep(0.1)
    assert stub_backend.of_route("disconnect") == []


def test_connect_backend_error_down_and_slow(stub_gateway, stub_backend, run_gateway):
    stub_backend.behaviour = lambda r: (502, "bad gateway", {}, 0.0)
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(stub_gateway)
    assert refused.value.response.status_code == 500
    assert json.loads(refused.value.response.body) == {"message": "Internal server error"}

    stub_gateway.set_limits(integration_timeout=0.2)
    stub_backend.behaviour = lambda r: (200, "{}", {}, 1.0)
    started = time.monotonic()
    with pytest.raises(InvalidStatus) as slow:
        ws_connect(stub_gateway)
    assert slow.value.response.status_code == 504
    assert json.loads(slow.value.response.body) == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 1.0

    down = run_gateway(stub_gateway_row(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(InvalidStatus) as unreachable:
        ws_connect(down)
    assert unreachable.value.response.status_code == 500


# -- message failures --------------------------------------------------------------------------


def test_message_backend_failures_send_error_frames(stub_gateway, stub_backend):
    def behaviour(request):
        if request.route != "default":
            return 200, "{}", {}, 0.0
        kind = json.loads(request.body)["kind"]
        return {
            "500": (500, "boom", {}, 0.0),
            "503": (503, "", {}, 0.0),
            "404": (404, '{"error": "nope"}', {}, 0.0),
            "slow": (200, "{}", {}, 1.0),
        }[kind]

    stub_backend.behaviour = behaviour
    stub_gateway.set_limits(integration_timeout=0.3)
    with ws_connect(stub_gateway) as ws, ws_connect(stub_gateway) as bystander:
        connection_id = stub_gateway.connection_ids()[0]
        for kind, message in [
            ("500", "Internal server error"),
            ("503", "Internal server error"),
            ("slow", "Endpoint request timed out"),
        ]:
            ws.send(json.dumps({"kind": kind}))
            frame = json.loads(ws.recv(timeout=5))
            assert frame["message"] == message
            assert frame["connectionId"] == connection_id
            assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", frame["requestId"])
        # a 4xx answer on a two-way route is passed through as the backend wrote it
        ws.send(json.dumps({"kind": "404"}))
        assert json.loads(ws.recv(timeout=5)) == {"error": "nope"}
        # everyone else is still served
        stub_backend.behaviour = lambda r: (200, '{"ok": 1}', {}, 0.0)
        bystander.send("{}")
        assert json.loads(bystander.recv(timeout=5)) == {"ok": 1}


def test_backend_going_down_mid_connection(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        stub_backend.stop()
        ws.send("{}")
        assert json.loads(ws.recv(timeout=5))["message"] == "Internal server error"
        ws.send("{}")
        assert json.loads(ws.recv(timeout=5))["message"] == "Internal server error"
    # the $disconnect that could not be delivered is reported for the sweep
    stub_gateway.wait_events("disconnect")
    assert stub_gateway.thread.call(stub_gateway.gateway.pop_failed_disconnects)


def test_message_to_unreachable_default(run_gateway, stub_backend, db):
    from django_aws_api_gateway_websockets.models import ApiGatewayAdditionalRoute

    row = stub_gateway_row(stub_backend.url, target_base_endpoint=None)
    row.save()
    ApiGatewayAdditionalRoute.objects.create(
        api_gateway=row,
        name="down",
        route_key="down",
        integration_url=f"http://127.0.0.1:{free_port()}/down",
    )
    running = run_gateway(row)
    with ws_connect(running) as ws:
        ws.send('{"action": "down"}')
        assert json.loads(ws.recv(timeout=5))["message"] == "Internal server error"


# -- client frames over the limits -------------------------------------------------------------


def test_frame_and_message_limits(stub_gateway, stub_backend):
    stub_gateway.set_limits(max_frame_bytes=1000, max_message_bytes=2500)
    with ws_connect(stub_gateway) as ws:
        ws.send("x" * 1000)  # exactly the frame limit: fine
        assert json.loads(ws.recv(timeout=5))["route"] == "default"
        ws.send(["a" * 1000, "b" * 1000, "c" * 500])  # fragmented, exactly the message limit
        assert len(json.loads(ws.recv(timeout=5))["body"]) == 2500
    with ws_connect(stub_gateway) as ws:
        ws.send("x" * 1001)
        assert closed_code(ws) == 1009
    with ws_connect(stub_gateway) as ws:
        ws.send(["a" * 1000, "b" * 1000, "c" * 501])
        assert closed_code(ws) == 1009
    stub_backend.wait(lambda rs: len([r for r in rs if r.route == "disconnect"]) == 3)


def test_aws_default_limits_close_oversize_frames(stub_gateway):
    with ws_connect(stub_gateway, max_size=None) as ws:
        ws.send("y" * (32 * 1024 + 1))
        assert closed_code(ws) == 1009


def test_binary_frame_closes_1003(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        ws.send(b"\x00\x01")
        assert closed_code(ws) == 1003
    stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))
    assert stub_backend.of_route("default") == []


# -- timeouts, vanishing clients, connection rate ------------------------------------------------


def test_idle_timeout_and_max_age(stub_gateway, stub_backend):
    stub_gateway.set_limits(idle_timeout=0.3)
    with ws_connect(stub_gateway) as ws:
        started = time.monotonic()
        assert closed_code(ws) == 1001
        assert 0.25 < time.monotonic() - started < 2
    stub_gateway.set_limits(idle_timeout=600, max_connection_age=0.5)
    with ws_connect(stub_gateway) as ws:
        started = time.monotonic()
        for _ in range(3):  # activity does not extend the maximum age
            ws.send("{}")
            ws.recv(timeout=5)
            time.sleep(0.1)
        assert closed_code(ws) == 1001
        assert time.monotonic() - started < 2
    stub_backend.wait(lambda rs: len([r for r in rs if r.route == "disconnect"]) == 2)


def test_activity_keeps_idle_connection_open(stub_gateway):
    stub_gateway.set_limits(idle_timeout=0.4)
    with ws_connect(stub_gateway) as ws:
        for _ in range(4):
            time.sleep(0.2)
            ws.ping().wait(5)
        assert stub_gateway.connection_ids()


def test_vanishing_client_gets_disconnect(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as bystander:
        with ws_connect(stub_gateway) as ws:
            gone_id = stub_gateway.connection_ids()[-1]
            abort(ws)
            stub_backend.wait(
                lambda rs: any(
                    r.route == "disconnect" and r.headers["connectionId"] == gone_id for r in rs
                )
            )
        assert stub_gateway.connection_ids() != [] and gone_id not in stub_gateway.connection_ids()
        bystander.send("{}")
        assert json.loads(bystander.recv(timeout=5))["route"] == "default"


def test_disconnect_fires_for_every_kind_of_close(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        ws.close(code=4000, reason="bye")
    stub_backend.wait(lambda rs: len([r for r in rs if r.route == "disconnect"]) == 1)
    (closed,) = stub_gateway.wait_events("closed")
    assert closed.status == 4000


def test_new_connections_per_second_limit(stub_gateway, stub_backend):
    stub_gateway.set_limits(connections_per_second=3)
    accepted, refused = [], []
    with contextlib.ExitStack() as stack:
        for _ in range(5):
            try:
                accepted.append(stack.enter_context(ws_connect(stub_gateway)))
            except InvalidStatus as error:
                refused.append(error.response.status_code)
        assert len(accepted) == 3 and refused == [429, 429]
        assert len(stub_backend.of_route("connect")) == 3
        assert [e.status for e in stub_gateway.events("refused")] == [429, 429]
        time.sleep(1.05)
        with ws_connect(stub_gateway):
            pass


def test_handshake_errors(stub_gateway):
    status, _, _ = http("GET", f"{stub_gateway.management_url}/{API}/production")
    assert status == 426
    status, _, _ = http("GET", f"{stub_gateway.management_url}/nope/production")
    assert status == 404
    status, _, body = http("GET", f"{stub_gateway.management_url}/")
    assert status == 200 and b"/stubapi123/production" in body


def test_client_leaving_during_connect_still_gets_disconnect(stub_gateway, stub_backend):
    """Django accepted the connection after the client gave up: Django hears $disconnect."""
    stub_backend.behaviour = lambda r: (200, "{}", {}, 0.5 if r.route == "connect" else 0.0)
    with pytest.raises(TimeoutError):
        ws_connect(stub_gateway, open_timeout=0.1)
    stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))
    (connect_request,) = stub_backend.of_route("connect")
    (disconnect_request,) = stub_backend.of_route("disconnect")
    assert disconnect_request.headers["connectionId"] == connect_request.headers["connectionId"]
    assert stub_gateway.connection_ids() == []


def test_stopping_gateway_refuses_and_disconnects_pending_connects(stub_backend, run_gateway):
    running = run_gateway(stub_gateway_row(stub_backend.url))
    stub_backend.behaviour = lambda r: (200, "{}", {}, 0.4 if r.route == "connect" else 0.0)
    with ws_connect(running) as open_socket:
        outcome: list[object] = []

        def late_client() -> None:
            try:
                with ws_connect(running):
                    outcome.append("accepted")
            except InvalidStatus as error:
                outcome.append(error.response.status_code)

        thread = threading.Thread(target=late_client)
        thread.start()
        stub_backend.wait(lambda rs: len([r for r in rs if r.route == "connect"]) == 2)
        running.thread.stop()
        thread.join(10)
        with pytest.raises(ConnectionClosed):
            open_socket.recv(timeout=5)
    assert outcome == [503]
    assert len(stub_backend.of_route("disconnect")) == 2


def test_service_marks_sessions_whose_disconnect_failed(stub_backend, db, monkeypatch):
    """Django answered $disconnect with a 5xx: the service marks the row itself, and keeps
    the ids for later while the database cannot be reached."""
    from django.db import OperationalError

    from django_aws_api_gateway_websockets.local_gateway import LocalGatewayService, service
    from django_aws_api_gateway_websockets.models import WebSocketSession

    stub_backend.behaviour = lambda r: (500 if r.route == "disconnect" else 200, "{}", {}, 0.0)
    row = stub_gateway_row(stub_backend.url)
    row.save()
    local = LocalGatewayService(port=0)
    try:
        (spec,) = local.serve(row)
        with connect(local.connect_url(spec.api_id), open_timeout=5):
            (connection_id,) = local.thread.call(lambda: list(local.gateway.connections))
            WebSocketSession.objects.create(connection_id=connection_id, api_gateway=row)
        assert local.thread.wait_for(lambda g: bool(g.failed_disconnects), 5)

        def database_down(ids):
            raise OperationalError("database is down")

        monkeypatch.setattr(service, "mark_disconnected", database_down)
        assert local.sweep() == 0
        monkeypatch.undo()
        assert WebSocketSession.objects.get().connected
        assert local.sweep() == 1
        assert not WebSocketSession.objects.get().connected
        assert local.sweep() == 0
    finally:
        local.close()
    row.refresh_from_db()
    assert row.api_endpoint == ""
