"""Benchmark: one broadcast to N connections spread over a fleet of task workers.

``send_message_later`` with ``WEBSOCKETS["broadcast_dispatcher"]`` set to the package's Django
task (``messaging.tasks.enqueue``) splits the broadcast into chunks of ``broadcast_chunk_size``
primary keys, one task each; W ``db_worker`` processes (django-tasks-db, PostgreSQL) run them and
post through the lean transport to the local gateway in its benchmark mode (``--virtual-
connections``: sessions registered without sockets, ``--latency-ms`` on every @connections call;
each N has its own channel of N sessions, as in fanout.py).

Reported per W: the wall time from the enqueue to the last chunk finished, posts/s, the workers'
CPU per post (summed over the fleet), and each worker's peak RSS (``VmHWM``), measured for two N
to show it does not grow with N (a worker holds one chunk at a time). The gateway is a process
on the same cores, so with 2 cores the fleet cannot scale past what is left of them: the report
says how many cores there are and the projection uses CPU per post, not wall time.

    scripts/postgres.sh start
    .venv/bin/python bench/fleet.py --sizes 20000,100000 --workers 1,2,4
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BENCH, ROOT, ensure_database, machine, process_cpu_seconds, setup_django
from fanout import PYTHON, channel, virtual_gateway

DEFAULT_DATABASE_URL = "postgresql://wsuser:wspass@127.0.0.1:54329/wsbench_fleet"
#: API Gateway's default throttle quota per account and Region, shared by the @connections
#: calls ("WebSocket callback APIs"): https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
ACCOUNT_POSTS_PER_S = 10_000
DISPATCHER = "django_aws_api_gateway_websockets.messaging.tasks.enqueue"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    return parser.parse_args()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    command = [PYTHON, "-m", "django", "db_worker", "--interval", "0.05"]
    command += ["--no-startup-delay", "--no-reload", "--verbosity", "0"]
    return [
        subprocess.Popen(command, env=env, cwd=BENCH, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def run(n: int, workers: int, args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connections
    from django.test import override_settings
    from django_tasks_db.models import DBTaskResult

    from django_aws_api_gateway_websockets.models import WebSocketSession

    DBTaskResult.objects.all().delete()
    env = {
        **os.environ,
        "PYTHONPATH": f"{BENCH}:{ROOT / 'src'}",
        "DJANGO_SETTINGS_MODULE": "bench_site.fleet_settings",
    }
    fleet = start_workers(workers, env)
    time.sleep(3)  # the workers import Django and start polling
    cpu_before = sum(process_cpu_seconds(p.pid) for p in fleet)
    sessions = WebSocketSession.objects.filter(channel_name=channel(n))
    settings = {"broadcast_dispatcher": DISPATCHER, "broadcast_chunk_size": args.chunk}
    started = time.perf_counter()
    with override_settings(WEBSOCKETS=settings):
        chunks = len(sessions.send_message_later({"type": "fleet", "n": n}))
    results = DBTaskResult.objects.filter(status__in=["SUCCESSFUL", "FAILED"])
    while results.count() < chunks:
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    cpu = sum(process_cpu_seconds(p.pid) for p in fleet) - cpu_before
    peaks = [peak_rss_mib(p.pid) for p in fleet]
    for process in fleet:
        process.terminate()
    for process in fleet:
        process.wait(timeout=30)
    done = list(results.values_list("status", "return_value"))
    sent = sum(value["sent"] for status, value in done if status == "SUCCESSFUL")
    if sent != n:
        raise RuntimeError(f"N={n} W={workers}: sent {sent} of {n} ({done[:3]})")
    connections.close_all()
    return {
        "n": n,
        "workers": workers,
        "chunks": chunks,
        "seconds": seconds,
        "posts_per_s": n / seconds,
        "cpu_us_per_post": cpu / n * 1e6,
        "peak_rss_mib": max(peaks),
    }


def main() -> None:
    args = parse()
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = [int(w) for w in args.workers.split(",")]
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    ensure_database(args.database_url)
    setup_django("bench_site.fleet_settings")
    rows = []
    with virtual_gateway("local", args.latency_ms, sizes) as target:
        started_load = os.getloadavg()[0]
        for n in sizes:
            for w in counts if n == max(sizes) else counts[:1]:
                gateway_cpu = target.cpu_seconds()
                row = run(n, w, args)
                row["gateway_us_per_post"] = (target.cpu_seconds() - gateway_cpu) / n * 1e6
                rows.append(row)
                print(f"  done: N={n} W={w}: {row['seconds']:.1f} s", file=sys.stderr, flush=True)
    report(args, rows, started_load)


def report(args: argparse.Namespace, rows: list[dict[str, Any]], started_load: float) -> None:
    print(f"machine: {machine()} (1-min load at the start: {started_load:.2f})")
    print(
        f"local gateway with {args.latency_ms:g} ms injected latency per call; chunks of "
        f"{args.chunk}; db_worker processes (django-tasks-db) on PostgreSQL"
    )
    print(
        f"{'N':>7} {'workers':>7} {'chunks':>6} {'seconds':>8} {'posts/s':>8} "
        f"{'worker CPU us/post':>18} {'gateway us/post':>15} {'peak RSS MiB/worker':>19}"
    )
    for r in rows:
        print(
            f"{r['n']:>7} {r['workers']:>7} {r['chunks']:>6} {r['seconds']:>8.2f} "
            f"{r['posts_per_s']:>8.0f} {r['cpu_us_per_post']:>18.0f} "
            f"{r['gateway_us_per_post']:>15.0f} {r['peak_rss_mib']:>19.1f}"
        )
    cpu = min(r["cpu_us_per_post"] for r in rows)
    cores = ACCOUNT_POSTS_PER_S * cpu / 1e6
    one = max(r["posts_per_s"] for r in rows if r["workers"] == 1)
    print(
        f"projection for {ACCOUNT_POSTS_PER_S:,} posts/s (API Gateway's default account quota): "
        f"{cores:.1f} worker cores at {cpu:.0f} us/post; at the single-worker rate measured here "
        f"({one:.0f} posts/s) {math.ceil(ACCOUNT_POSTS_PER_S / one)} workers"
    )


if __name__ == "__main__":
    main()
