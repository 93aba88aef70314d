"""Load and faults through the local gateway, with every part real and in its own process:
WebSocket clients (asyncio, this process) -> local gateway (``runwsgateway``) -> Django
(``runserver``) -> PostgreSQL/MariaDB, and pushes back through the gateway's Management API.

- load: ``WEBSOCKETS_LOAD_CLIENTS`` clients (default 1,000) connect; each sends
  ``WEBSOCKETS_LOAD_CLIENT_MESSAGES`` messages (default 5) that Django answers on the two-way
  route, then Django broadcasts ``WEBSOCKETS_LOAD_BROADCASTS`` messages (default 90) to all of
  them: 1,000 x (2 x 5 + 90) = 100,000 messages, every one accounted for (none lost, none
  twice), and every session row right (user, channel, request count, connected) before and
  after the clients leave;
- Django restarted mid-run: callbacks fail (clients get API Gateway's error frame, handshakes
  are refused), pushes keep working, ``$disconnect``s sent meanwhile are swept into the rows,
  and after the restart everything works again, with no message counted twice;
- the local gateway killed mid-run: the rows of the vanished sockets stay connected until
  ``reconcileWebSocketSessions`` asks the (restarted) gateway, which reports them gone;
- a database outage during a broadcast: the failure reaches the caller, no row is lost or
  changed, and reconciliation repairs what the broadcast could not record.

Needs a database another process can reach (PostgreSQL or MariaDB): skipped on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
)
from tests.support.processes import Process, django_server, local_gateway, shareable_database_url

from .conftest import Browser

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")

CLIENTS = int(os.environ.get("WEBSOCKETS_LOAD_CLIENTS", "1000"))
CLIENT_MESSAGES = int(os.environ.get("WEBSOCKETS_LOAD_CLIENT_MESSAGES", "5"))
BROADCASTS = int(os.environ.get("WEBSOCKETS_LOAD_BROADCASTS", "90"))
ERROR_FRAME = "Internal server error"


@pytest.fixture
def database_url() -> str:
    url = shareable_database_url()
    if url is None:
        pytest.skip("needs PostgreSQL or MariaDB: the processes share the test database")
    return url


@dataclass
class Stack:
    row: ApiGateway
    django: Process
    gateway: Process
    browser: Browser

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.django.port}"

    def url(self, token: str, channel: str = "load") -> str:
        """The connect URL (the row was read when the gateway started: no query here)."""
        base = f"ws://127.0.0.1:{self.gateway.port}/{self.row.api_id}/{self.row.stage_name}"
        return f"{base}?{urlencode({'ws_token': token, 'channel': channel})}"

    def tokens(self, count: int) -> list[str]:
        values = [secrets.token_hex(32) for _ in range(count)]
        key_hash = hash_session_key(self.browser.session_key)  # tokens store the key's hash
        WebSocketToken.objects.bulk_create(
            WebSocketToken(token=v, user=self.browser.user, session_key=key_hash) for v in values
        )
        return values


def make_stack(
    database_url: str, tmp_path: Path, browser: Browser, *gateway_args: str, **fields: Any
) -> Stack:
    django = django_server(database_url, tmp_path)
    row = ApiGateway.objects.create(
        api_name="Load",
        target_base_endpoint=f"http://127.0.0.1:{django.port}/ws/",
        default_channel_name="load",
        secret=ApiGateway.generate_secret(),
        **fields,
    )
    gateway = local_gateway(database_url, tmp_path, django.port, "Load", *gateway_args)
    django.start()
    gateway.start()
    row.refresh_from_db()
    return Stack(row, django, gateway, browser)


@pytest.fixture
def stack(database_url: str, tmp_path: Path, browser: Browser) -> Iterator[Stack]:
    built = make_stack(database_url, tmp_path, browser)
    try:
        yield built
    finally:
        built.gateway.stop()
        built.django.stop()


# -- clients ---------------------------------------------------------------------------------------


@dataclass
class Client:
    index: int
    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)
    closed: int | None = None
    reader: asyncio.Task[None] | None = None

    @property
    def connection_id(self) -> str:
        return self.connection_ids[0]

    connection_ids: list[str] = field(default_factory=list)

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.frames.append(json.loads(raw))
        except ConnectionClosed:
            pass
        self.closed = self.ws.close_code if self.ws.close_code is not None else 1006

    def kinds(self) -> Counter[str]:
        counted: Counter[str] = Counter()
        for frame in self.frames:
            if "echo" in frame:
                counted["echo"] += 1
            elif "b" in frame:
                counted["broadcast"] += 1
            elif frame.get("message") == ERROR_FRAME:
                counted["error"] += 1
            else:
                counted["other"] += 1
        return counted


async def open_clients(stack: Stack, tokens: list[str], concurrency: int = 32) -> list[Client]:
    gate = asyncio.Semaphore(concurrency)
    urls = [stack.url(token) for token in tokens]

    async def one(index: int) -> Client:
        async with gate:
            ws = await connect(
                urls[index],
                additional_headers={"Cookie": stack.browser.cookie},
                origin=stack.origin,  # type: ignore[arg-type]
                open_timeout=60,
                ping_interval=None,
                max_queue=None,
            )
        client = Client(index, ws)
        client.reader = asyncio.create_task(client.read())
        return client

    return list(await asyncio.gather(*(one(i) for i in range(len(tokens)))))


async def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def send_all(clients: list[Client], count: int, tag: str) -> None:
    async def one(client: Client) -> None:
        for k in range(count):
            text = f"{tag}:{client.index}:{k}"
            await client.ws.send(json.dumps({"handler": "echo", "text": text}))

    await asyncio.gather(*(one(c) for c in clients))


def echoes(client: Client, tag: str) -> list[str]:
    return [f["echo"] for f in client.frames if str(f.get("echo", "")).startswith(f"{tag}:")]


class DatabaseThread:
    """Django ORM calls from async code, on one thread (closed at the end)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orm")

    async def __call__(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def close(self) -> None:
        self.pool.submit(connections.close_all).result()
        self.pool.shutdown()


def rows(stack: Stack) -> dict[str, tuple[bool, str, int, int | None]]:
    return {
        cid: (connected, channel, count, user)
        for cid, connected, channel, count, user in WebSocketSession.objects.filter(
            api_gateway=stack.row
        ).values_list("connection_id", "connected", "channel_name", "request_count", "user_id")
    }


def client_ids(stack: Stack, before: set[str]) -> list[str]:
    """The connection ids created since ``before``, oldest first."""
    return list(
        WebSocketSession.objects.filter(api_gateway=stack.row)
        .exclude(connection_id__in=before)
        .order_by("pk")
        .values_list("connection_id", flat=True)
    )


# -- load ------------------------------------------------------------------------------------------


def test_load_clients_messages_and_broadcasts(stack: Stack) -> None:
    tokens = stack.tokens(CLIENTS)
    figures: dict[str, float] = {}
    orm = DatabaseThread()
    user = stack.browser.user.pk

    def broadcast(number: int) -> tuple[int, int, int]:
        result = WebSocketSession.objects.filter(
            api_gateway=stack.row, channel_name="load"
        ).send_message({"b": number})
        return len(result.sent), len(result.gone), len(result.failed)

    def all_disconnected() -> bool:
        return not WebSocketSession.objects.filter(api_gateway=stack.row, connected=True).exists()

    async def scenario() -> list[Client]:
        started = time.monotonic()
        clients = await open_clients(stack, tokens)
        figures["connect_s"] = time.monotonic() - started
        table = await orm(rows, stack)
        assert len(table) == CLIENTS
        assert set(table.values()) == {(True, "load", 1, user)}

        started = time.monotonic()
        await send_all(clients, CLIENT_MESSAGES, "m")
        await wait_until(
            lambda: all(len(echoes(c, "m")) >= CLIENT_MESSAGES for c in clients),
            600,
            "the echoes",
        )
        figures["messages_s"] = time.monotonic() - started

        started = time.monotonic()
        for number in range(BROADCASTS):
            assert await orm(broadcast, number) == (CLIENTS, 0, 0)
        await wait_until(
            lambda: all(c.kinds()["broadcast"] >= BROADCASTS for c in clients), 600, "broadcasts"
        )
        figures["broadcasts_s"] = time.monotonic() - started
        await asyncio.sleep(0.5)  # anything duplicated would arrive now
        table = await orm(rows, stack)
        assert set(table.values()) == {(True, "load", 1 + CLIENT_MESSAGES, user)}

        started = time.monotonic()
        await asyncio.gather(*(c.ws.close() for c in clients))
        deadline = time.monotonic() + 120
        while not await orm(all_disconnected):
            assert time.monotonic() < deadline, "the $disconnects did not all arrive"
            await asyncio.sleep(0.1)
        figures["disconnect_s"] = time.monotonic() - started
        return clients

    try:
        clients = asyncio.run(scenario())
    finally:
        orm.close()
    for client in clients:
        assert sorted(echoes(client, "m")) == sorted(
            f"m:{client.index}:{k}" for k in range(CLIENT_MESSAGES)
        )
        assert [f["b"] for f in client.frames if "b" in f] == list(range(BROADCASTS))
        assert client.kinds() == {"echo": CLIENT_MESSAGES, "broadcast": BROADCASTS}
    assert set(rows(stack).values()) == {(False, "load", 2 + CLIENT_MESSAGES, user)}
    exchanged = CLIENTS * (2 * CLIENT_MESSAGES + BROADCASTS)
    print(
        f"\nload: {CLIENTS} clients, {exchanged} messages; connect {figures['connect_s']:.1f}s, "
        f"{CLIENTS * CLIENT_MESSAGES} client messages answered in {figures['messages_s']:.1f}s, "
        f"{BROADCASTS} broadcasts ({CLIENTS * BROADCASTS} pushes) in "
        f"{figures['broadcasts_s']:.1f}s, disconnects recorded in {figures['disconnect_s']:.1f}s"
    )


# -- Django restarted mid-run ----------------------------------------------------------------------


def test_django_restarted_mid_run(stack: Stack) -> None:
    count, leavers = 40, 5
    tokens = stack.tokens(count + 2)
    orm = DatabaseThread()

    def push(number: int) -> int:
        result = WebSocketSession.objects.filter(api_gateway=stack.row).send_message({"b": number})
        return len(result.sent)

    async def scenario() -> tuple[list[Client], int]:
        # One at a time: the rows' order is the clients' order.
        clients = await open_clients(stack, tokens[:count], concurrency=1)
        await send_all(clients, 3, "before")
        await wait_until(lambda: all(len(echoes(c, "before")) == 3 for c in clients), 60, "echo")

        await orm(stack.django.stop)  # Django goes down
        await send_all(clients, 2, "down")
        await wait_until(
            lambda: all(c.kinds()["error"] == 2 for c in clients), 60, "the error frames"
        )
        with pytest.raises(InvalidStatus) as refused:
            await connect(
                stack.url(tokens[count]),
                additional_headers={"Cookie": stack.browser.cookie},
                origin=stack.origin,  # type: ignore[arg-type]
                open_timeout=30,
            )
        refused_status = refused.value.response.status_code
        # Pushes do not need the Django server: the gateway's Management API serves them.
        assert await orm(push, 1) == count
        await wait_until(lambda: all(c.kinds()["broadcast"] == 1 for c in clients), 30, "push")
        # Clients leaving while Django is down: their $disconnect fails, the gateway sweeps.
        await asyncio.gather(*(c.ws.close() for c in clients[:leavers]))

        await orm(stack.django.start)  # Django is back
        staying = clients[leavers:]
        await send_all(staying, 3, "after")
        await wait_until(lambda: all(len(echoes(c, "after")) == 3 for c in staying), 60, "echo")
        late = await open_clients(stack, tokens[count + 1 :])
        await late[0].ws.close()
        await asyncio.sleep(0.5)
        await asyncio.gather(*(c.ws.close() for c in staying))
        return clients, refused_status

    try:
        clients, refused_status = asyncio.run(scenario())
    finally:
        orm.close()
    assert refused_status >= 500
    ids = client_ids(stack, set())
    for client in clients:
        # Every message got exactly one answer: an echo, or the gateway's error frame.
        kinds = client.kinds()
        answered = 3 + (3 if client.index >= leavers else 0)
        assert kinds["echo"] == answered and kinds["error"] == 2 and kinds["other"] == 0
        assert len(set(echoes(client, "before") + echoes(client, "after"))) == answered
    deadline = time.monotonic() + 30
    while WebSocketSession.objects.filter(connection_id__in=ids, connected=True):
        assert time.monotonic() < deadline, "a $disconnect was neither delivered nor swept"
        time.sleep(0.1)
    table = rows(stack)
    user = stack.browser.user.pk
    # Counted once per message Django answered: failed callbacks never reached it.
    assert [table[i] for i in ids[:leavers]] == [(False, "load", 1 + 3, user)] * leavers
    # The others left at the end, with Django up: one more request each, their $disconnect.
    assert [table[i] for i in ids[leavers:count]] == [(False, "load", 1 + 6 + 1, user)] * (
        count - leavers
    )
    assert table[ids[count]] == (False, "load", 2, user)  # connected after the restart, left


# -- the local gateway killed mid-run ------------------------------------------------------------


def reconcile_command() -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("reconcileWebSocketSessions", "--min-age", "0", stdout=out, stderr=StringIO())
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_gateway_killed_then_reconciled(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    built = make_stack(database_url, tmp_path, browser)
    # api_created: as on AWS, a restarted gateway does not sweep the rows it served.
    ApiGateway.objects.filter(pk=built.row.pk).update(api_created=True)
    built.gateway.stop()
    built.gateway.start()
    count, fresh = 30, 10
    tokens = built.tokens(count + fresh)
    orm = DatabaseThread()

    def still_connected(ids: list[str]) -> int:
        return WebSocketSession.objects.filter(connection_id__in=ids, connected=True).count()

    async def scenario() -> dict[str, Any]:
        clients = await open_clients(built, tokens[:count])
        await send_all(clients, 2, "m")
        await wait_until(lambda: all(len(echoes(c, "m")) == 2 for c in clients), 60, "echo")
        vanished = await orm(client_ids, built, set())
        await orm(built.gateway.kill)
        await wait_until(lambda: all(c.closed is not None for c in clients), 30, "the drop")
        assert {c.closed for c in clients} == {1006}  # dropped, no close frame
        assert await orm(still_connected, vanished) == count  # no $disconnect came

        # The gateway is gone: nothing can be checked, nothing is changed.
        _out, unreachable = await orm(reconcile_command)
        assert await orm(still_connected, vanished) == count

        await orm(built.gateway.start)  # restarted on the same address: it knows no socket
        newcomers = await open_clients(built, tokens[count:])
        started = time.monotonic()
        out, error = await orm(reconcile_command)
        elapsed = time.monotonic() - started
        left = await orm(still_connected, vanished)
        connected = await orm(lambda: WebSocketSession.objects.filter(connected=True).count())
        await asyncio.gather(*(c.ws.close() for c in newcomers))
        return {
            "unreachable": unreachable,
            "out": out,
            "error": error,
            "elapsed": elapsed,
            "left": left,
            "connected": connected,
        }

    try:
        result = asyncio.run(scenario())
    finally:
        orm.close()
        built.gateway.stop()
        built.django.stop()
    unreachable = result["unreachable"]
    assert unreachable is not None and f"{count} session(s) could not be checked" in str(
        unreachable
    )
    assert result["error"] is None, result["out"]
    assert f"checked {count + fresh} connected session(s)" in result["out"]
    assert f"{fresh} alive, {count} gone" in result["out"]
    assert (result["left"], result["connected"]) == (0, fresh)
    print(f"\nreconcile after a killed gateway: {count + fresh} rows in {result['elapsed']:.2f}s")


# -- a database outage during a broadcast ----------------------------------------------------------


def terminate_my_connection_after(seconds: float) -> threading.Thread:
    """Cut this thread's database connection from the server side after ``seconds``."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        statement = f"SELECT pg_terminate_backend({int(pid)})"
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONNECTION_ID()")
            pid = cursor.fetchone()[0]
        statement = f"KILL {int(pid)}"

    def cut() -> None:
        time.sleep(seconds)
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(statement)
        finally:
            other.close()

    thread = threading.Thread(target=cut)
    thread.start()
    return thread


def test_database_outage_during_a_broadcast(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    # Management API calls take 300 ms: the connection is cut while the posts are in flight,
    # after the rows were read and before the gone ones are recorded.
    built = make_stack(database_url, tmp_path, browser, "--latency-ms", "300")
    count, ghosts = 20, 10
    tokens = built.tokens(count)
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"ghost{n:02d}=", api_gateway=built.row)
        for n in range(ghosts)
    )
    orm = DatabaseThread()

    def broadcast_through_an_outage() -> tuple[Any, Any, Any]:
        before = rows(built)
        cutter = terminate_my_connection_after(0.1)
        try:
            WebSocketSession.objects.filter(api_gateway=built.row).send_message({"b": 1})
        except DatabaseError as error:
            reported: Any = error
        else:
            reported = None
        cutter.join()
        connection.close()  # the broken connection; the next query opens a new one
        return before, reported, rows(built)

    async def scenario() -> dict[str, Any]:
        clients = await open_clients(built, tokens)
        before, reported, after = await orm(broadcast_through_an_outage)
        await wait_until(lambda: all(c.kinds()["broadcast"] == 1 for c in clients), 30, "push")
        out, error = await orm(reconcile_command)
        await asyncio.sleep(0.3)
        kinds = [c.kinds() for c in clients]
        await asyncio.gather(*(c.ws.close() for c in clients))
        return {
            "before": before,
            "reported": reported,
            "after": after,
            "out": out,
            "error": error,
            "kinds": kinds,
        }

    try:
        result = asyncio.run(scenario())
    finally:
        orm.close()
        built.gateway.stop()
        built.django.stop()
    assert isinstance(result["reported"], DatabaseError)  # the failure reached the caller
    assert result["after"] == result["before"]  # no row lost, none changed
    assert len(result["before"]) == count + ghosts
    # The posts went out before the failure: every live client has the message, once.
    assert all(k == {"broadcast": 1} for k in result["kinds"])
    # Reconciliation records what the broadcast could not: the ghosts are gone.
    assert result["error"] is None and f"{count} alive, {ghosts} gone" in result["out"]
    print(f"\ndatabase outage during a broadcast: {type(result['reported']).__name__} raised")


# -- reconciliation of thousands of rows over real HTTP -------------------------------------------

RECONCILE_ROWS = int(os.environ.get("WEBSOCKETS_RECONCILE_HTTP_ROWS", "3000"))


def test_reconcile_thousands_of_rows_over_http(
    database_url: str, tmp_path: Path, browser: Browser
) -> None:
    """GetConnection for every row through the gateway's Management API: first all alive
    (benchmark mode's connections without clients), then, the gateway killed and restarted,
    all gone."""
    built = make_stack(
        database_url, tmp_path, browser, "--virtual-connections", str(RECONCILE_ROWS)
    )
    ApiGateway.objects.filter(pk=built.row.pk).update(api_created=True)  # no sweep on restart
    try:
        deadline = time.monotonic() + 60
        while WebSocketSession.objects.filter(connected=True).count() < RECONCILE_ROWS:
            assert time.monotonic() < deadline, "the virtual connections' rows never appeared"
            time.sleep(0.1)
        figures = []
        for expected in ("alive", "gone"):
            started = time.monotonic()
            out, error = reconcile_command()
            figures.append(time.monotonic() - started)
            assert error is None, out
            if expected == "alive":
                assert f"{RECONCILE_ROWS} alive, 0 gone" in out, out
                built.gateway.kill()
                built.gateway.args = [a for a in built.gateway.args if a != "--virtual-connections"]
                built.gateway.args.remove(str(RECONCILE_ROWS))
                built.gateway.start()
            else:
                assert f"0 alive, {RECONCILE_ROWS} gone" in out, out
        assert not WebSocketSession.objects.filter(connected=True).exists()
        print(
            f"\nreconcile over HTTP: {RECONCILE_ROWS} alive rows in {figures[0]:.2f}s "
            f"({RECONCILE_ROWS / figures[0]:.0f}/s), {RECONCILE_ROWS} gone rows in "
            f"{figures[1]:.2f}s ({RECONCILE_ROWS / figures[1]:.0f}/s)"
        )
    finally:
        built.gateway.stop()
        built.django.stop()
