"""The lean transport's event loop: one asyncio loop in a daemon thread per process.

The caller of ``send_message`` can be any synchronous code (a Django view, a management
command, a worker) and never needs a running loop of its own: the posts are coroutines
submitted to this loop, which also owns the connection pools. The loop starts on first use and
again in a child after ``fork()`` (the child has the parent's loop object but not its thread);
:func:`shutdown` closes every kept-alive connection and stops it (registered with
:mod:`atexit`). Under gevent or eventlet (:func:`green_threads`) the thread would be a greenlet,
so the boto3 transport is used instead.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import sys
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .http import IDLE_TIMEOUT, Pool
from .route import LeanRoute

T = TypeVar("T")


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


class Runner:
    """An event loop in a daemon thread, with the connection pools that live on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pools: dict[tuple[Any, ...], Pool] = {}
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

    def pool(self, route: LeanRoute, limit: int) -> Pool:
        key = (*route.origin, limit)
        pool = self.pools.get(key)
        if pool is None:
            pool = self.pools[key] = Pool(self.loop, route, limit)
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
        return sum(pool.open_connections() for pool in self.pools.values())


_runner: Runner | None = None
_runner_pid = 0
_runner_lock = threading.Lock()
_orphans: list[Runner] = []


def runner() -> Runner:
    """The process's lean-transport loop, started on first use (and again after a fork)."""
    global _runner, _runner_pid
    with _runner_lock:
        if _runner is None or _runner_pid != os.getpid():
            _runner = Runner()
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
