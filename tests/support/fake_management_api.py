"""A scriptable Management API (``@connections``) over real HTTP/1.1 sockets, for transport tests.

It verifies every request's SigV4 signature with botocore's stock signer (so a wrong canonical
request, scope or cached key fails), records what arrived, and answers per connection id from
a script: 200, 410 Gone, 429 throttling, other errors, chunked bodies, ``Connection: close``,
dropped connections, delays, and a barrier to prove how many requests are in flight at once.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from django.utils.datastructures import CaseInsensitiveMapping


@dataclass
class Reply:
    status: int = 200
    error_type: str = ""
    body: bytes = b""
    close: bool = False  # answer with Connection: close, then close
    drop: bool = False  # close the socket without answering
    chunked: bool = False
    http10: bool = False  # answer as HTTP/1.0 with no Content-Length (body until EOF)
    delay: float = 0.0
    header_type: bool = True  # send the error code in x-amzn-ErrorType (else only the body)


GONE = Reply(410, "GoneException", b'{"message": "Gone"}')
THROTTLED = Reply(429, "LimitExceededException", b'{"message": "Too Many Requests"}')


@dataclass
class Received:
    method: str
    path: str
    connection_id: str
    headers: Mapping[str, str]  # names matched case-blind, as HTTP does
    body: bytes
    signature_ok: bool
    scope: str
    signed_headers: str


@dataclass
class FakeManagementAPI:
    secrets: dict[str, str] = field(default_factory=lambda: {"testing": "testing"})
    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[Reply]] = field(default_factory=dict)
    default: Reply = field(default_factory=Reply)
    barrier: threading.Barrier | None = None
    barrier_ids: set[str] = field(default_factory=set)
    tcp_connections: int = 0
    in_flight: int = 0
    peak: int = 0
    close_after_each: bool = False  # close idle keep-alive sockets right after each response
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: http.server.ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # -- control --------------------------------------------------------------------------
    def script(self, connection_id: str, *replies: Reply) -> None:
        self.scripts[connection_id] = list(replies)

    def endpoint(self, stage: str = "prod") -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{stage}" if stage else f"http://{host}:{port}"

    def bodies(self, connection_id: str) -> list[bytes]:
        return [r.body for r in self.requests if r.connection_id == connection_id]

    def start(self) -> FakeManagementAPI:
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with api._lock:
                    api.tcp_connections += 1

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                api._handle(self)

            def do_GET(self) -> None:
                api._handle(self)

            def do_DELETE(self) -> None:
                api._handle(self)

        class Server(http.server.ThreadingHTTPServer):
            # A listen backlog for the lean transport, which opens connections 32 at a time
            # (socketserver's default of 5 overflows on a loaded machine: the handshakes
            # stall until SYN-ACK retries, past the client's read timeout).
            request_queue_size = 256

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- serving --------------------------------------------------------------------------
    def _verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple:
        auth = headers.get("Authorization", "")
        try:
            algorithm, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            access_key, date, region, service, _ = parts["Credential"].split("/")
            signed = parts["SignedHeaders"]
        except ValueError:
            return False, "", ""
        request = AWSRequest(method=method, url=f"http://{headers['Host']}{path}", data=body)
        for name in signed.split(";"):
            if name != "host":
                request.headers[name] = headers[next(h for h in headers if h.lower() == name)]
        request.context["timestamp"] = headers.get("X-Amz-Date", "")
        token = headers.get("X-Amz-Security-Token")
        secret = self.secrets.get(access_key, "")
        signer = SigV4Auth(Credentials(access_key, secret, token), service, region)
        canonical = signer.canonical_request(request)
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        ok = algorithm == "AWS4-HMAC-SHA256" and bool(secret) and parts["Signature"] == expected
        return ok, "/".join((access_key, date, region, service)), signed

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        # Case-blind: botocore with awscrt installed sends "host", without it "Host".
        headers = CaseInsensitiveMapping(dict(handler.headers.items()))
        path = handler.path
        connection_id = unquote(path.rsplit("/@connections/", 1)[-1])
        ok, scope, signed = self._verify(handler.command, path, headers, body)
        with self._lock:
            self.requests.append(
                Received(handler.command, path, connection_id, headers, body, ok, scope, signed)
            )
            queue = self.scripts.get(connection_id)
            reply = queue.pop(0) if queue else self.default
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            if self.barrier is not None and connection_id in self.barrier_ids:
                self.barrier.wait()
            if reply.delay:
                time.sleep(reply.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        self._answer(handler, reply)

    def _answer(self, handler: http.server.BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.drop:
            handler.close_connection = True
            handler.wfile.flush()
            handler.connection.close()
            return
        body = reply.body
        if reply.http10:
            handler.wfile.write(f"HTTP/1.0 {reply.status} X\r\n".encode())
            handler.wfile.write(b"x-amzn-RequestId: r-http10\r\n\r\n" + body)
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.send_response(reply.status)
        handler.send_header("x-amzn-RequestId", f"req-{len(self.requests)}")
        if reply.status >= 400:
            handler.send_header("Content-Type", "application/json")
            if reply.error_type and reply.header_type:
                handler.send_header("x-amzn-ErrorType", f"{reply.error_type}:http://internal/")
        if reply.close or self.close_after_each:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        if reply.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            for start in range(0, len(body), 3):
                piece = body[start : start + 3]
                handler.wfile.write(f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n")
            handler.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
        else:
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        handler.wfile.flush()


def error_body(message: str) -> bytes:
    return json.dumps({"message": message}).encode()


@contextmanager
def running(**kwargs: Any) -> Iterator[FakeManagementAPI]:
    api = FakeManagementAPI(**kwargs).start()
    try:
        yield api
    finally:
        api.stop()
