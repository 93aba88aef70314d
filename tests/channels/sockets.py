"""Real-socket clients of the channels end-to-end tests: a logged-in browser's tokens and
cookie, request/answer over a socket, and a subscriber that renews its connection the way the
shipped client does (make-before-break, re-subscribing with ``since``) and drops duplicate
offsets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from django import db
from django.contrib.auth import get_user_model
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from django_aws_api_gateway_websockets.models import WebSocketToken


class Browser:
    """A logged-in user's browser: its session cookie, and tokens made in advance (so that a
    client thread never touches the database: the in-memory SQLite test database is one
    connection, shared with the live server only)."""

    def __init__(self, username: str) -> None:
        self.user = get_user_model().objects.create_user(username, password="pw")
        client = Client()
        client.force_login(self.user)
        self.session_key = client.cookies["sessionid"].value
        self._tokens: list[str] = []

    def token(self) -> str:
        return WebSocketToken.generate_token(self.user, self.session_key).token

    def stock(self, count: int) -> Browser:
        """Make ``count`` tokens now for :meth:`connect` to use later."""
        self._tokens += [self.token() for _ in range(count)]
        return self

    def connect(self, url: Callable[[str], str], origin: str) -> ClientConnection:
        """A socket to ``url(token)``, with a stocked token (or a new one if none is left)."""
        if self._tokens:
            token = self._tokens.pop()
        else:  # PostgreSQL/MariaDB: this thread's own connection, closed at once
            token = self.token()
            if threading.current_thread() is not threading.main_thread():
                db.connection.close()
        ws = connect(
            url(token),
            additional_headers={"Cookie": f"sessionid={self.session_key}"},
            origin=origin,
            open_timeout=30,
        )
        # Entered as a context would be (websockets 17 deprecates using it otherwise); the
        # caller closes it.
        return ws.__enter__()

    def open(self, local_gateway: Any, gateway: Any) -> ClientConnection:
        return self.connect(lambda t: local_gateway.url(gateway, ws_token=t), local_gateway.origin)


def ask(ws: ClientConnection, body: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(body))
    return json.loads(ws.recv(timeout=30))


def received(ws: ClientConnection, timeout: float = 1.0) -> list[dict[str, Any]]:
    """Every frame that arrives until none has for ``timeout`` seconds."""
    frames = []
    while True:
        try:
            frames.append(json.loads(ws.recv(timeout=timeout)))
        except (TimeoutError, ConnectionClosed):
            return frames


def wait_until(condition: Callable[[], Any], timeout: float, what: str | Callable[[], str]) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` (or what it returns) after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what if isinstance(what, str) else what()}"
            )
        time.sleep(0.05)


class Background:
    """Runs :meth:`work` in a thread from :meth:`start` until :meth:`stop`, which fails when
    :meth:`work` raised. :attr:`_stop` is set when it should end."""

    errors: list[BaseException]
    _stop: threading.Event
    _thread: threading.Thread | None = None

    def work(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        self.errors, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._guarded, name=type(self).__name__)
        self._thread.start()
        return self

    def _guarded(self) -> None:
        try:
            self.work()
        except BaseException as error:  # reported by stop()
            self.errors.append(error)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(60)
        if self.errors:
            raise AssertionError(f"{self!r} failed: {self.errors[0]!r}") from self.errors[0]


@dataclass
class Subscriber(Background):
    """Keeps one channel subscribed across connections until :meth:`stop`.

    ``renew_after`` seconds into a connection (``None``: never) it opens the next one,
    subscribes it with ``since`` = the last offset seen, and only then closes the old one
    (make-before-break, as the shipped client does before API Gateway's 2-hour limit). A
    connection the gateway closes first is replaced and re-subscribed with ``since`` too.
    Publications are kept by offset: a duplicate (the overlap of two connections, or a
    recovery repeating a live frame) is counted and dropped; one whose data differs is kept in
    :attr:`conflicts`.
    """

    open_socket: Callable[[], ClientConnection]
    channel: str
    renew_after: float | None = None
    data: dict[int, Any] = field(default_factory=dict)
    epoch: str | None = None
    duplicates: int = 0
    conflicts: list[tuple[int, Any, Any]] = field(default_factory=list)
    unrecovered: int = 0
    connections: int = 0
    renewals: int = 0
    forced: int = 0
    others: list[dict[str, Any]] = field(default_factory=list)

    @property
    def last(self) -> int:
        return max(self.data, default=0)

    def __repr__(self) -> str:
        return (
            f"<Subscriber {self.channel}: {len(self.data)} kept, last {self.last}, "
            f"{self.connections} connections, {self.renewals} renewals, {self.forced} closed, "
            f"{self.duplicates} duplicates>"
        )

    def work(self) -> None:
        current = self._open()
        opened = time.monotonic()
        while not self._stop.is_set():
            if self.renew_after is not None and time.monotonic() - opened > self.renew_after:
                following = self._open()  # make ...
                self._drain(current)
                current.close()  # ... before break
                current, opened = following, time.monotonic()
                self.renewals += 1
                continue
            try:
                self._take(json.loads(current.recv(timeout=0.1)))
            except TimeoutError:
                continue
            except ConnectionClosed:
                self.forced += 1
                current, opened = self._open(), time.monotonic()
        self._drain(current)
        current.close()

    def _open(self) -> ClientConnection:
        """A new connection, subscribed (recovering from the last offset seen); retried while
        the gateway refuses it or Django fails the subscribe (the backend restarting)."""
        deadline = time.monotonic() + 90
        while True:
            ws = reconnect(self.open_socket, deadline)
            try:
                if self._subscribe(ws):
                    return ws
            except ConnectionClosed:
                pass
            ws.close()
            if time.monotonic() > deadline:
                raise AssertionError("could not subscribe again")
            time.sleep(0.2)

    def _subscribe(self, ws: ClientConnection) -> bool:
        self.connections += 1
        item: dict[str, Any] = {"channel": self.channel}
        if self.epoch is not None:
            item["since"] = {"offset": self.last, "epoch": self.epoch}
        ws.send(json.dumps({"handler": "subscribe", "channels": [item]}))
        while True:  # publications may arrive before the answer: keep them
            frame = json.loads(ws.recv(timeout=30))
            if frame.get("type") == "subscribed":
                break
            if "message" in frame and "type" not in frame:  # API Gateway's error frame
                self.others.append(frame)
                return False
            self._take(frame)
        [entry] = frame["channels"]
        if "since" in item and not entry.get("recovered"):
            self.unrecovered += 1
        self.epoch = entry["epoch"]
        for publication in entry.get("publications", []):
            self._keep(publication["offset"], publication["data"])
        return True

    def _drain(self, ws: ClientConnection) -> None:
        while True:
            try:
                self._take(json.loads(ws.recv(timeout=0)))
            except (TimeoutError, ConnectionClosed):
                return

    def _take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "publication" and frame.get("channel") == self.channel:
            assert frame["epoch"] == self.epoch, frame
            self._keep(frame["offset"], frame["data"])
        else:
            self.others.append(frame)

    def _keep(self, offset: int, data: Any) -> None:
        if offset in self.data:
            self.duplicates += 1
            if self.data[offset] != data:
                self.conflicts.append((offset, self.data[offset], data))
            return
        self.data[offset] = data


def reconnect(open_socket: Callable[[], ClientConnection], deadline: float) -> ClientConnection:
    """``open_socket()``, retried while the handshake is refused (the backend restarting, the
    gateway's connection rate limit) until ``deadline`` (``time.monotonic()``)."""
    while True:
        try:
            return open_socket()
        except (InvalidStatus, OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass
class Publisher(Background):
    """Publishes ``{"n": 1}``, ``{"n": 2}``, ... to ``channel`` through Django (the
    ``publish`` handler of :mod:`.e2e_views`), one at a time, until :meth:`stop`. A message
    whose answer is an error frame, or whose connection closes, is not retried (it may or may
    not have been published); the next goes on a new connection."""

    open_socket: Callable[[], ClientConnection]
    channel: str
    interval: float = 0.02
    acknowledged: dict[int, Any] = field(default_factory=dict)
    failed: int = 0

    @property
    def count(self) -> int:
        return len(self.acknowledged)

    def __repr__(self) -> str:
        return f"<Publisher: {self.count} published, {self.failed} failed>"

    def work(self) -> None:
        n = 0
        ws = reconnect(self.open_socket, time.monotonic() + 90)
        while not self._stop.is_set():
            n += 1
            data = {"n": n}
            body = {"handler": "publish", "channel": self.channel, "data": data}
            try:
                answer = ask(ws, body)
            except ConnectionClosed:
                answer = {}
            if "published" in answer:
                self.acknowledged[answer["published"]] = data
                self._stop.wait(self.interval)
                continue
            self.failed += 1
            ws.close()
            time.sleep(0.1)
            ws = reconnect(self.open_socket, time.monotonic() + 90)
        ws.close()
