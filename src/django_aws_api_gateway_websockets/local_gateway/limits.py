"""The limits and timeouts of the local gateway, with API Gateway's defaults, the rate
window that enforces its per-second limits, and the timer of the injected latency."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .log import logger

KIB = 1024


@dataclass(frozen=True)
class Limits:
    """Every limit is configurable so that tests can use small values.

    Times are in seconds. ``0`` disables a rate limit.
    """

    #: A client frame larger than this closes the connection with 1009 (AWS: 32 KB).
    max_frame_bytes: int = 32 * KIB
    #: A client message (all frames of it) larger than this closes with 1009 (AWS: 128 KB).
    max_message_bytes: int = 128 * KIB
    #: No frame from the client for this long: close with 1001 (AWS: 10 minutes).
    idle_timeout: float = 600.0
    #: Connections are closed with 1001 after this long (AWS: 2 hours).
    max_connection_age: float = 7200.0
    #: Overrides every integration's own timeout (AWS: 29 s, from ``routes.py``) when set.
    integration_timeout: float | None = None
    #: New connections accepted per second; beyond it the handshake gets 429 (AWS: 500).
    connections_per_second: int = 500
    #: Management API calls per second; beyond it 429 ``LimitExceededException`` (0: no limit).
    management_requests_per_second: int = 0
    #: Injected delay before every Management API call, imitating the round trip to AWS.
    management_latency_ms: float = 0.0
    #: The largest PostToConnection body (AWS: 128 KB); larger ones get 413.
    max_post_bytes: int = 128 * KIB
    #: Bytes queued for a client beyond which PostToConnection answers 429.
    max_client_buffer_bytes: int = 1024 * KIB
    #: How long a closing handshake may take before the socket is dropped.
    close_timeout: float = 5.0
    #: Integration requests in flight at once (0: no limit); the others wait their turn, and
    #: the integration timeout starts when one's turn comes. AWS has no such limit, but
    #: Django's development server has a listen backlog of 10: a burst of more requests gets
    #: refused connections (``Internal server error`` frames). A single-threaded backend, or
    #: an in-memory SQLite test database, wants 1; gunicorn with many workers may want more.
    backend_concurrency: int = 8
    #: After answering a slow ``$connect`` with 504, how long the gateway still waits for
    #: Django's answer before sending that connection's ``$disconnect`` anyway.
    abandoned_connect_wait: float = 30.0
    #: Fault injection: never send ``$disconnect`` (API Gateway's is best effort), so stale
    #: session rows and presence members can be tested. Each dropped one is an event
    #: ``disconnect_dropped``.
    drop_disconnect: bool = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is not None and value < 0:
                raise ValueError(f"{f.name} must not be negative")
        for name in ("max_frame_bytes", "max_message_bytes", "idle_timeout", "max_connection_age"):
            if not getattr(self, name):
                raise ValueError(f"{name} must be positive")

    def replace(self, **changes: Any) -> Limits:
        """A copy with ``changes`` applied (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


class RateWindow:
    """At most ``limit`` events in any second (0: unlimited), by ``clock`` (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._times: deque[float] = deque()
        self._clock = clock

    def admit(self, limit: int) -> bool:
        if not limit:
            return True
        now = self._clock()
        while self._times and now - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= limit:
            return False
        self._times.append(now)
        return True


class LatencyTimer:
    """Callbacks after a fixed injected latency that share one loop timer per millisecond.

    A broadcast starts hundreds of Management API calls within the same millisecond; a timer
    each cost a timer object and two heap operations per call. Here each callback runs on the
    first millisecond tick at or after its deadline (never early, at most a millisecond late),
    in the order they were scheduled within a tick.
    """

    def __init__(self) -> None:
        self._ticks: dict[int, list[Callable[[], object]]] = {}

    def call_later(self, seconds: float, callback: Callable[[], object]) -> None:
        """Run ``callback`` ``seconds`` from now (to the next millisecond), in the running loop."""
        loop = asyncio.get_running_loop()
        tick = math.ceil((loop.time() + seconds) * 1000)
        callbacks = self._ticks.get(tick)
        if callbacks is None:
            self._ticks[tick] = [callback]
            loop.call_at(tick / 1000, self._release, tick)
        else:
            callbacks.append(callback)

    def wait(self, seconds: float) -> asyncio.Future[None]:
        """A future that is done ``seconds`` from now; cancelling it leaves the others alone."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def release() -> None:
            if not waiter.done():
                waiter.set_result(None)

        self.call_later(seconds, release)
        return waiter

    def _release(self, tick: int) -> None:
        for callback in self._ticks.pop(tick, ()):
            try:
                callback()
            except Exception:  # one failing callback must not strand the rest of its tick
                logger.exception("A Management API answer failed after its latency")
