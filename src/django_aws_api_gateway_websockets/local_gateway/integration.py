"""The ``HTTP_PROXY`` integration: how the local gateway calls Django for one event.

:class:`HttpProxyIntegration` POSTs ``$connect``, each message and ``$disconnect`` to the
route's integration URI the way API Gateway does: the client's handshake headers on
``$connect`` (minus hop-by-hop headers and every header the gateway sets itself),
``User-Agent: AmazonAPIGateway_<api id>`` on the others, ``X-Forwarded-*``, ``X-Amzn-*`` and
the route's mapped headers filled from the :class:`~.context.RequestContext`, within the
integration timeout and at most ``backend_concurrency`` at a time. The answer is a
:class:`BackendResult`; :func:`connect_refusal` and :func:`message_error` turn a failed one into
what API Gateway gives the client (an HTTP answer to the handshake, an error frame).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ..redaction import redact
from ..wire import CONTEXT_HEADERS, SECRET_HEADER, SETTINGS_SECRET_HEADER, user_agent
from .config import RouteTarget
from .context import RequestContext
from .ids import new_trace_id
from .limits import Limits
from .log import logger

INTERNAL_ERROR = "Internal server error"
TIMED_OUT = "Endpoint request timed out"
FORBIDDEN = "Forbidden"

#: Client handshake headers never forwarded to ``$connect``: hop-by-hop headers, and every
#: header the gateway sets itself (so a client cannot forge its connection id or the secret).
_NOT_FORWARDED = frozenset(
    {
        "connection",
        "upgrade",
        "keep-alive",
        "proxy-connection",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "host",
        "content-length",
        "content-type",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-port",
        "x-forwarded-proto",
        "x-forwarded-host",
        SECRET_HEADER.lower(),
        SETTINGS_SECRET_HEADER.lower(),
        *(name.lower() for name in CONTEXT_HEADERS),
    }
)

Outcome = Literal["ok", "timeout", "unreachable"]

#: Receives the request of a ``$connect`` the gateway stopped waiting for (see
#: :meth:`HttpProxyIntegration.call`); the task ends with Django's late answer.
Abandon = Callable[["asyncio.Task[BackendResult]"], None]


@dataclass(frozen=True)
class BackendResult:
    """The answer of one integration request."""

    outcome: Outcome
    status: int = 0
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Seconds the integration request took.
    duration: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.outcome == "ok" and 200 <= self.status < 300

    def subprotocols(self) -> tuple[str, ...]:
        """The ``Sec-WebSocket-Protocol`` values Django chose on ``$connect``."""
        value = self.headers.get("Sec-WebSocket-Protocol") or ""
        return tuple(p.strip() for p in value.split(",") if p.strip())


def message_response(status: int, message: str) -> web.Response:
    """API Gateway's JSON answer ``{"message": ...}`` with ``status``."""
    return web.json_response({"message": message}, status=status)


def connect_refusal(result: BackendResult) -> web.StreamResponse | None:
    """The answer to the handshake when Django did not accept ``$connect`` (``None`` when it
    did): 504 when it timed out, 500 when unreachable or 5xx, else Django's own answer."""
    if result.outcome == "timeout":
        return message_response(504, TIMED_OUT)
    if result.outcome == "unreachable" or result.status >= 500:
        return message_response(500, INTERNAL_ERROR)
    if not result.accepted:
        return web.Response(
            status=result.status, body=result.body, content_type=_content_type(result.headers)
        )
    return None


def message_error(result: BackendResult) -> str | None:
    """The error frame's message for a message Django failed to handle (``None``: no error)."""
    if result.outcome == "timeout":
        return TIMED_OUT
    if result.outcome == "unreachable" or result.status >= 500:
        return INTERNAL_ERROR
    return None


def error_frame(message: str, connection_id: str, request_id: str) -> bytes:
    """The frame API Gateway sends a client whose message failed."""
    frame = {"message": message, "connectionId": connection_id, "requestId": request_id}
    return json.dumps(frame).encode()


def _content_type(headers: Mapping[str, str]) -> str:
    value = headers.get("Content-Type") or "text/plain"
    return value.split(";", 1)[0].strip() or "text/plain"


class HttpProxyIntegration:
    """The HTTP client side of the gateway: one session, opened by :meth:`open`."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._slots_size = 0

    async def open(self, *, keep_alive: bool) -> None:
        """Open the session; ``keep_alive`` reuses connections to the backend."""
        self._session = aiohttp.ClientSession(
            cookie_jar=aiohttp.DummyCookieJar(),
            # Django's development server (and pytest-django's live server) answers a request
            # on a kept-alive connection ~40 ms late (its two writes meet our delayed ACK), so
            # by default every integration request opens a connection, as urllib does.
            connector=aiohttp.TCPConnector(limit=0, force_close=not keep_alive),
            skip_auto_headers=("User-Agent", "Content-Type"),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(
        self,
        route: RouteTarget,
        context: RequestContext,
        body: bytes,
        limits: Limits,
        *,
        client_headers: CIMultiDictProxy[str] | None = None,
        abandon: Abandon | None = None,
    ) -> BackendResult:
        """POST ``body`` to the route's integration as ``HTTP_PROXY`` does. ``client_headers``
        (the handshake's, on ``$connect`` only) are forwarded with the query string.

        Past the integration timeout the result is ``timeout``. Without ``abandon`` the request
        is cancelled then; with it, the request goes on for up to
        ``limits.abandoned_connect_wait`` seconds more (Django, unaware, may still act on it)
        and ``abandon`` receives it. It keeps its backend slot until it ends."""
        headers = self.headers(route, context, client_headers)
        url = route.uri
        if client_headers is not None and context.query:
            url = f"{url}{'&' if '?' in url else '?'}{context.query}"
        timeout = limits.integration_timeout
        if timeout is None:
            timeout = route.timeout
        slots = self._slots_for(limits.backend_concurrency)
        if slots is not None:
            await slots.acquire()
        if abandon is None:
            try:
                return await self._post(url, headers, body, timeout)
            finally:
                if slots is not None:
                    slots.release()
        request = asyncio.ensure_future(
            self._post(url, headers, body, timeout + limits.abandoned_connect_wait)
        )
        if slots is not None:
            request.add_done_callback(lambda _: slots.release())
        try:
            done, _ = await asyncio.wait({request}, timeout=timeout)
        except asyncio.CancelledError:
            request.cancel()
            raise
        if done:
            return request.result()
        abandon(request)
        return BackendResult("timeout", duration=timeout)

    def _slots_for(self, size: int) -> asyncio.Semaphore | None:
        if not size:
            return None
        if self._slots is None or self._slots_size != size:
            self._slots = asyncio.Semaphore(size)
            self._slots_size = size
        return self._slots

    async def _post(
        self, url: str, headers: CIMultiDict[str], body: bytes, timeout: float
    ) -> BackendResult:
        session = self._session
        if session is None:
            return BackendResult("unreachable")
        started = time.monotonic()
        try:
            async with session.post(
                url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                payload = await response.read()
                return BackendResult(
                    "ok",
                    response.status,
                    payload,
                    CIMultiDict(response.headers),
                    time.monotonic() - started,
                )
        except TimeoutError:
            return BackendResult("timeout", duration=time.monotonic() - started)
        except (aiohttp.ClientError, OSError, ValueError) as error:
            logger.warning("integration %s unreachable: %s", redact(url), redact(error))
            return BackendResult("unreachable", duration=time.monotonic() - started)

    def headers(
        self,
        route: RouteTarget,
        context: RequestContext,
        client_headers: CIMultiDictProxy[str] | None,
    ) -> CIMultiDict[str]:
        """The headers of the integration request for ``context``."""
        headers: CIMultiDict[str] = CIMultiDict()
        mapped = {name.lower() for name in route.mapped_headers}
        if client_headers is not None:
            for name, value in client_headers.items():
                lowered = name.lower()
                if lowered in _NOT_FORWARDED or lowered in mapped or lowered.startswith("x-amzn-"):
                    continue
                headers.add(name, value)
        else:
            headers["User-Agent"] = user_agent(context.api_id)
        headers["X-Forwarded-For"] = context.source_ip
        headers["X-Forwarded-Port"] = str(context.port)
        headers["X-Forwarded-Proto"] = context.proto
        headers["X-Amzn-Trace-Id"] = new_trace_id()
        headers["X-Amzn-Apigateway-Api-Id"] = context.api_id
        for name, source in route.mapped_headers.items():
            resolved = context.resolve(source)
            if resolved is not None:
                headers[name] = resolved
        return headers
