"""Benchmark 3: what the local gateway holds and how fast it turns a message around.

For each N (default 1,000 and 5,000): open N real WebSocket connections to the local gateway
(each ``$connect`` goes to the backend), check they are all still open, read the gateway
process's memory and open file descriptors, then send ``--messages`` frames from randomly chosen
connections, ``--in-flight`` at a time, and time each round trip: client frame -> gateway ->
``$default`` integration -> backend -> the backend's answer as a frame -> client. Prints p50, p99
and max, and compares with a baseline measured in the same run: the same round trips, as many
at once, with only as many connections open as there are round trips in flight.

The backend is a bare aiohttp app (``_stub_backend.py``), so the figures are the gateway's own;
``--backend django`` sends the integrations to gunicorn running ``bench_site`` (PostgreSQL)
instead, which adds Django's time.

    .venv/bin/python bench/gateway_capacity.py --sizes 1000,5000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    BENCH,
    DEFAULT_DATABASE_URL,
    ROOT,
    ensure_database,
    free_port,
    machine,
    percentile,
    setup_django,
    wait_for_port,
)

PYTHON = str(ROOT / ".venv" / "bin" / "python")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--messages", type=int, default=2000, help="round trips per size")
    parser.add_argument("--in-flight", type=int, default=20, help="round trips at once")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--backend", choices=("stub", "django"), default="stub")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    return parser.parse_args()


def process_stats(pid: int) -> tuple[float, int]:
    """(resident MiB, open file descriptors) of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss / 1024, len(os.listdir(f"/proc/{pid}/fd"))


async def open_connections(url: str, n: int, concurrency: int) -> tuple[Any, list[Any], float]:
    import aiohttp

    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=None)
    )
    sockets: list[Any] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            sockets.append(
                await session.ws_connect(
                    url, headers={"Origin": "http://bench.example.com"}, heartbeat=None
                )
            )

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(n)))
    return session, sockets, time.perf_counter() - started


async def round_trips(sockets: list[Any], count: int, in_flight: int) -> list[float]:
    latencies: list[float] = []
    busy: set[int] = set()
    if in_flight > len(sockets):
        raise ValueError("more round trips in flight than connections")
    work = iter(range(count))

    async def worker() -> None:
        for n in work:
            index = random.randrange(len(sockets))
            while index in busy:  # one frame in flight per socket, so replies cannot mix
                index = random.randrange(len(sockets))
            busy.add(index)
            ws = sockets[index]
            payload = json.dumps({"handler": "echo", "n": n})
            started = time.perf_counter()
            await ws.send_str(payload)
            reply = await ws.receive()
            latencies.append(time.perf_counter() - started)
            busy.discard(index)
            if reply.data != payload:
                raise RuntimeError(f"unexpected reply {reply.type} {reply.data!r}")

    await asyncio.gather(*(worker() for _ in range(min(in_flight, len(sockets)))))
    return latencies


async def measure(args: argparse.Namespace, url: str, n: int, gateway_pid: int) -> dict[str, Any]:
    session, sockets, open_seconds = await open_connections(url, n, args.connect_concurrency)
    try:
        await asyncio.sleep(1.0)
        still_open = sum(not ws.closed for ws in sockets)
        rss, fds = process_stats(gateway_pid)
        latencies = await round_trips(sockets, args.messages, args.in_flight)
        still_open = min(still_open, sum(not ws.closed for ws in sockets))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        await session.close()
    return {
        "n": n,
        "open_seconds": open_seconds,
        "open": still_open,
        "gateway_rss_mib": rss,
        "gateway_fds": fds,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
    }


def main() -> None:
    args = parse()
    sizes = [int(s) for s in args.sizes.split(",")]
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    ensure_database(args.database_url)
    setup_django()
    from django.core.management import call_command
    from django.db import connections

    from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

    call_command("migrate", verbosity=0)
    ApiGateway.objects.filter(api_name="capacity").delete()
    backend_port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{BENCH}:{ROOT / 'src'}"}
    if args.backend == "stub":
        backend_cmd = [PYTHON, str(BENCH / "_stub_backend.py"), f"--port={backend_port}"]
    else:
        backend_cmd = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "bench_site.wsgi:application",
            "--workers=2",
            f"--bind=127.0.0.1:{backend_port}",
            "--log-level=warning",
            "--backlog=4096",
        ]
    gateway = ApiGateway.objects.create(
        api_name="capacity",
        api_id="capacity01",
        target_base_endpoint=f"http://127.0.0.1:{backend_port}/ws/",
    )
    connections.close_all()
    gateway_port = free_port()
    backend = subprocess.Popen(backend_cmd, cwd=BENCH, env=env)
    local = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "django_aws_api_gateway_websockets.local_gateway",
            "--api=capacity",
            f"--port={gateway_port}",
            "--connections-per-second=0",
        ],
        cwd=BENCH,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    results = []
    started_load = os.getloadavg()[0]
    try:
        wait_for_port(backend_port)
        wait_for_port(gateway_port, timeout=60)
        url = f"ws://127.0.0.1:{gateway_port}/{gateway.api_id}/production"
        base = asyncio.run(measure(args, url, args.in_flight, local.pid))
        idle_rss, idle_fds = base["gateway_rss_mib"], base["gateway_fds"]
        for n in sizes:
            results.append(asyncio.run(measure(args, url, n, local.pid)))
            print(f"  done: N={n}", file=sys.stderr, flush=True)
    finally:
        local.terminate()
        local.wait(timeout=60)
        backend.terminate()
        backend.wait(timeout=30)
        ApiGateway.objects.filter(pk=gateway.pk).delete()
        WebSocketSession.objects.filter(api_gateway__isnull=True).delete()
    print(f"machine: {machine()} (1-min load at the start: {started_load:.2f})")
    print(
        f"backend: {args.backend}; {args.messages} round trips per size, {args.in_flight} at "
        f"once, from random connections; baseline: the same with {args.in_flight} connections open"
    )
    print(
        f"{'N':>6}{'open':>7}{'open s':>8}{'GW MiB':>8}{'GW fds':>8}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'p50/base':>10}{'p99/base':>10}"
    )
    for r in [base, *results]:
        print(
            f"{r['n']:>6}{r['open']:>7}{r['open_seconds']:>8.2f}{r['gateway_rss_mib']:>8.1f}"
            f"{r['gateway_fds']:>8}{r['p50_ms']:>8.2f}{r['p99_ms']:>8.2f}{r['max_ms']:>8.1f}"
            f"{r['p50_ms'] / base['p50_ms']:>9.2f}x{r['p99_ms'] / base['p99_ms']:>9.2f}x"
        )
    per_connection = [
        (r["gateway_rss_mib"] - idle_rss) * 1024 / (r["n"] - base["n"]) for r in results
    ]
    if per_connection:
        print(
            "gateway memory per held connection: "
            + ", ".join(
                f"{k:.1f} KiB (N={r['n']})" for k, r in zip(per_connection, results, strict=True)
            )
            + f"; with {base['n']} connections: {idle_rss:.1f} MiB, {idle_fds} fds"
        )


if __name__ == "__main__":
    main()
