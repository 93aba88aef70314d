"""The @connections Management API, through an unmodified boto3 client and raw HTTP."""

from __future__ import annotations

import base64
import json
import os
import socket
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .conftest import RunningGateway
from .test_server import API, abort, http, ws_connect


def client_for(running: RunningGateway, path: str = f"/{API}/production", **config):
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{running.management_url}{path}",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=10, **config),
    )


@pytest.fixture
def boto(stub_gateway):
    client = client_for(stub_gateway)
    yield client
    client.close()


def error_of(call) -> tuple[str, int]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_post_get_delete(stub_gateway, stub_backend, boto):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        assert (
            boto.post_to_connection(ConnectionId=connection_id, Data=b"hello")["ResponseMetadata"][
                "HTTPStatusCode"
            ]
            == 200
        )
        assert ws.recv(timeout=5) == "hello"
        # bytes that are not UTF-8 cannot be a text frame
        boto.post_to_connection(ConnectionId=connection_id, Data=b"\xff\xfe")
        assert ws.recv(timeout=5) == b"\xff\xfe"

        before = boto.get_connection(ConnectionId=connection_id)
        assert before["Identity"] == {
            "SourceIp": "127.0.0.1",
            "UserAgent": before["Identity"]["UserAgent"],
        }
        assert "websockets" in before["Identity"]["UserAgent"]
        time.sleep(0.02)
        ws.send("{}")
        ws.recv(timeout=5)
        after = boto.get_connection(ConnectionId=connection_id)
        assert after["ConnectedAt"] == before["ConnectedAt"]
        assert after["LastActiveAt"] > before["LastActiveAt"]

        response = boto.delete_connection(ConnectionId=connection_id)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
        assert error_of(lambda: boto.get_connection(ConnectionId=connection_id)) == (
            "GoneException",
            410,
        )
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 1000
    stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))
    gone = ("GoneException", 410)
    assert error_of(lambda: boto.post_to_connection(ConnectionId=connection_id, Data=b"x")) == gone
    assert error_of(lambda: boto.delete_connection(ConnectionId=connection_id)) == gone


def test_unknown_and_malformed_ids(stub_gateway, boto):
    assert error_of(
        lambda: boto.post_to_connection(ConnectionId="Zm9vYmFyYmF6cXU=", Data=b"x")
    ) == (
        "GoneException",
        410,
    )
    assert error_of(lambda: boto.get_connection(ConnectionId="unknown")) == ("GoneException", 410)
    # The view's pattern (wire.CONNECTION_ID_RE): URL-safe base64 only, so `+` and `/` too.
    for bad in ("has space", "é", "x" * 200, "a.b", "ab+c=", "ab/c="):
        code, status = error_of(
            lambda bad=bad: boto.post_to_connection(ConnectionId=bad, Data=b"x")
        )
        assert (code, status) == ("BadRequestException", 400), bad
    status, headers, _ = http("POST", f"{stub_gateway.management_url}/@connections/", b"x")
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException"
    status, _, _ = http("POST", f"{stub_gateway.management_url}/a/b/c/@connections/x", b"x")
    assert status == 404
    status, headers, _ = http("PUT", f"{stub_gateway.management_url}/@connections/abc", b"x")
    assert status == 405


def test_error_shape_for_botocore(stub_gateway):
    status, headers, body = http(
        "GET", f"{stub_gateway.management_url}/{API}/production/@connections/abc%3D"
    )
    assert status == 410
    assert headers["x-amzn-ErrorType"] == "GoneException"
    assert headers["x-amzn-RequestId"]
    assert "message" in json.loads(body)


@pytest.mark.parametrize("path", ["", "/production", f"/{API}", f"/{API}/production"])
def test_every_path_form_and_percent_decoding(stub_gateway, path):
    client = client_for(stub_gateway, path)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        assert connection_id.endswith("=")  # botocore sends %3D
        client.post_to_connection(ConnectionId=connection_id, Data=path.encode() or b"root")
        assert ws.recv(timeout=5) == (path or "root")
        raw = f"{stub_gateway.management_url}{path}/@connections/{connection_id[:-1]}%3D"
        status, _, _ = http("POST", raw, b"raw")
        assert status == 200 and ws.recv(timeout=5) == "raw"
    client.close()


def test_prefix_of_another_gateway_is_gone(run_gateway, stub_backend):
    from .conftest import stub_gateway_row

    running = run_gateway(
        stub_gateway_row(stub_backend.url), stub_gateway_row(stub_backend.url, api_id="otherapi99")
    )
    client = client_for(running, "/otherapi99/production")
    with ws_connect(running) as ws:
        (connection_id,) = running.connection_ids()
        assert error_of(
            lambda: client.post_to_connection(ConnectionId=connection_id, Data=b"x")
        ) == (
            "GoneException",
            410,
        )
        with connect(running.url("otherapi99"), open_timeout=5):
            pass
        ws.send("{}")
        ws.recv(timeout=5)
    client.close()


def test_oversize_post(stub_gateway, boto):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        boto.post_to_connection(ConnectionId=connection_id, Data=b"a" * 131072)
        assert len(ws.recv(timeout=5)) == 131072
        assert error_of(
            lambda: boto.post_to_connection(ConnectionId=connection_id, Data=b"a" * 131073)
        ) == ("PayloadTooLargeException", 413)
        stub_gateway.set_limits(max_post_bytes=10)
        assert error_of(
            lambda: boto.post_to_connection(ConnectionId=connection_id, Data=b"a" * 11)
        ) == ("PayloadTooLargeException", 413)
        # chunked, without Content-Length
        status, headers, _ = http_chunked(stub_gateway, connection_id, b"b" * 20)
        assert status == 413 and headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
        ws.send("{}")
        assert ws.recv(timeout=5)  # the connection is still served


def http_chunked(running: RunningGateway, connection_id: str, data: bytes):
    import http.client

    host, port = running.management_url.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(
            "POST", f"/@connections/{connection_id}", body=iter([data]), encode_chunked=True
        )
        response = conn.getresponse()
        return response.status, dict(response.headers), response.read()
    finally:
        conn.close()


def test_management_rate_limit(stub_gateway, boto):
    stub_gateway.set_limits(management_requests_per_second=2)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        boto.post_to_connection(ConnectionId=connection_id, Data=b"1")
        boto.post_to_connection(ConnectionId=connection_id, Data=b"2")
        assert error_of(lambda: boto.post_to_connection(ConnectionId=connection_id, Data=b"3")) == (
            "LimitExceededException",
            429,
        )
        assert [ws.recv(timeout=5), ws.recv(timeout=5)] == ["1", "2"]


def test_botocore_treats_429_as_retryable(stub_gateway):
    """With its default retry settings boto3 retries a LimitExceededException."""
    stub_gateway.set_limits(management_requests_per_second=1)
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=f"{stub_gateway.management_url}/{API}/production",
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(read_timeout=10),  # retries stay boto3's defaults
    )
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        client.post_to_connection(ConnectionId=connection_id, Data=b"1")
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=b"2")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "LimitExceededException"
            assert "reached max retries" in str(error)
        else:  # a retry landed in the next second
            assert ws.recv(timeout=5) == "1" and ws.recv(timeout=5) == "2"
    client.close()


def test_latency_injection(stub_gateway, boto):
    with ws_connect(stub_gateway):
        (connection_id,) = stub_gateway.connection_ids()
        boto.get_connection(ConnectionId=connection_id)
        started = time.monotonic()
        boto.get_connection(ConnectionId=connection_id)
        fast = time.monotonic() - started
        stub_gateway.set_limits(management_latency_ms=150)
        started = time.monotonic()
        boto.get_connection(ConnectionId=connection_id)
        slow = time.monotonic() - started
    assert slow >= 0.15 and slow > fast


def test_full_client_buffer_gives_429(stub_gateway, stub_backend):
    """A client that stops reading: posts queue up to the buffer limit, then 429."""
    stub_gateway.set_limits(max_client_buffer_bytes=256 * 1024)
    raw = socket.create_connection(("127.0.0.1", stub_gateway.gateway.port))
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        raw.sendall(
            (
                f"GET /{API}/production HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += raw.recv(1)
        assert head.startswith(b"HTTP/1.1 101")
        (connection_id,) = stub_gateway.connection_ids()
        url = f"{stub_gateway.management_url}/@connections/{connection_id}"
        statuses = []
        for _ in range(2000):
            status, headers, _ = http("POST", url, b"z" * 32768)
            statuses.append(status)
            if status != 200:
                break
        assert statuses[-1] == 429 and headers["x-amzn-ErrorType"] == "LimitExceededException"
        assert statuses.count(200) >= 8
    finally:
        raw.close()
    stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))


def test_post_to_vanished_client_is_gone(stub_gateway, stub_backend, boto):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        abort(ws)
        stub_backend.wait(lambda rs: any(r.route == "disconnect" for r in rs))
    assert error_of(lambda: boto.post_to_connection(ConnectionId=connection_id, Data=b"x")) == (
        "GoneException",
        410,
    )
