"""An HTTP proxy in front of a moto server that can hold or slow down one AWS operation's
answer, to reproduce what real AWS can do to a client: complete a call whose answer never
reaches the caller (the caller was killed, or botocore gave up waiting and retried).

``hold``: the request waits (not yet forwarded) until :meth:`AwsProxy.release`, then reaches moto.
``slow``: the request reaches moto at once; its answer is sent ``delay`` seconds later, once.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class AwsProxy:
    def __init__(self, upstream: str, method: str, path: str) -> None:
        self.upstream = urlsplit(upstream)
        self.method, self.path = method, path
        self.mode = "pass"
        self.delay = 0.0
        self.arrived = threading.Event()  # a matching request came in
        self.completed = threading.Event()  # ... and moto has answered it
        self.matching = 0
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def release(self) -> None:
        self._release.set()

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes):  # type: ignore[no-untyped-def]
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                matches = self.command == proxy.method and self.path == proxy.path
                first = False
                if matches:
                    proxy.matching += 1
                    first = proxy.matching == 1
                    proxy.arrived.set()
                    if proxy.mode == "hold" and first:
                        proxy._release.wait(60)
                status, answer_headers, answer = proxy._forward(
                    self.command, self.path, headers, body
                )
                if matches:
                    proxy.completed.set()
                    if proxy.mode == "slow" and first:
                        threading.Event().wait(proxy.delay)
                try:
                    self.send_response(status)
                    for key, value in answer_headers:
                        if key.lower() not in {"transfer-encoding", "connection", "content-length"}:
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the caller is gone (killed, or it timed out): AWS still did the work

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

        return Handler


@contextmanager
def aws_proxy(upstream: str, method: str, path: str) -> Iterator[AwsProxy]:
    proxy = AwsProxy(upstream, method, path)
    proxy._thread.start()
    try:
        yield proxy
    finally:
        proxy.release()
        proxy._server.shutdown()
        proxy._server.server_close()
