"""The request context of one event: what an integration's header mappings can read.

API Gateway fills an integration's mapped headers (its ``requestParameters``) from the request
context (``context.connectionId``, ``context.identity.sourceIp``, ...), from quoted literals,
and on ``$connect`` from the client's handshake (``route.request.header.*``,
``route.request.querystring.*``). :class:`RequestContext` holds one event's values and resolves
a source; :func:`source_supported` tells the configuration which sources the local gateway
fills (:data:`KNOWN_SOURCES` is read from the same table, so the two cannot disagree).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from multidict import CIMultiDictProxy

_HEADER_PREFIX = "route.request.header."
_QUERY_PREFIX = "route.request.querystring."


@dataclass(frozen=True)
class RequestContext:
    """The ``context.*`` values of one event, for request-parameter mappings."""

    api_id: str
    stage: str
    connection_id: str
    request_id: str
    source_ip: str
    user_agent: str
    #: ``CONNECT``, ``MESSAGE`` or ``DISCONNECT``.
    event_type: str
    route_key: str
    #: Epoch seconds.
    connected_at: float
    #: The client's handshake (read only on ``$connect``).
    headers: CIMultiDictProxy[str]
    query: str
    #: ``host:port`` the client connected to.
    domain_name: str
    #: The port the client connected to, and its protocol (``X-Forwarded-Port``/``-Proto``).
    port: int
    proto: str

    def resolve(self, source: str) -> str | None:
        """The value of the mapping source ``source``; ``None`` when it has none."""
        if len(source) >= 2 and source[0] == source[-1] == "'":
            return source[1:-1]
        value = _CONTEXT_VALUES.get(source)
        if value is not None:
            return value(self)
        if self.event_type != "CONNECT":
            return None
        if source.startswith(_HEADER_PREFIX):
            return self.headers.get(source[len(_HEADER_PREFIX) :])
        if source.startswith(_QUERY_PREFIX):
            name = source[len(_QUERY_PREFIX) :]
            return dict(parse_qsl(self.query, keep_blank_values=True)).get(name)
        return None


_CONTEXT_VALUES: dict[str, Callable[[RequestContext], str]] = {
    "context.connectionId": lambda c: c.connection_id,
    "context.requestId": lambda c: c.request_id,
    "context.apiId": lambda c: c.api_id,
    "context.stage": lambda c: c.stage,
    "context.routeKey": lambda c: c.route_key,
    "context.eventType": lambda c: c.event_type,
    "context.domainName": lambda c: c.domain_name,
    "context.requestTimeEpoch": lambda c: str(int(time.time() * 1000)),
    "context.connectedAt": lambda c: str(int(c.connected_at * 1000)),
    "context.identity.sourceIp": lambda c: c.source_ip,
    "context.identity.userAgent": lambda c: c.user_agent,
}

#: Mapping sources the local gateway knows how to fill (besides quoted literals and
#: ``route.request.header.*`` / ``route.request.querystring.*`` on ``$connect``).
KNOWN_SOURCES = frozenset(_CONTEXT_VALUES)


def source_supported(source: str) -> bool:
    """Whether the local gateway fills a header mapped from ``source``."""
    return (
        source in KNOWN_SOURCES
        or (len(source) >= 2 and source[0] == source[-1] == "'")
        or source.startswith((_HEADER_PREFIX, _QUERY_PREFIX))
    )
