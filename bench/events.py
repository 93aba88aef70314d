"""Benchmark 2: event handling through gunicorn on PostgreSQL.

``$connect``, message and ``$disconnect`` callbacks, exactly as API Gateway sends them (headers
from ``testing.callback_headers``), posted by a blocking-socket client (threads, requests built
before the clock starts) to gunicorn sync workers running ``bench_site``, in the same run:

- the package's ``WebSocketView`` (``/ws/...``);
- the existing package itself, 4.0.0 (its wheel, unpacked apart from ours, ``_legacy.py``), the
  same ``bench_site`` served by its own gunicorn on its own database;
- a naive implementation of the contract (``/naive/...``, ``bench_site/views.py``);
- the floor: a bare view running one raw ``UPDATE … RETURNING`` (``/floor-sql/``), and one
  running no query (``/floor-none/``), measured with message callbacks; and ``$connect``'s: a
  bare view running the two statements of ours for a rate-limited ``$connect`` as raw SQL
  (``/floor-connect/``), measured with ``$connect`` callbacks.

Prints callbacks per second, ours ÷ 4.0.0 and ours ÷ floor per event kind, data statements per
event, the gunicorn workers' CPU per callback and their PostgreSQL backends' (µs, from /proc), and
the load generator's own CPU. Every callback must answer 200, and the rows ``$connect`` and
``$disconnect`` leave are checked for both packages.

    scripts/postgres.sh start
    .venv/bin/python bench/events.py --events 3000 --workers 2 --concurrency 8
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import _legacy
from _common import (
    BENCH,
    DEFAULT_DATABASE_URL,
    ROOT,
    ensure_database,
    free_port,
    machine,
    process_cpu_seconds,
    setup_django,
    wait_for_port,
)

EVENTS = ("connect", "message", "disconnect")
HOST = "bench.example.com"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000, help="callbacks per event type")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=8, help="callbacks in flight")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds; best is kept")
    parser.add_argument(
        "--gateway-cache-seconds",
        type=float,
        default=5,
        help='the package\'s WEBSOCKETS["gateway_cache_seconds"] (0: off)',
    )
    parser.add_argument(
        "--server-side-binding",
        action="store_true",
        help="both sites with Django's server_side_binding option and prepare_threshold 5: "
        "psycopg binds on the server and prepares the statements a connection runs often "
        "(PostgreSQL then skips parsing and planning them)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> Any:
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    os.environ["BENCH_GATEWAY_CACHE_SECONDS"] = str(args.gateway_cache_seconds)
    os.environ["BENCH_SERVER_SIDE_BINDING"] = "1" if args.server_side_binding else "0"
    ensure_database(args.database_url)
    setup_django()
    from django.core.management import call_command

    from django_aws_api_gateway_websockets.models import (
        ApiGateway,
        ConnectionRateLimit,
        WebSocketSession,
    )

    call_command("migrate", verbosity=0)
    WebSocketSession.objects.all().delete()
    ConnectionRateLimit.objects.all().delete()
    ApiGateway.objects.filter(api_name="bench").delete()
    return ApiGateway.objects.create(
        api_name="bench",
        api_id="benchapi01",
        secret="bench-secret",
        target_base_endpoint=f"https://{HOST}/ws/",
        default_channel_name="lobby",
    )


def headers_for(gateway: Any, event: str, connection_id: str) -> dict[str, str]:
    from django_aws_api_gateway_websockets.testing import callback_headers

    ip = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    headers = callback_headers(gateway, connection_id, event=event, client_ip=ip, host=HOST)
    if event == "connect":
        headers["Cookie"] = "bench=1"
    return headers


def body_for(event: str, n: int) -> bytes:
    return b"" if event != "message" else f'{{"handler": "echo", "n": {n}}}'.encode()


def queries_per_event(gateway: Any) -> dict[tuple[str, str], int]:
    """Data statements of one callback of each kind, for both backends (Django test client in
    this process, same database)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from django_aws_api_gateway_websockets.testing import new_connection_id

    bookkeeping = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")
    client = Client()
    counts: dict[tuple[str, str], int] = {}
    for prefix in ("ws", "naive"):
        connection_id = new_connection_id()
        for n, event in enumerate(EVENTS):
            slug = "default" if event == "message" else event
            headers = headers_for(gateway, event, connection_id)
            headers["Content-Length"] = str(len(body_for(event, n)))
            with CaptureQueriesContext(connection) as ctx:
                response = client.post(
                    f"/{prefix}/{slug}",
                    data=body_for(event, n),
                    content_type="application/json",
                    headers=headers,
                )
            assert response.status_code == 200, (prefix, event, response.content)
            counts[prefix, event] = sum(
                not q["sql"].lstrip().upper().startswith(bookkeeping) for q in ctx.captured_queries
            )
    return counts


def worker_cpu_seconds(master: int) -> float:
    """User + system CPU of the gunicorn master's worker processes so far."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sum(process_cpu_seconds(int(pid)) for pid in children)


def database_backends(database_url: str) -> dict[int, float]:
    """The PostgreSQL backends serving ``database_url`` (the gunicorn workers' connections,
    kept open by ``CONN_MAX_AGE``) and their CPU so far."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        pids = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return {pid: process_cpu_seconds(pid) for (pid,) in pids}


def serve(port: int, workers: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "bench_site.wsgi:application",
            f"--workers={workers}",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
            "--backlog=2048",
        ],
        cwd=BENCH,
        env=env,
    )


def raw_request(path: str, headers: dict[str, str], body: bytes) -> bytes:
    """One callback as bytes on the wire (HTTP/1.1; gunicorn's sync workers close after it)."""
    lines = [f"POST {path} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + body


def post(port: int, request: bytes) -> bytes:
    """Send one prebuilt callback and read the whole answer (the worker closes the socket)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def load(
    port: int, gateway: Any, prefix: str, event: str, ids: list[str], concurrency: int
) -> tuple[float, float]:
    """Post one ``event`` callback per id, ``concurrency`` at a time; (callbacks per second,
    the load generator's own CPU per callback in µs).

    The callbacks are built before the clock starts, and each of ``concurrency`` threads posts
    its share with a blocking socket, so the client takes as little of the 2 cores as it can
    (its CPU per callback is printed). Every answer must be a 200, or the run fails."""
    slug = "default" if event == "message" else event
    path = f"/{prefix}/{slug}"
    requests = [
        raw_request(path, headers_for(gateway, event, cid), body_for(event, n))
        for n, cid in enumerate(ids)
    ]
    failures: list[str] = []

    def worker(share: list[bytes]) -> None:
        for request in share:
            answer = post(port, request)
            if not answer.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 ")):
                failures.append(answer[:300].decode("latin-1"))

    threads = [
        threading.Thread(target=worker, args=(requests[k::concurrency],))
        for k in range(concurrency)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if failures:
        raise RuntimeError(f"{len(failures)} callbacks failed, e.g. {failures[0]}")
    return len(ids) / elapsed, cpu / len(ids) * 1e6


#: What each event leaves in the sessions table, checked on every backend after its run.
EXPECTED_ROWS = {"connect": True, "disconnect": False}


#: Old ``$connect`` attempts each database starts with: two days of a site taking about one
#: ``$connect`` a second (``cleanupWebSocketTokens --rate-limit-age`` keeps days of them).
HISTORY_ATTEMPTS = 150_000


def settle(database_url: str) -> None:
    """Give a freshly emptied database the shape of a running site's, for both packages alike:
    two days of old ``$connect`` attempts (outside every rate-limit window), then ``ANALYZE``.
    Statistics gathered on empty tables make PostgreSQL count an IP's recent attempts by
    reading the whole table (a sequential scan, growing with every attempt of the run) until
    autovacuum re-analyses it, a transient no running site stays in."""
    import psycopg

    table = "django_aws_api_gateway_websockets_connectionratelimit"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {table} (ip_address, attempt_time, successful) "
            "SELECT ('10.0.0.0'::inet + (n * 7919) %% 16777216), "
            "now() - interval '1 hour' - n * interval '1 second', true "
            "FROM generate_series(1, %s) AS n",
            (HISTORY_ATTEMPTS,),
        )
        conn.execute("ANALYZE")


def verify_rows(database_url: str, ids: list[str], event: str) -> None:
    """Every callback of the run left its row: after ``$connect`` a connected row per id,
    after ``$disconnect`` none of them connected (messages change no column 4.0.0 shares)."""
    import psycopg

    if event not in EXPECTED_ROWS:
        return
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT count(*) FROM django_aws_api_gateway_websockets_websocketsession "
            "WHERE connection_id = ANY(%s) AND connected = %s",
            (ids, EXPECTED_ROWS[event]),
        ).fetchone()
    if found is None or found[0] != len(ids):
        raise RuntimeError(f"{event}: {found} rows as expected, not {len(ids)} ({database_url})")


#: (label, server, URL prefix); the floors are measured with message callbacks only, but
#: floor-connect with ``$connect`` callbacks.
BACKENDS = (
    ("4.0.0", "legacy", "ws"),
    ("package", "ours", "ws"),
    ("naive", "ours", "naive"),
    ("floor-sql", "ours", "floor-sql"),
    ("floor-none", "ours", "floor-none"),
    ("floor-connect", "ours", "floor-connect"),
)
FLOOR_KINDS = {"floor-connect": ("connect",)}


def main() -> None:
    args = parse()
    gateway = prepare(args)
    from django.db import connections

    from django_aws_api_gateway_websockets.testing import new_connection_id

    queries = queries_per_event(gateway)
    connections.close_all()
    legacy_url, legacy_env = _legacy.prepare(args.database_url, gateway.api_id, HOST)
    urls = {"ours": args.database_url, "legacy": legacy_url}
    for url in urls.values():
        settle(url)
    ports = {"ours": free_port(), "legacy": free_port()}
    ours_env = {**os.environ, "PYTHONPATH": f"{BENCH}:{ROOT / 'src'}"}
    servers = {
        "ours": serve(ports["ours"], args.workers, ours_env),
        "legacy": serve(ports["legacy"], args.workers, legacy_env),
    }
    best: dict[tuple[str, str], float] = {}
    cpu: dict[tuple[str, str], float] = {}
    client_cpu: list[float] = []
    pg_cpu: dict[tuple[str, str], float] = {}
    try:
        for port in ports.values():
            wait_for_port(port)
        started_load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for label, server, prefix in BACKENDS:
                ids = [new_connection_id() for _ in range(args.events)]
                floor = label.startswith("floor")
                kinds = FLOOR_KINDS.get(label, ("message",)) if floor else EVENTS
                for event in kinds:
                    master = servers[server].pid
                    before, backends = worker_cpu_seconds(master), database_backends(urls[server])
                    rate, client = load(
                        ports[server], gateway, prefix, event, ids, args.concurrency
                    )
                    used = (worker_cpu_seconds(master) - before) / args.events * 1e6
                    after = database_backends(urls[server])
                    database = sum(cpu - backends.get(pid, 0.0) for pid, cpu in after.items())
                    if not label.startswith("floor") or label in FLOOR_KINDS:
                        verify_rows(urls[server], ids, event)
                    if rate > best.get((label, event), 0.0):
                        best[label, event], cpu[label, event] = rate, used
                        pg_cpu[label, event] = database / args.events * 1e6
                    client_cpu.append(client)
    finally:
        for process in servers.values():
            process.send_signal(signal.SIGTERM)
        for process in servers.values():
            process.wait(timeout=30)
    floor_sql, floor_none = best["floor-sql", "message"], best["floor-none", "message"]
    print(f"machine: {machine()} (1-min load when the load started: {started_load:.2f})")
    print(
        f"gunicorn {args.workers} sync workers each, PostgreSQL, {args.events} callbacks per "
        f"event type, {args.concurrency} in flight, best of {args.rounds} rounds, "
        f"gateway_cache_seconds={args.gateway_cache_seconds:g}, server_side_binding="
        f"{args.server_side_binding}; the load generator's CPU "
        f"{min(client_cpu):.0f} to {max(client_cpu):.0f} µs per callback"
    )
    print(
        f"floor: one raw UPDATE … RETURNING {floor_sql:.0f}/s "
        f"({cpu['floor-sql', 'message']:.0f} µs CPU), no query {floor_none:.0f}/s "
        f"({cpu['floor-none', 'message']:.0f} µs CPU)"
    )
    floor_connect, theirs_connect = best["floor-connect", "connect"], best["4.0.0", "connect"]
    print(
        f"$connect's floor: our two INSERTs from a bare view {floor_connect:.0f}/s "
        f"({cpu['floor-connect', 'connect']:.0f} µs CPU + {pg_cpu['floor-connect', 'connect']:.0f}"
        f" µs PostgreSQL); ours ÷ it {best['package', 'connect'] / floor_connect:.2f}x, "
        f"4.0.0 ÷ it {theirs_connect / floor_connect:.2f}x (3x 4.0.0 would be "
        f"{3 * theirs_connect / floor_connect:.0%} of it)"
    )
    head = (
        f"{'event':<11}{'ours/s':>8}{'4.0.0/s':>9}{'÷4.0.0':>8}{'naive/s':>9}"
        f"{'÷floor1':>9}{'÷floor0':>9}{'stmts':>7}{'naive':>7}{'µs ours':>9}{'µs 4.0.0':>10}"
    )
    print(head)
    for event in EVENTS:
        ours, theirs = best["package", event], best["4.0.0", event]
        print(
            f"{event:<11}{ours:>8.0f}{theirs:>9.0f}{ours / theirs:>7.2f}x"
            f"{best['naive', event]:>9.0f}{ours / floor_sql:>8.2f}x{ours / floor_none:>8.2f}x"
            f"{queries['ws', event]:>7}{queries['naive', event]:>7}"
            f"{cpu['package', event]:>9.0f}{cpu['4.0.0', event]:>10.0f}"
        )
    print("CPU per callback, µs: the gunicorn workers + their PostgreSQL backends")
    print(f"{'event':<11}{'ours':>14}{'4.0.0':>16}{'÷ workers':>11}{'÷ both':>9}")
    rows = [(event, "package", "4.0.0") for event in EVENTS]
    rows += [("floor1", "floor-sql", ""), ("floor0", "floor-none", "")]
    rows += [("floor2", "floor-connect", "")]
    for event, ours_label, theirs_label in rows:
        kind = event if event in EVENTS else FLOOR_KINDS.get(ours_label, ("message",))[0]
        mine = (cpu[ours_label, kind], pg_cpu[ours_label, kind])
        line = f"{event:<11}{mine[0]:>7.0f} +{mine[1]:>5.0f}"
        if theirs_label:
            theirs_cpu = (cpu[theirs_label, kind], pg_cpu[theirs_label, kind])
            line += f"{theirs_cpu[0]:>9.0f} +{theirs_cpu[1]:>5.0f}"
            line += f"{theirs_cpu[0] / mine[0]:>10.2f}x{sum(theirs_cpu) / sum(mine):>8.2f}x"
        print(line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
