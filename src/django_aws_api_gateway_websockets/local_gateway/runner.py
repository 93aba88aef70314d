"""Run a :class:`~.server.LocalGateway` on its own event loop in a background thread.

The calling thread stays free for synchronous work (Django's ORM, a test's socket client,
boto3); :meth:`GatewayThread.call` and :meth:`GatewayThread.run` reach into the loop safely.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .server import LocalGateway

T = TypeVar("T")


class GatewayThread:
    """``start()`` listens and returns once the port is known; ``stop()`` closes every socket
    (firing ``$disconnect``), stops listening and ends the thread."""

    def __init__(self, gateway: LocalGateway) -> None:
        self.gateway = gateway
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            raise RuntimeError("already started")
        loop = asyncio.new_event_loop()
        started = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.gateway.start())
            except BaseException as error:
                failure.append(error)
                started.set()
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=main, name="local-gateway", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise RuntimeError("the local gateway did not start in time")
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coroutine`` on the gateway's loop and return its result."""
        if self._loop is None or not self.running:
            coroutine.close()
            raise RuntimeError("the local gateway is not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        return future.result(timeout)

    def call(self, function: Callable[[], T], timeout: float | None = 30.0) -> T:
        """Call ``function`` on the gateway's loop (to read its state safely)."""

        async def wrapper() -> T:
            return function()

        return self.run(wrapper(), timeout)

    def wait_for(self, predicate: Callable[[LocalGateway], bool], timeout: float = 10.0) -> bool:
        """Poll ``predicate(gateway)`` on the loop until it is true; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self.call(lambda: predicate(self.gateway)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def stop(self, timeout: float | None = None) -> None:
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        try:
            if thread.is_alive():
                asyncio.run_coroutine_threadsafe(self.gateway.stop(), loop).result(timeout)
        finally:
            if thread.is_alive():
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._loop = None
            self._thread = None
