"""Property-based fuzzing of the local gateway: its frame handling and its ``@connections``.

- the frame-header scanner (the per-frame size limit) agrees with a reference on any frame
  sequence, cut into any chunks (pure: ``HYPOTHESIS_PROFILE=ci`` runs 10,000 examples);
- arbitrary frame sequences on a real socket (masked or not, any opcode, reserved bits, bad
  UTF-8, fragments, oversize frames and messages, control frames): the gateway answers with
  frames and close codes API Gateway uses, forwards exactly the valid text messages, sends one
  ``$disconnect`` per connection, and stays up;
- arbitrary Management API requests (method, path, id, body): one of the documented statuses
  with AWS's error shape, never a 5xx, and only a well-addressed POST reaches the socket, with
  its exact bytes.

Real-socket examples are fewer (each takes milliseconds): 400 and 2,000 in the ci profile.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import itertools
import json
import os
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_aws_api_gateway_websockets.local_gateway import Limits
from django_aws_api_gateway_websockets.local_gateway.frames import FrameScanner

from .conftest import RunningGateway, StubBackend, stub_gateway_row

API = "stubapi123"
STAGE = "production"
CI = settings.default.max_examples >= 10_000
SOCKET_EXAMPLES = 400 if CI else 40
MANAGEMENT_EXAMPLES = 2000 if CI else 100
#: Close codes API Gateway (and the RFC, for protocol errors) use.
CLOSE_CODES = {1000, 1001, 1002, 1003, 1007, 1009, 1011}
LIMITS = Limits(
    max_frame_bytes=256,
    max_message_bytes=1024,
    max_post_bytes=512,
    integration_timeout=2.0,
    close_timeout=0.5,
    connections_per_second=0,
)


# -- the frame scanner (pure) -----------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    opcode: int
    length: int
    fin: bool = True
    masked: bool = True
    rsv: int = 0
    payload: bytes | None = None  # None: ``length`` zero bytes

    def encode(self) -> bytes:
        first = (0x80 if self.fin else 0) | (self.rsv << 4) | self.opcode
        payload = self.payload if self.payload is not None else bytes(self.length)
        length = len(payload)
        mask_bit = 0x80 if self.masked else 0
        if length < 126:
            head = struct.pack("!BB", first, mask_bit | length)
        elif length < 65536:
            head = struct.pack("!BBH", first, mask_bit | 126, length)
        else:
            head = struct.pack("!BBQ", first, mask_bit | 127, length)
        if not self.masked:
            return head + payload
        key = os.urandom(4)
        return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


LENGTHS = st.integers(0, 300) | st.sampled_from([125, 126, 127, 65535, 65536, 65537])
FRAMES = st.builds(
    Frame,
    opcode=st.integers(0, 15),
    length=LENGTHS,
    fin=st.booleans(),
    masked=st.booleans(),
    rsv=st.integers(0, 7),
)


def reference(frames: list[Frame], limit: int) -> int | None:
    for frame in frames:
        if frame.opcode in (0, 1, 2) and frame.length > limit:
            return frame.length
    return None


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    frames=st.lists(FRAMES, max_size=6),
    limit=st.sampled_from([0, 125, 126, 256, 65535, 65536]),
    cuts=st.lists(st.integers(1, 70_000), max_size=8),
)
def test_frame_scanner_matches_the_reference(
    frames: list[Frame], limit: int, cuts: list[int]
) -> None:
    stream = b"".join(f.encode() for f in frames)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    scanner = FrameScanner(limit)
    found = None
    for start, end in itertools.pairwise(points):
        found = scanner.feed(stream[start:end])
        if found is not None:
            break
    assert found == reference(frames, limit)


# -- a minimal raw WebSocket client ----------------------------------------------------------------


class RawClient:
    """Speaks the WebSocket protocol by hand, so that it can send anything."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /{API}/{STAGE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\nOrigin: http://127.0.0.1\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            assert chunk, "closed during the handshake"
            self.buffer += chunk
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head[:200]

    def send(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the gateway may close while we still write
            self.sock.sendall(data)

    def frames(self, quiet: float, expect: int = 0) -> tuple[list[tuple[int, bytes]], bool]:
        """Frames received until ``quiet`` seconds pass with nothing new (after ``expect``
        frames, 20 ms more), or the socket closes; and whether it closed."""
        self.sock.settimeout(quiet)
        received: list[tuple[int, bytes]] = []
        closed = False
        while True:
            frame = self._parse()
            if frame is not None:
                received.append(frame)
                if expect and len(received) >= expect:
                    self.sock.settimeout(0.02)
                continue
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            self.buffer += chunk
        return received, closed

    def _parse(self) -> tuple[int, bytes] | None:
        data = self.buffer
        if len(data) < 2:
            return None
        assert not data[1] & 0x80, "server frames are never masked"
        length, offset = data[1] & 0x7F, 2
        if length == 126:
            if len(data) < 4:
                return None
            length, offset = struct.unpack("!H", data[2:4])[0], 4
        elif length == 127:
            if len(data) < 10:
                return None
            length, offset = struct.unpack("!Q", data[2:10])[0], 10
        if len(data) < offset + length:
            return None
        self.buffer = data[offset + length :]
        return data[0] & 0x0F, data[offset : offset + length]

    def close(self) -> None:
        with_close = Frame(8, 2, payload=struct.pack("!H", 1000)).encode()
        self.send(with_close)
        self.sock.close()


# -- frames on a real socket -----------------------------------------------------------------


def start_stub_backend() -> tuple[StubBackend, Any]:
    """A stub backend (as the conftest's), started for the whole module."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread
    from urllib.parse import urlsplit

    from .conftest import Recorded

    stub = StubBackend()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            recorded = Recorded("POST", parts.path, parts.query, dict(self.headers.items()), body)
            stub.record(recorded)
            status, payload, _headers, _delay = stub.behaviour(recorded)
            data = payload.encode() if isinstance(payload, str) else payload
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stub, stop


class Target(tuple):  # type: ignore[type-arg]
    """(running gateway, stub backend), with a short repr for hypothesis' reports."""

    def __repr__(self) -> str:
        return "Target(gateway, backend)"


@pytest.fixture(scope="module")
def fuzz_gateway() -> Iterator[tuple[RunningGateway, StubBackend]]:
    """One gateway and stub backend for every example (function fixtures would be rebuilt)."""
    from django_aws_api_gateway_websockets.local_gateway import (
        GatewayThread,
        LocalGateway,
        spec_for_gateway,
    )

    backend, stop_backend = start_stub_backend()
    gateway = LocalGateway(
        [spec_for_gateway(stub_gateway_row(backend.url))], host="127.0.0.1", port=0, limits=LIMITS
    )
    thread = GatewayThread(gateway)
    thread.start()
    try:
        yield Target((RunningGateway(gateway, thread), backend))
    finally:
        thread.stop()
        stop_backend()


TEXTS = st.text(max_size=40).map(str.encode)
PAYLOADS = st.one_of(
    TEXTS,
    st.binary(max_size=40),
    st.sampled_from([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80"]),  # invalid UTF-8
    st.integers(126, 300).map(bytes),  # over the 256-byte frame limit, or near it
)
WIRE_FRAMES = st.builds(
    Frame,
    opcode=st.sampled_from([0, 1, 1, 1, 2, 3, 8, 9, 10, 11]),
    length=st.just(0),
    fin=st.booleans() | st.just(True),
    masked=st.booleans() | st.just(True),
    rsv=st.sampled_from([0, 0, 0, 1, 4]),
    payload=PAYLOADS,
)


def valid_texts(frames: list[Frame]) -> list[bytes] | None:
    """The messages the backend must receive when every frame is a plain, valid, masked,
    unfragmented text frame within the limits (else ``None``: no exact expectation)."""
    out = []
    for frame in frames:
        payload = frame.payload or b""
        if not (frame.opcode == 1 and frame.fin and frame.masked and frame.rsv == 0):
            return None
        if len(payload) > LIMITS.max_frame_bytes:
            return None
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
        out.append(payload)
    return out


@settings(
    max_examples=SOCKET_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(frames=st.lists(WIRE_FRAMES, min_size=1, max_size=5))
def test_any_frames_on_a_real_socket(
    fuzz_gateway: tuple[RunningGateway, StubBackend], frames: list[Frame]
) -> None:
    running, backend = fuzz_gateway
    known = {r.headers.get("connectionId") for r in backend.of_route("connect")}
    client = RawClient(running.gateway.port)
    (mine,) = [
        r.headers.get("connectionId")
        for r in backend.of_route("connect")
        if r.headers.get("connectionId") not in known
    ]
    client.send(b"".join(f.encode() for f in frames))
    expected = valid_texts(frames)
    quiet = 0.3 if expected is None else 2.0
    received: list[tuple[int, bytes]] = []
    closed = False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        more, closed = client.frames(0.05 if expected else quiet)
        received += more
        echoes = [p for op, p in received if op == 1]
        if closed or expected is None or len(echoes) >= len(expected):
            break
    client.close()
    for opcode, payload in received:
        assert opcode in (1, 8, 9, 10), (opcode, payload)
        if opcode == 8 and len(payload) >= 2:
            assert struct.unpack("!H", payload[:2])[0] in CLOSE_CODES, payload
    if expected is not None:
        forwarded = [
            r.body for r in backend.of_route("default") if r.headers.get("connectionId") == mine
        ]
        assert forwarded == expected
        echoes = [json.loads(p)["body"].encode() for op, p in received if op == 1]
        assert echoes == expected
        assert not closed


def test_the_fuzzed_gateway_is_still_up_and_disconnects_balance(
    fuzz_gateway: tuple[RunningGateway, StubBackend],
) -> None:
    running, backend = fuzz_gateway
    client = RawClient(running.gateway.port)
    client.send(Frame(1, 0, payload=b'{"still": "up"}').encode())
    received, _ = client.frames(2.0)
    assert any(op == 1 and b"still" in p for op, p in received)
    client.close()
    connects = backend.of_route("connect")
    backend.wait(
        lambda requests: sum(1 for r in requests if r.route == "disconnect") >= len(connects),
        timeout=15,
    )
    ids = [r.headers.get("connectionId") for r in backend.of_route("disconnect")]
    assert len(ids) == len(set(ids)) == len(connects)  # one $disconnect per connection


# -- @connections ------------------------------------------------------------------------------


@dataclass
class Live:
    client: RawClient
    connection_id: str


def live_connection(running: RunningGateway, backend: StubBackend) -> Live:
    before = {r.headers.get("connectionId") for r in backend.of_route("connect")}
    client = RawClient(running.gateway.port)
    after = [r.headers.get("connectionId") for r in backend.of_route("connect")]
    (new,) = [c for c in after if c not in before]
    assert new
    return Live(client, new)


ID_VARIANTS = ["live", "live-quoted", "other", "empty", "slash", "long", "text"]


@st.composite
def management_requests(draw: st.DrawFn) -> dict[str, Any]:
    method = draw(st.sampled_from(["POST"] * 4 + ["GET", "DELETE", "PUT", "PATCH", "OPTIONS"]))
    prefix = draw(
        st.sampled_from(["", f"/{API}", f"/{STAGE}", f"/{API}/{STAGE}", "/other/x", "/a/b/c"])
    )
    variant = draw(st.sampled_from(ID_VARIANTS))
    text = draw(st.text(max_size=20))
    body = draw(st.binary(max_size=600) | TEXTS)
    raw_path = draw(st.none() | st.text(max_size=30).map(lambda t: "/" + quote(t)))
    return {
        "method": method,
        "prefix": prefix,
        "variant": variant,
        "text": text,
        "body": body,
        "raw": raw_path,
    }


def path_for(request: dict[str, Any], live_id: str) -> tuple[str, bool]:
    """The request path, and whether it addresses the live connection."""
    if request["raw"] is not None and request["variant"] == "text":
        return request["raw"], False
    ids = {
        "live": live_id,
        "live-quoted": quote(live_id, safe=""),
        "other": "AAAAAAAAAAAAAAA=",
        "empty": "",
        "slash": f"{live_id}/x",
        "long": "a" * 200,
        "text": quote(request["text"], safe=""),
    }
    # Up to two segments before @connections (the api id and/or the stage; the local gateway
    # takes any stage name), as AWS's ``/{stage}/@connections/{id}`` and ``/@connections/{id}``.
    addressed = request["variant"] in ("live", "live-quoted") and request["prefix"] != "/a/b/c"
    return f"{request['prefix']}/@connections/{ids[request['variant']]}", addressed


class Holder(dict):  # type: ignore[type-arg]
    def __repr__(self) -> str:
        return "Holder()"


@pytest.fixture(scope="module")
def live_holder() -> Iterator[dict[str, Live]]:
    holder = Holder()
    yield holder
    for live in holder.values():
        live.client.close()


@settings(
    max_examples=MANAGEMENT_EXAMPLES,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(request=management_requests())
def test_any_management_request(
    fuzz_gateway: tuple[RunningGateway, StubBackend],
    live_holder: dict[str, Live],
    request: dict[str, Any],
) -> None:
    running, backend = fuzz_gateway
    live = live_holder.get("live")
    if live is None:
        live = live_holder["live"] = live_connection(running, backend)
    path, addressed = path_for(request, live.connection_id)
    conn = http.client.HTTPConnection("127.0.0.1", running.gateway.port, timeout=5)
    try:
        conn.request(request["method"], path, body=request["body"])
        response = conn.getresponse()
        status, headers, body = response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()
    assert status in {200, 204, 400, 404, 405, 410, 413, 429}, (status, path, body[:200])
    if "/@connections/" not in path:  # another page of the gateway: no 5xx, nothing delivered
        received, _closed = live.client.frames(0.02)
        assert [op for op, _ in received if op in (1, 2)] == []
        return
    if status >= 400 and "/@connections/" in path:  # AWS's error shape
        assert json.loads(body)["message"]
        assert headers.get("x-amzn-ErrorType") or headers.get("X-Amzn-ErrorType")
    posted = status == 200 and request["method"] == "POST"
    received, closed = live.client.frames(2.0 if posted else 0.02, expect=1 if posted else 0)
    if status == 200 and request["method"] == "POST":
        assert addressed and len(request["body"]) <= LIMITS.max_post_bytes
        # One frame with the exact bytes: text, or binary when they are not UTF-8 (a text frame
        # with invalid UTF-8 would make the browser fail the connection).
        try:
            request["body"].decode("utf-8")
            opcode = 1
        except UnicodeDecodeError:
            opcode = 2
        assert received == [(opcode, request["body"])]
    elif status == 200:
        assert request["method"] == "GET" and addressed
        info = json.loads(body)
        assert set(info) == {"connectedAt", "identity", "lastActiveAt"}
        assert received == []
    else:
        assert [op for op, _ in received if op in (1, 2)] == []
    if status == 204:
        assert request["method"] == "DELETE" and addressed
    if status == 204 or closed:
        live.client.sock.close()
        del live_holder["live"]
    if addressed and request["method"] in ("POST", "GET", "DELETE"):
        small = request["method"] != "POST" or len(request["body"]) <= LIMITS.max_post_bytes
        assert status in ((200, 204) if small else (413,)), (status, path)
