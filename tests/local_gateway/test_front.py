"""The gateway's lean HTTP front (local_gateway/front.py), through real sockets: pipelined and
split requests, keep-alive, HTTP/1.0, ``Connection: close``, and the hand-off to aiohttp at the
start of a connection and between requests (WebSocket handshakes, ``Expect``, chunked and
oversize bodies, requests it cannot parse).

The front writes no ``Server`` header and aiohttp always does: that is how these tests tell
which of the two answered."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import pytest
from websockets.sync.client import connect

from django_aws_api_gateway_websockets.local_gateway.limits import LatencyTimer

from .conftest import RunningGateway
from .test_management_api import client_for
from .test_server import API, ws_connect


class Reader:
    """Whole HTTP responses (framed by Content-Length) from a raw socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._more()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._more()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        headers["status-line"] = status_line
        return int(status_line.split()[1]), headers, body

    def closed(self) -> bool:
        """Whether the server closes the socket (nothing more arrives but the end)."""
        try:
            return self.buffer == b"" and self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed; got {self.buffer!r}")
        self.buffer += chunk


def raw(running: RunningGateway) -> tuple[socket.socket, Reader]:
    sock = socket.create_connection(("127.0.0.1", running.gateway.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock, Reader(sock)


def post(connection_id: str, data: bytes, *, version: str = "1.1", extra: str = "") -> bytes:
    return (
        f"POST /{API}/production/@connections/{connection_id} HTTP/{version}\r\nHost: x\r\n"
        f"Content-Length: {len(data)}\r\n{extra}\r\n"
    ).encode() + data


@pytest.mark.parametrize("latency_ms", [0, 30])
def test_pipelined_posts_in_one_write_answer_in_order(stub_gateway, stub_backend, latency_ms):
    stub_gateway.set_limits(management_latency_ms=latency_ms)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            started = time.monotonic()
            requests = [post(connection_id, str(n).encode()) for n in range(5)]
            get = f"GET /@connections/{connection_id} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            sock.sendall(b"".join(requests) + get + post("ab%0Acd", b"x"))
            answers = [reader.response() for _ in range(7)]
            elapsed = time.monotonic() - started
        assert [status for status, _h, _b in answers] == [200] * 6 + [400]
        assert [ws.recv(timeout=5) for _ in range(5)] == ["0", "1", "2", "3", "4"]
    assert all("server" not in headers for _s, headers, _b in answers)  # the front answered
    assert set(json.loads(answers[5][2])) == {"connectedAt", "identity", "lastActiveAt"}
    assert answers[5][1]["content-type"] == "application/json"
    assert json.loads(answers[6][2]) == {"message": "Invalid connectionId: ab\ncd"}
    assert answers[6][1]["x-amzn-errortype"] == "BadRequestException"
    assert len({headers["x-amzn-requestid"] for _s, headers, _b in answers}) == 7
    assert elapsed >= latency_ms / 1000


def test_a_request_split_byte_by_byte(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            for index, byte in enumerate(post(connection_id, b"split body")):
                sock.send(bytes([byte]))
                if index % 16 == 0:
                    time.sleep(0.001)  # separate reads on the server
            status, headers, _body = reader.response()
        assert ws.recv(timeout=5) == "split body"
    assert status == 200 and "server" not in headers


def test_keep_alive_reuse_and_connection_close(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            for n in range(3):
                sock.sendall(post(connection_id, f"kept {n}".encode()))
                assert reader.response()[0] == 200
            # the last request of the connection; what follows it is never read
            sock.sendall(post(connection_id, b"last", extra="Connection: close\r\n"))
            sock.sendall(post(connection_id, b"never"))
            status, headers, _body = reader.response()
            assert (status, headers["connection"]) == (200, "close")
            assert reader.closed()
        assert [ws.recv(timeout=5) for _ in range(4)] == ["kept 0", "kept 1", "kept 2", "last"]
        with pytest.raises(TimeoutError):
            ws.recv(timeout=0.2)


def test_http_1_0_closes_unless_kept_alive(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            sock.sendall(post(connection_id, b"one", version="1.0"))
            status, headers, _b = reader.response()
            assert headers["status-line"].startswith("HTTP/1.0 200")
            assert reader.closed()
        sock, reader = raw(stub_gateway)
        with sock:
            for text in (b"two", b"three"):
                sock.sendall(
                    post(connection_id, text, version="1.0", extra="Connection: keep-alive\r\n")
                )
                status, headers, _b = reader.response()
                assert (status, headers["connection"]) == (200, "keep-alive")
        assert [ws.recv(timeout=5) for _ in range(3)] == ["one", "two", "three"]


def upgrade(path: str = f"/{API}/production") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


@pytest.mark.parametrize("latency_ms", [0, 50])
def test_websocket_handshake_after_management_calls_on_the_same_connection(
    stub_gateway, stub_backend, latency_ms
):
    """The handshake is handed to aiohttp only after the answers before it, even when they
    wait for the injected latency; the socket then is a working WebSocket connection."""
    stub_gateway.set_limits(management_latency_ms=latency_ms)
    with ws_connect(stub_gateway) as first:
        (first_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            sock.sendall(post(first_id, b"before") + post(first_id, b"again") + upgrade())
            assert [reader.response()[0] for _ in range(2)] == [200, 200]
            while b"\r\n\r\n" not in reader.buffer:
                reader._more()
            assert reader.buffer.startswith(b"HTTP/1.1 101 ")
            assert first.recv(timeout=5) == "before" and first.recv(timeout=5) == "again"
            stub_gateway.wait_events("connect", 2)
            (second_id,) = set(stub_gateway.connection_ids()) - {first_id}
            boto = client_for(stub_gateway)
            try:
                boto.post_to_connection(ConnectionId=second_id, Data=b"to the handed-off one")
                assert boto.get_connection(ConnectionId=second_id)["Identity"]["SourceIp"]
                boto.delete_connection(ConnectionId=second_id)
            finally:
                boto.close()
            rest = reader.buffer.split(b"\r\n\r\n", 1)[1]
            while b"to the handed-off one" not in rest:
                rest += sock.recv(65536)
            assert rest.startswith(b"\x81\x15to the handed-off one")  # one unmasked text frame
    stub_backend.wait(lambda rs: sum(r.route == "disconnect" for r in rs) == 2)


def test_websocket_clients_on_a_socket_that_did_a_management_call_first(stub_gateway, stub_backend):
    sock, reader = raw(stub_gateway)
    sock.sendall(post("AAAAAAAAAAAAAAA=", b"x"))
    assert reader.response()[0] == 410
    with connect(stub_gateway.url(API), sock=sock, open_timeout=5) as ws:
        ws.send("{}")
        assert json.loads(ws.recv(timeout=5))["route"] == "default"


def test_expect_and_chunked_are_handed_off_between_fast_requests(stub_gateway, stub_backend):
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        path = f"/@connections/{connection_id}"
        with sock:
            sock.sendall(post(connection_id, b"fast"))
            fast = reader.response()
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nchu\r\n4\r\nnked\r\n0\r\n\r\n".encode()
            )
            chunked = reader.response()
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                "Content-Length: 8\r\n\r\n".encode()
            )
            interim = reader.response()
            sock.sendall(b"expected")
            expected = reader.response()
        assert [ws.recv(timeout=5) for _ in range(3)] == ["fast", "chunked", "expected"]
    assert [fast[0], chunked[0], interim[0], expected[0]] == [200, 200, 100, 200]
    assert "server" not in fast[1] and "server" in chunked[1]  # aiohttp from the second on


def test_an_oversize_body_gets_413_before_it_is_sent(stub_gateway, stub_backend):
    """Content-Length over max_post_bytes: the 413 comes without reading the body."""
    stub_gateway.set_limits(max_post_bytes=1000)
    with ws_connect(stub_gateway):
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            sock.sendall(
                f"POST /@connections/{connection_id} HTTP/1.1\r\nHost: x\r\n"
                "Content-Length: 1000000000\r\n\r\n".encode()
            )
            status, headers, body = reader.response()
    assert (status, headers["x-amzn-errortype"]) == (413, "PayloadTooLargeException")
    assert json.loads(body) == {"message": "Request entity too large"}


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"POST /@connections/x HTTP/1.1\r\nHost x\r\n\r\n",
        b"POST /@connections/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
    ],
)
@pytest.mark.parametrize("after_a_fast_request", [False, True])
def test_a_malformed_request_gets_400_and_the_connection_closes(
    stub_gateway, garbage, after_a_fast_request
):
    sock, reader = raw(stub_gateway)
    with sock:
        if after_a_fast_request:
            sock.sendall(post("AAAAAAAAAAAAAAA=", b"x"))
            assert reader.response()[0] == 410
        sock.sendall(garbage)
        status, _headers, _body = reader.response()
        assert status == 400
        assert reader.closed()
    with ws_connect(stub_gateway):  # the gateway still serves
        pass


def test_stop_closes_front_and_handed_off_connections(stub_backend, run_gateway):
    from .conftest import stub_gateway_row

    running = run_gateway(stub_gateway_row(stub_backend.url))
    idle_front, front_reader = raw(running)
    idle_aiohttp, aiohttp_reader = raw(running)
    with idle_front, idle_aiohttp:
        idle_front.sendall(post("AAAAAAAAAAAAAAA=", b"x"))
        assert front_reader.response()[0] == 410
        idle_aiohttp.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert aiohttp_reader.response()[0] == 200
        running.thread.stop()
        assert front_reader.closed() and aiohttp_reader.closed()


async def _failing_callback_scenario() -> list[str]:
    timer = LatencyTimer()
    ran: list[str] = []
    done = asyncio.get_running_loop().create_future()

    def fail() -> None:
        raise RuntimeError("boom")

    timer.call_later(0.01, fail)
    timer.call_later(0.01, lambda: ran.append("after"))
    timer.call_later(0.01, lambda: done.set_result(None))
    await asyncio.wait_for(done, 5)
    return ran


def test_a_failing_latency_callback_does_not_strand_the_rest_of_its_tick(caplog):
    assert asyncio.run(_failing_callback_scenario()) == ["after"]
    assert "failed after its latency" in caplog.text


def test_many_pipelined_posts_waiting_for_latency_all_answer_in_order(stub_gateway, stub_backend):
    """More requests than the front lets wait at once: it stops reading, then goes on."""
    stub_gateway.set_limits(management_latency_ms=20)
    with ws_connect(stub_gateway) as ws:
        (connection_id,) = stub_gateway.connection_ids()
        sock, reader = raw(stub_gateway)
        with sock:
            sock.sendall(b"".join(post(connection_id, str(n).encode()) for n in range(300)))
            statuses = [reader.response()[0] for _ in range(300)]
        received = [ws.recv(timeout=5) for _ in range(300)]
    assert statuses == [200] * 300
    assert received == [str(n) for n in range(300)]


def test_a_content_length_too_long_to_be_a_number_is_refused(stub_gateway):
    """Thousands of digits (``int()`` refuses over 4,300): aiohttp's 400, not an exception."""
    sock, reader = raw(stub_gateway)
    with sock:
        head = f"POST /@connections/x HTTP/1.1\r\nHost: x\r\nContent-Length: {'9' * 5000}\r\n\r\n"
        sock.sendall(head.encode())
        assert reader.response()[0] == 400
        assert reader.closed()
