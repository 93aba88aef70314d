"""Which transport a post goes through, decided here and nowhere else, and the send through it.

The rule. The client factory is ``models.get_boto3_client``, looked up at call time
(:func:`aws.factory`). A patched factory or ``boto3`` (:func:`aws.factory_is_patched`: a
project's mock, ``testing.capture_messages``) means every post goes through the boto3 transport
with clients from that factory, called exactly as before: once per endpoint, so mocks see
every call. Only the original factory gets the lean transport, and only where it can reproduce
what the factory's client would do; the other posts go through the boto3 transport on shared
clients.

``WEBSOCKETS["send_transport"]`` chooses for the original factory: ``"auto"`` (default: lean
whenever it can be used), ``"lean"`` (the same, logging why when it cannot) or ``"boto3"``.
The lean transport steps aside for a client it does not reproduce (proxies, client
certificates, another signature version: :meth:`.lean.LeanRoute.from_client`), while a botocore
interceptor such as moto's ``mock_aws`` is on, and under gevent or eventlet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from .. import aws
from ..conf import conf
from . import lean
from .boto3_transport import fan_out, shared_client
from .outcomes import EndpointClients, Outcome, RetryPolicy

logger = logging.getLogger(__name__)

_SERVICE = "apigatewaymanagementapi"


def _patched_factory(factory: Callable[..., Any] | None) -> Callable[..., Any] | None:
    """The factory every post must go through (``factory``, else the one in force) when it is
    not the original or ``models.boto3`` is patched; ``None`` when the lean transport may be
    used."""
    if factory is None:
        return aws.factory() if aws.factory_is_patched() else None
    return factory if factory is not aws.get_boto3_client or aws.factory_is_patched() else None


def _lean_route(client: Any, endpoint: str) -> lean.LeanRoute | None:
    """The lean transport's route for a shared client of the original factory, or ``None``
    when the boto3 transport must post instead."""
    if conf.send_transport == "boto3":
        return None
    explain = conf.send_transport == "lean"
    route = lean.route_of(client, explain=explain)
    # Interceptors (moto's mock_aws, for one) can be switched on after the client was made.
    if route is not None and lean.intercepted(client):
        if explain:
            logger.info("Lean transport not used for %s: a botocore interceptor is on", endpoint)
        return None
    if route is not None and lean.green_threads():
        if explain:
            logger.info("Lean transport not used: gevent/eventlet patched threading")
        return None
    return route


def deliver(
    targets: Iterable[tuple[str, str]],
    message: str,
    factory: Callable[..., Any] | None = None,
    max_workers: int | None = None,
) -> list[Outcome]:
    """Post ``message`` to every ``(connection_id, endpoint)``; one :class:`Outcome` each, and
    one failure never stops delivery to the others.

    ``max_workers`` (release 4.1's argument) bounds the posts in flight on the boto3 path
    instead of ``WEBSOCKETS["send_concurrency"]``. ``factory`` defaults to the factory in force
    (see the module docstring for what decides the transport).
    """
    pairs = list(targets)
    retry = RetryPolicy.from_settings()
    concurrency = max_workers if max_workers is not None else conf.send_concurrency
    patched = _patched_factory(factory)
    if patched is not None:

        def client_for(endpoint: str) -> Any:
            return patched(_SERVICE, endpoint_url=endpoint)

        return fan_out(pairs, message, client_for, concurrency, retry)

    on_lean: list[tuple[str, lean.LeanRoute]] = []
    on_boto3: list[tuple[str, str]] = []
    outcomes: list[Outcome] = []
    routes: dict[str, lean.LeanRoute | None] = {}
    clients = EndpointClients(lambda endpoint: shared_client(endpoint, concurrency))
    for connection_id, endpoint in pairs:
        if endpoint not in routes:
            client = clients.get(endpoint)
            routes[endpoint] = _lean_route(client, endpoint) if client else None
        if clients.get(endpoint) is None:
            outcomes.append(clients.failure(connection_id, endpoint))
            continue
        route = routes[endpoint]
        if route is not None:
            on_lean.append((connection_id, route))
        else:
            on_boto3.append((connection_id, endpoint))
    pending = lean.send_async(on_lean, message, conf.lean_in_flight, retry) if on_lean else None
    if on_boto3:
        outcomes.extend(fan_out(on_boto3, message, clients.get, concurrency, retry))
    if pending is not None:
        outcomes.extend(pending.result())
    return outcomes


def transport_for(endpoint: str, factory: Callable[..., Any] | None = None) -> str:
    """``"lean"`` or ``"boto3"``: which transport :func:`deliver` would use for ``endpoint``."""
    if _patched_factory(factory) is not None or conf.send_transport == "boto3":
        return "boto3"
    client = shared_client(endpoint, conf.send_concurrency)
    return "lean" if _lean_route(client, endpoint) is not None else "boto3"
