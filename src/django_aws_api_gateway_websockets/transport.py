"""The lean transport: PostToConnection without boto3's per-call machinery.

boto3 spends about a millisecond of CPU on every ``post_to_connection`` (parameter validation,
serialisation, endpoint rules, event hooks, signing, urllib3, response parsing). For a broadcast
to thousands of connections that CPU is the wall. This transport does only what the wire needs:

* **signing** with botocore's own :class:`~botocore.auth.SigV4Auth` (the canonical request,
  string to sign and header layout are botocore's), with the signing key derived once per
  secret, region and day, and the payload hash computed once per broadcast;
* **HTTP/1.1 keep-alive** connections, pooled per origin and reused across broadcasts, one
  request at a time per connection, at most ``lean_in_flight`` connections per origin;
* **asyncio** on one event loop in a background thread owned by this module, so the caller can
  be any synchronous code (a Django view, a management command, a worker) and never needs a
  running loop of its own.

Everything that decides *where* and *as whom* a request goes comes from a client made by the
real ``get_boto3_client`` (:meth:`LeanRoute.from_client`): its endpoint URL, region, signing
name, credentials (refreshable ones are refreshed as botocore would), TLS verification setting
and timeouts. When that client is configured in a way this transport does not reproduce (a
proxy, a client certificate, a signature version other than SigV4, no credentials) it is not
used and the boto3 transport takes over.

The HTTP client is deliberately small. It was measured against aiohttp's client on this
workload: aiohttp costs about 150 µs of CPU per request before any signing, while this whole
transport costs about 90 µs per post signing included, which is the difference between missing
and making a 10,000-connection broadcast in well under two seconds (``bench/README.md``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import logging
import os
import ssl
import sys
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import botocore
from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
from botocore.client import BaseClient
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.httpsession import ProxyConfiguration, get_cert_path
from botocore.utils import get_environ_proxies, percent_encode

from .messaging import Outcome, RetryPolicy, classify, is_retryable

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Idle keep-alive connections older than this are closed rather than reused (seconds).
IDLE_TIMEOUT = 20.0
#: Connections being opened at once per origin.
CONNECTS_AT_ONCE = 32
_MAX_HEAD = 65536
_USER_AGENT = f"django-aws-api-gateway-websockets lean-transport botocore/{botocore.__version__}"
_OPERATION = "PostToConnection"


# -- what a boto3 client would do ---------------------------------------------------------------


def _credentials_of(client: BaseClient) -> Any:
    getter = getattr(client, "_get_credentials", None)
    if callable(getter):
        return getter()
    signer = getattr(client, "_request_signer", None)
    return getattr(signer, "_credentials", None)


def _http_session_of(client: BaseClient) -> Any:
    return getattr(getattr(client, "_endpoint", None), "http_session", None)


def _verify_of(client: BaseClient) -> Any:
    """The ``verify`` value the client's HTTP session uses (``True``, ``False`` or a CA path:
    ``AWS_CA_BUNDLE`` / a profile's ``ca_bundle`` end up here)."""
    return getattr(_http_session_of(client), "_verify", True)


def _proxy_for(client: BaseClient, url: str) -> str | None:
    """The proxy the client's HTTP session would use for ``url``: from its config, else from the
    environment as botocore read it when the client was made."""
    proxy_config = getattr(_http_session_of(client), "_proxy_config", None)
    if proxy_config is None:
        config = client.meta.config
        proxies = getattr(config, "proxies", None)
        proxy_config = ProxyConfiguration(
            proxies=get_environ_proxies(url) if proxies is None else proxies,
            proxies_settings=getattr(config, "proxies_config", None),
        )
    proxy = proxy_config.proxy_url_for(url)
    return str(proxy) if proxy else None


def green_threads() -> bool:
    """Whether gevent or eventlet has monkey-patched threading (gunicorn's gevent/eventlet
    workers): the loop thread would then be a greenlet, so the boto3 transport is used."""
    gevent = sys.modules.get("gevent.monkey")
    if gevent is not None and getattr(gevent, "is_module_patched", lambda _: False)("threading"):
        return True
    eventlet = sys.modules.get("eventlet.patcher")
    return bool(
        eventlet is not None and getattr(eventlet, "is_monkey_patched", lambda _: False)("thread")
    )


def intercepted(client: BaseClient) -> bool:
    """Whether a botocore ``before-send`` handler could answer instead of the network (moto's
    ``mock_aws``, a recorder...). Then only the boto3 transport goes through it."""
    try:
        trie = client.meta.events._emitter._handlers  # type: ignore[attr-defined]
        handlers = list(trie.prefix_search(f"before-send.apigatewaymanagementapi.{_OPERATION}"))
    except AttributeError:
        return True  # cannot tell: stay on the path every interceptor sees
    # moto registers its stubber on every session and switches it on and off with `enabled`.
    return any(getattr(handler, "enabled", True) is not False for handler in handlers)


@dataclass(frozen=True, eq=False)
class LeanRoute:
    """One Management API endpoint as the boto3 client made for it would reach it."""

    endpoint_url: str
    scheme: str
    host: str
    port: int
    host_header: str
    base_path: str
    region: str
    signing_name: str
    credentials: Any
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    read_timeout: float

    @property
    def origin(self) -> tuple[str, str, int, int]:
        return (self.scheme, self.host, self.port, id(self.ssl_context))

    @classmethod
    def from_client(cls, client: Any, *, explain: bool = False) -> LeanRoute | None:
        """The route of a real ``apigatewaymanagementapi`` client, or ``None`` when the lean
        transport cannot do what that client would (the reason is logged)."""
        reason = cls._unsupported(client)
        if reason:
            (logger.info if explain else logger.debug)("Lean transport not used: %s", reason)
            return None
        meta = client.meta
        url = str(meta.endpoint_url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        default_port = 443 if scheme == "https" else 80
        port = parts.port or default_port
        host = parts.hostname or ""
        # botocore signs the Host it sends: the netloc without a default port.
        host_header = host if parts.port in (None, default_port) else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        config = meta.config
        return cls(
            endpoint_url=url,
            scheme=scheme,
            host=host,
            port=port,
            host_header=host_header,
            base_path=parts.path.rstrip("/"),
            region=str(meta.region_name),
            signing_name=str(meta.service_model.signing_name or "execute-api"),
            credentials=_credentials_of(client),
            ssl_context=_ssl_context(_verify_of(client)) if scheme == "https" else None,
            connect_timeout=float(config.connect_timeout or 60),
            read_timeout=float(config.read_timeout or 60),
        )

    @staticmethod
    def _unsupported(client: Any) -> str:
        if not isinstance(client, BaseClient):
            return f"the client is a {type(client).__name__}, not a botocore client"
        meta = client.meta
        if meta.service_model.service_name != "apigatewaymanagementapi":
            return f"not a Management API client ({meta.service_model.service_name})"
        url = str(meta.endpoint_url or "")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return f"endpoint {url!r} is not an http(s) URL"
        if parts.query or parts.fragment:
            return f"endpoint {url!r} has a query or fragment"
        config = meta.config
        signature_version = getattr(config, "signature_version", None)
        if signature_version not in (None, "v4"):
            return f"signature version {signature_version!r}"
        if getattr(config, "client_cert", None) or getattr(
            _http_session_of(client), "_cert_file", None
        ):
            return "a client certificate is configured"
        if _proxy_for(client, url):
            return "a proxy applies to the endpoint"
        if not meta.region_name:
            return "no region"
        if _credentials_of(client) is None:
            return "no credentials"
        return ""


def _ssl_context(verify: Any) -> ssl.SSLContext:
    """A TLS context that verifies as botocore's HTTP session does for ``verify``."""
    context = ssl.create_default_context()
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        path = get_cert_path(verify)
        if path and os.path.isdir(path):
            context.load_verify_locations(capath=path)
        elif path:
            context.load_verify_locations(cafile=path)
    context.set_alpn_protocols(["http/1.1"])
    return context


# -- signing ------------------------------------------------------------------------------------

_signing_keys: dict[tuple[str, str, str, str], bytes] = {}
_signing_keys_lock = threading.Lock()


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key (as ``SigV4Auth.signature`` derives it on every request)."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


class _HeaderMap(dict[str, str]):
    """The headers to sign, as ``SigV4Auth.canonical_headers`` reads them (``get_all``)."""

    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _Request:
    """The parts of an ``AWSRequest`` that ``SigV4Auth.add_auth`` reads and writes, without
    the ``email.message`` header machinery (a plain dict, with botocore's header spellings)."""

    __slots__ = ("body", "context", "headers", "method", "params", "url")

    def __init__(self, url: str, body: bytes, context: dict[str, Any]) -> None:
        self.method = "POST"
        self.url = url
        self.body = body
        self.params: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.context = context


class _CachedKeySigV4(SigV4Auth):
    """botocore's SigV4 signer (``add_auth``, the canonical request, string to sign, scope and
    ``Authorization`` header are botocore's code), with what is the same for every post of a
    broadcast computed once: the signing key (per secret, day, region and service), the payload
    hash, the ``host`` header and the (empty) query string."""

    def __init__(self, credentials: Any, service_name: str, region_name: str, host: str) -> None:
        super().__init__(credentials, service_name, region_name)
        self._lean_scope = (region_name, service_name)
        self._lean_host = host

    def headers_to_sign(self, request: Any) -> Any:
        headers = _HeaderMap()
        for name, value in request.headers.items():
            lower = name.lower()
            if lower not in _UNSIGNED:
                headers[lower] = value
        if "host" not in headers:
            headers["host"] = self._lean_host
        return headers

    def canonical_query_string(self, request: Any) -> str:
        return (
            ""
            if not request.params and "?" not in request.url
            else str(super().canonical_query_string(request))
        )

    def signature(self, string_to_sign: str, request: Any) -> str:
        date = str(request.context["timestamp"][0:8])
        region, service = self._lean_scope
        key = (str(self.credentials.secret_key), date, region, service)
        signing_key = _signing_keys.get(key)
        if signing_key is None:
            signing_key = _derive_signing_key(*key)
            with _signing_keys_lock:
                if len(_signing_keys) > 32:
                    _signing_keys.clear()
                _signing_keys[key] = signing_key
        return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    def payload(self, request: Any) -> str:
        cached = request.context.get("payload_sha256")
        return str(cached) if cached else str(super().payload(request))


_UNSIGNED = frozenset(SIGNED_HEADERS_BLACKLIST)


@dataclass
class _Prepared:
    """What one send needs per route: the signer (with credentials frozen for this send) and
    the pool."""

    route: LeanRoute
    signer: _CachedKeySigV4
    pool: _Pool
    fixed_headers: bytes
    url_prefix: str = ""
    path_prefix: str = ""
    head_prefix: bytes = b""

    def __post_init__(self) -> None:
        route = self.route
        self.path_prefix = f"{route.base_path}/@connections/"
        self.url_prefix = f"{route.scheme}://{route.host_header}{self.path_prefix}"
        self.head_prefix = f"Host: {route.host_header}\r\n".encode("latin-1")


def _request_bytes(prepared: _Prepared, connection_id: str, body: bytes, body_sha: str) -> bytes:
    encoded = percent_encode(connection_id)
    request = _Request(prepared.url_prefix + encoded, body, {"payload_sha256": body_sha})
    prepared.signer.add_auth(cast(Any, request))
    head = "".join([f"{name}: {value}\r\n" for name, value in request.headers.items()])
    return b"".join(
        (
            f"POST {prepared.path_prefix}{encoded} HTTP/1.1\r\n".encode("latin-1"),
            prepared.head_prefix,
            head.encode("latin-1"),
            f"Content-Length: {len(body)}\r\n".encode("latin-1"),
            prepared.fixed_headers,
            body,
        )
    )


# -- HTTP/1.1 -----------------------------------------------------------------------------------


class _BrokenError(Exception):
    """The connection broke; ``fresh`` is True when nothing of a response had arrived."""

    def __init__(self, message: str, *, fresh: bool) -> None:
        super().__init__(message)
        self.fresh = fresh


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


_shared_values: dict[str, str] = {}


def _shared(value: str) -> str:
    """One string object per distinct header value (the ``Date``, ``Server``...), so that the
    responses kept in a broadcast's outcomes do not hold thousands of copies."""
    if len(_shared_values) > 256:
        _shared_values.clear()
    return _shared_values.setdefault(value, value)


class _HTTPConnection(asyncio.Protocol):
    """One HTTP/1.1 connection carrying one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0
        self.idle_since = 0.0
        self._buf = bytearray()
        self._waiter: asyncio.Future[_Response] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._headers: dict[str, str] | None = None
        self._length: int | None = None
        self._chunked = False
        self._until_eof = False
        self._keep_alive = True
        self._body = bytearray()
        self._got_bytes = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.close()  # nothing was asked: the stream is out of step
            return
        self._got_bytes = True
        self._buf += data
        try:
            self._parse()
        except (ValueError, IndexError) as error:
            self._fail(_BrokenError(f"malformed HTTP response: {error}", fresh=False))
            self.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._headers is not None and self._until_eof:
            self._complete(bytes(self._buf))
            return
        reason = str(exc) if exc else "connection closed by the server"
        self._fail(_BrokenError(reason, fresh=not self._got_bytes))

    # requests
    def request(self, data: bytes, timeout: float) -> asyncio.Future[_Response]:
        assert self.transport is not None
        self._reset()
        self._buf.clear()
        waiter: asyncio.Future[_Response] = self._loop.create_future()
        self._waiter = waiter
        self._timer = self._loop.call_later(timeout, self._timed_out)
        self.transport.write(data)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(TimeoutError("read timeout"))
        self.close()

    def _fail(self, error: BaseException) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _complete(self, body: bytes) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.requests += 1
        waiter = self._waiter
        assert self._headers is not None
        keep_alive = self._keep_alive and not self._buf
        if waiter is not None and not waiter.done():
            waiter.set_result(_Response(self._status, self._headers, body, keep_alive))

    def _parse(self) -> None:
        buf = self._buf
        while self._headers is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > _MAX_HEAD:
                    raise ValueError("response head too large")
                return
            head = bytes(buf[:end]).decode("latin-1").split("\r\n")
            del buf[: end + 4]
            version, _, rest = head[0].partition(" ")
            status = int(rest[:3])
            if 100 <= status < 200:
                continue  # interim response (100 Continue): the real one follows
            headers: dict[str, str] = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                name = sys.intern(name.strip().lower())
                value = _shared(value.strip()) if name != "x-amzn-requestid" else value.strip()
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
            self._status = status
            self._headers = headers
            connection = headers.get("connection", "").lower()
            self._keep_alive = version == "HTTP/1.1" and "close" not in connection
            if status in (204, 304):
                self._length = 0
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                self._chunked = True
            elif "content-length" in headers:
                self._length = int(headers["content-length"])
            else:
                self._until_eof = True
                self._keep_alive = False
        if self._length is not None:
            if len(buf) >= self._length:
                body = bytes(buf[: self._length])
                del buf[: self._length]
                self._complete(body)
        elif self._chunked:
            self._parse_chunks()

    def _parse_chunks(self) -> None:
        buf = self._buf
        while True:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buf[:line_end]).split(b";")[0].strip(), 16)
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", line_end)
                if buf[line_end : line_end + 4] == b"\r\n\r\n":
                    trailer_end = line_end
                if trailer_end < 0:
                    return
                del buf[: trailer_end + 4]
                self._complete(bytes(self._body))
                return
            if len(buf) < line_end + 2 + size + 2:
                return
            self._body += buf[line_end + 2 : line_end + 2 + size]
            del buf[: line_end + 2 + size + 2]


class _Pool:
    """Kept-alive connections to one origin, at most ``limit`` in use at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop, route: LeanRoute, limit: int) -> None:
        self._loop = loop
        self._route = route
        self._idle: list[_HTTPConnection] = []
        self._all: set[_HTTPConnection] = set()
        self._slots = asyncio.Semaphore(limit)
        # New connections are opened a few at a time: hundreds of simultaneous SYNs (or TLS
        # handshakes) overflow a server's listen backlog and cost a one-second SYN retry.
        self._connecting = asyncio.Semaphore(CONNECTS_AT_ONCE)
        self.limit = limit
        self.opened = 0

    async def acquire(self) -> _HTTPConnection:
        await self._slots.acquire()
        try:
            now = self._loop.time()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and now - conn.idle_since < IDLE_TIMEOUT:
                    return conn
                self._drop(conn)
            return await self._open()
        except BaseException:
            self._slots.release()
            raise

    async def _open(self) -> _HTTPConnection:
        async with self._connecting:
            return await self._connect()

    async def _connect(self) -> _HTTPConnection:
        route = self._route
        try:
            _, conn = await asyncio.wait_for(
                self._loop.create_connection(
                    lambda: _HTTPConnection(self._loop),
                    route.host,
                    route.port,
                    ssl=route.ssl_context,
                    server_hostname=route.host if route.ssl_context else None,
                ),
                route.connect_timeout,
            )
        except asyncio.TimeoutError as error:
            raise ConnectTimeoutError(endpoint_url=route.endpoint_url) from error
        except OSError as error:
            raise EndpointConnectionError(endpoint_url=route.endpoint_url) from error
        self.opened += 1
        self._all.add(conn)
        return conn

    def release(self, conn: _HTTPConnection, reuse: bool) -> None:
        if reuse and not conn.closed:
            conn.idle_since = self._loop.time()
            self._idle.append(conn)
        else:
            self._drop(conn)
        self._slots.release()

    def _drop(self, conn: _HTTPConnection) -> None:
        conn.close()
        self._all.discard(conn)

    def prune(self) -> int:
        """Close idle connections past :data:`IDLE_TIMEOUT`; the number still idle."""
        now = self._loop.time()
        keep = []
        for conn in self._idle:
            if conn.closed or now - conn.idle_since >= IDLE_TIMEOUT:
                self._drop(conn)
            else:
                keep.append(conn)
        self._idle = keep
        return len(keep)

    def close(self) -> None:
        for conn in list(self._all):
            self._drop(conn)
        self._idle.clear()


# -- posting ----------------------------------------------------------------------------------


def _client_error(response: _Response) -> ClientError:
    """The ``ClientError`` botocore's rest-json parser raises for ``response``: the code from
    ``x-amzn-ErrorType``, else the body's ``code``/``__type``, else the status; a bare 5xx gets
    the status and its reason phrase."""
    status = response.status
    stripped = response.body.strip()
    if status >= 500 and (not stripped or stripped.startswith(b"<html>")):
        code, message = str(status), http.client.responses.get(status, "")
    else:
        body: Any
        try:
            body = json.loads(response.body) if response.body else {}
        except ValueError:
            body = {"message": response.body.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("message", body.get("Message", "")))
        code = str(body.get("__type", str(status)))
        if "x-amzn-errortype" in response.headers:
            code = response.headers["x-amzn-errortype"]
        elif "code" in body or "Code" in body:
            code = str(body.get("code", body.get("Code", "")))
        code = code.split(":", 1)[0].rsplit("#", 1)[-1]
    error: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": _metadata(response, 0),
    }
    return ClientError(error, _OPERATION)


def _metadata(response: _Response, retries: int) -> dict[str, Any]:
    return {
        "RequestId": response.headers.get("x-amzn-requestid", ""),
        "HTTPStatusCode": response.status,
        "HTTPHeaders": response.headers,
        "RetryAttempts": retries,
    }


async def _exchange(prepared: _Prepared, data: bytes) -> _Response:
    pool = prepared.pool
    conn = await pool.acquire()
    reused = conn.requests > 0
    try:
        response = await conn.request(data, prepared.route.read_timeout)
    except _BrokenError as error:
        pool.release(conn, reuse=False)
        if error.fresh and reused:
            raise  # a stale keep-alive connection: the caller retries at once
        raise ConnectionClosedError(endpoint_url=prepared.route.endpoint_url) from error
    except TimeoutError as error:
        pool.release(conn, reuse=False)
        raise ReadTimeoutError(endpoint_url=prepared.route.endpoint_url) from error
    except BaseException:
        pool.release(conn, reuse=False)
        raise
    pool.release(conn, reuse=response.keep_alive)
    return response


async def _post(
    prepared: _Prepared,
    connection_id: str,
    body: bytes,
    body_sha: str,
    policy: RetryPolicy,
) -> Outcome:
    attempt = 0
    stale_retried = False
    while True:
        attempt += 1
        error: BaseException
        try:
            data = _request_bytes(prepared, connection_id, body, body_sha)
            response = await _exchange(prepared, data)
        except _BrokenError:
            if not stale_retried:
                stale_retried = True
                attempt -= 1
                continue
            error = ConnectionClosedError(endpoint_url=prepared.route.endpoint_url)
        except Exception as caught:  # one connection's failure never stops the others
            error = caught
        else:
            if 200 <= response.status < 300:
                return Outcome(
                    connection_id,
                    "sent",
                    response={"ResponseMetadata": _metadata(response, attempt - 1)},
                    attempts=attempt,
                )
            error = _client_error(response)
        if attempt < policy.max_attempts and is_retryable(error):
            await asyncio.sleep(policy.delay(attempt))
            continue
        return classify(connection_id, error, attempt)


# -- the event loop thread ------------------------------------------------------------------------


class _Runner:
    """An event loop in a daemon thread, with the connection pools that live on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pools: dict[tuple[Any, ...], _Pool] = {}
        self._prune_handle: asyncio.TimerHandle | None = None
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._main, name="ws-lean-transport", daemon=True)
        self.thread.start()
        self._ready.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if threading.current_thread() is self.thread:
            coro.close()
            raise RuntimeError("send_message called from the lean transport's own thread")
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def pool(self, route: LeanRoute, limit: int) -> _Pool:
        key = (*route.origin, limit)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = _Pool(self.loop, route, limit)
        if self._prune_handle is None:
            self._prune_handle = self.loop.call_later(IDLE_TIMEOUT / 2, self._prune)
        return pool

    def _prune(self) -> None:
        self._prune_handle = None
        idle = sum(pool.prune() for pool in self.pools.values())
        if idle:
            self._prune_handle = self.loop.call_later(IDLE_TIMEOUT / 2, self._prune)

    async def _close_pools(self) -> None:
        if self._prune_handle is not None:
            self._prune_handle.cancel()
            self._prune_handle = None
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()
        await asyncio.sleep(0)  # let the transports' connection_lost callbacks run

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_pools(), self.loop).result(timeout=5)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            if not self.thread.is_alive():
                self.loop.close()

    def connections(self) -> int:
        """Open connections held by the pools (for tests and benchmarks)."""
        return sum(len(pool._all) for pool in self.pools.values())


_runner: _Runner | None = None
_runner_pid = 0
_runner_lock = threading.Lock()
_orphans: list[_Runner] = []


def runner() -> _Runner:
    """The process's lean-transport loop, started on first use (and again after a fork)."""
    global _runner, _runner_pid
    with _runner_lock:
        if _runner is None or _runner_pid != os.getpid():
            _runner = _Runner()
            _runner_pid = os.getpid()
        return _runner


def shutdown() -> None:
    """Close every kept-alive connection and stop the loop thread. The next send starts a new
    one. Registered with :mod:`atexit`; tests call it to leave nothing open."""
    global _runner
    with _runner_lock:
        current, _runner = _runner, None
    if current is not None and _runner_pid == os.getpid():
        current.close()


def _after_fork() -> None:
    # The child has the parent's loop object but not its thread: forget it without touching the
    # parent's sockets (kept referenced so they are not garbage-collected in the child).
    global _runner
    if _runner is not None:
        _orphans.append(_runner)
    _runner = None


atexit.register(shutdown)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


async def _send_all(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    policy: RetryPolicy,
    run: _Runner,
) -> list[Outcome]:
    body = message.encode("utf-8")
    body_sha = hashlib.sha256(body).hexdigest()
    fixed = f"User-Agent: {_USER_AGENT}\r\nAccept-Encoding: identity\r\n\r\n".encode("latin-1")
    prepared: dict[int, _Prepared] = {}
    for _, route in targets:
        if id(route) not in prepared:
            credentials = route.credentials
            frozen = credentials.get_frozen_credentials()
            signer = _CachedKeySigV4(frozen, route.signing_name, route.region, route.host_header)
            pool = run.pool(route, in_flight)
            prepared[id(route)] = _Prepared(route, signer, pool, fixed)
    outcomes: list[Outcome] = []
    work = iter(targets)

    async def worker() -> None:
        for connection_id, route in work:
            outcomes.append(await _post(prepared[id(route)], connection_id, body, body_sha, policy))

    await asyncio.gather(*(worker() for _ in range(max(1, min(in_flight, len(targets))))))
    return outcomes


def send_async(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    retry: RetryPolicy,
) -> concurrent.futures.Future[list[Outcome]]:
    """Start posting ``message`` to every ``(connection_id, route)`` on the loop thread, with
    at most ``in_flight`` requests in flight per origin; the future's result is one
    :class:`~.messaging.Outcome` per target."""
    run = runner()
    return run.submit(_send_all(list(targets), message, in_flight, retry, run))


def send(
    targets: Sequence[tuple[str, LeanRoute]],
    message: str,
    in_flight: int,
    retry: RetryPolicy,
) -> list[Outcome]:
    """:func:`send_async`, waited for."""
    return send_async(targets, message, in_flight, retry).result()
