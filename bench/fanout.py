"""Benchmark 1: one message to N connections through the Management API.

For each N, ``WebSocketSession.objects.filter(...).send_message(data)`` (the public API: one
query for the rows, the posts, one UPDATE for any gone) with

* ``baseline``: the existing package's algorithm, run in this process against the same gateway:
  one boto3 client, one ``post_to_connection`` after another over the queryset's rows;
* ``boto3``: the boto3 transport (``send_transport = "boto3"``: shared client, threads);
* ``lean``: the lean transport (the default for real sends).

Each measurement runs in a fresh process (``--child``), so memory figures are its own and the
first broadcast pays for creating clients and opening connections ("cold"); a second broadcast
in the same process shows the kept-alive steady state ("warm"). The gateway runs in its own
process: the local gateway in its benchmark mode (connections registered without clients, see
docs/local-gateway.md), with ``--latency-ms`` injected on every Management API call. ``--target
stub`` uses a bare aiohttp endpoint instead, to show the client side alone.

    scripts/postgres.sh start
    .venv/bin/python bench/fanout.py --sizes 100,1000,10000 --latency-ms 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

PYTHON = str(ROOT / ".venv" / "bin" / "python")
MESSAGE = {"type": "broadcast", "text": "hello everyone", "n": 1}
TRANSPORTS = ("baseline", "boto3", "lean")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--target", choices=("local", "stub"), default="local")
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument(
        "--baseline-max",
        type=int,
        default=0,
        help="run the baseline on at most this many connections and extrapolate (0: all)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument(
        "--in-flight",
        type=int,
        default=0,
        help="the lean transport's lean_in_flight for this run (0: the setting's default)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument("--child", nargs=2, metavar=("TRANSPORT", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--memory", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args()


def channel(n: int) -> str:
    return f"fanout-{n}"


# -- the measured process ---------------------------------------------------------------------


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def baseline(rows: Any, gateway: Any, data: Any) -> list[Any]:
    """The existing package's QuerySet.send_message: one client, one post after another."""
    from django_aws_api_gateway_websockets import models

    client = models.get_boto3_client(
        "apigatewaymanagementapi", endpoint_url=gateway.management_endpoint
    )
    message = json.dumps(data)
    responses = []
    for session in rows.filter(connected=True):
        try:
            responses.append(
                client.post_to_connection(Data=message, ConnectionId=session.connection_id)
            )
        except client.exceptions.GoneException:
            session.connected = False
            session.save()
    return responses


def child(args: argparse.Namespace) -> None:
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    setup_django()
    from django.test import override_settings

    from django_aws_api_gateway_websockets.messaging import lean
    from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

    name, n = args.child[0], int(args.child[1])
    gateway = ApiGateway.objects.get(api_name="fanout")
    rows = WebSocketSession.objects.filter(channel_name=channel(n), api_gateway=gateway)
    if args.limit:
        first = list(rows.order_by("pk").values_list("pk", flat=True)[: args.limit])
        rows = rows.filter(pk__in=first)
    settings: dict[str, Any] = {"send_transport": "boto3" if name == "boto3" else "auto"}
    if args.in_flight:
        settings["lean_in_flight"] = args.in_flight
    if args.memory:
        import tracemalloc

        tracemalloc.start()
    results = []
    with override_settings(WEBSOCKETS=settings):
        for _ in range(1 if name == "baseline" else 2):
            if args.memory:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
            rss_before = rss_kib()
            started, cpu = time.perf_counter(), time.process_time()
            if name == "baseline":
                sent = len(baseline(rows, gateway, MESSAGE))
            else:
                sent = len(rows.send_message(MESSAGE))
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            peak = tracemalloc.get_traced_memory()[1] - before if args.memory else 0
            maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            results.append(
                {
                    "sent": sent,
                    "seconds": elapsed,
                    "cpu": cpu,
                    "traced_peak": peak,
                    "rss_growth_kib": max(0, maxrss - rss_before),
                }
            )
    lean.shutdown()
    print(json.dumps(results))


# -- the gateway --------------------------------------------------------------------------------


class Target:
    """The gateway process: the local gateway in benchmark mode, or the bare stub."""

    def __init__(self, kind: str, latency_ms: float, total: int) -> None:
        self.kind = kind
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": f"{BENCH}:{ROOT / 'src'}"}
        if kind == "stub":
            command = [
                PYTHON,
                str(BENCH / "_stub_gateway.py"),
                f"--port={self.port}",
                f"--latency-ms={latency_ms}",
            ]
        else:
            command = [
                PYTHON,
                "-m",
                "django_aws_api_gateway_websockets.local_gateway",
                "--api=fanout",
                f"--port={self.port}",
                f"--latency-ms={latency_ms}",
                "--connections-per-second=0",
                f"--virtual-connections={total}",
            ]
        self.process = subprocess.Popen(command, env=env, cwd=BENCH, stdout=subprocess.DEVNULL)
        wait_for_port(self.port, timeout=120)

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def prepare_rows(target: Target, gateway: Any, sizes: list[int]) -> None:
    """Give each N its own channel of N connected sessions the target knows."""
    from django.db import connections

    from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

    total = sum(sizes)
    if target.kind == "stub":
        ApiGateway.objects.filter(pk=gateway.pk).update(
            api_endpoint=f"ws://127.0.0.1:{target.port}/{gateway.api_id}"
        )
        WebSocketSession.objects.bulk_create(
            WebSocketSession(connection_id=f"S{i:014d}=", api_gateway=gateway) for i in range(total)
        )
    else:  # the local gateway creates the sessions of its virtual connections
        deadline = time.monotonic() + 120
        while WebSocketSession.objects.filter(api_gateway=gateway).count() < total:
            if time.monotonic() > deadline:
                raise TimeoutError("the local gateway did not register its connections")
            time.sleep(0.2)
    pks = list(
        WebSocketSession.objects.filter(api_gateway=gateway)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    start = 0
    for n in sizes:
        WebSocketSession.objects.filter(pk__in=pks[start : start + n]).update(
            channel_name=channel(n), connected=True
        )
        start += n
    connections.close_all()


@contextmanager
def virtual_gateway(kind: str, latency_ms: float, sizes: list[int]) -> Iterator[Target]:
    """The target gateway with, for each N, a channel ``channel(N)`` of N connected sessions;
    the sessions and the gateway row are deleted when the block ends."""
    from django.core.management import call_command
    from django.db import connections

    from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

    call_command("migrate", verbosity=0)
    ApiGateway.objects.filter(api_name="fanout").delete()
    gateway = ApiGateway.objects.create(api_name="fanout", api_id="fanout0001")
    connections.close_all()
    target = Target(kind, latency_ms, sum(sizes))
    try:
        prepare_rows(target, gateway, sizes)
        yield target
    finally:
        target.stop()
        WebSocketSession.objects.filter(api_gateway=gateway).delete()
        ApiGateway.objects.filter(pk=gateway.pk).delete()


def run_child(args: argparse.Namespace, name: str, n: int, *, memory: bool, limit: int = 0):
    command = [PYTHON, __file__, "--child", name, str(n), f"--database-url={args.database_url}"]
    if args.in_flight:
        command.append(f"--in-flight={args.in_flight}")
    if memory:
        command.append("--memory")
    if limit:
        command.append(f"--limit={limit}")
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=BENCH)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse()
    if args.child:
        child(args)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [t for t in args.transports.split(",") if t]
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    ensure_database(args.database_url)
    setup_django()
    rows: list[dict[str, Any]] = []
    with virtual_gateway(args.target, args.latency_ms, sizes) as target:
        started_load = os.getloadavg()[0]
        for n in sizes:
            for name in names:
                limit = args.baseline_max if name == "baseline" and args.baseline_max < n else 0
                gateway_cpu = target.cpu_seconds()
                runs = run_child(args, name, n, memory=False, limit=limit)
                gateway_cpu = target.cpu_seconds() - gateway_cpu
                memory = None
                if not args.no_memory and name != "baseline":
                    memory = run_child(args, name, n, memory=True)[-1]["traced_peak"]
                for label, run in zip(("cold", "warm"), runs, strict=False):
                    count = limit or n
                    if run["sent"] != count:
                        raise RuntimeError(f"{name} N={n}: sent {run['sent']} of {count}")
                    rows.append(
                        {
                            "n": n,
                            "transport": name,
                            "run": label,
                            "extrapolated": bool(limit),
                            "seconds": run["seconds"] * (n / count),
                            "posts_per_s": count / run["seconds"],
                            "cpu_us_per_post": run["cpu"] / count * 1e6,
                            "rss_growth_mib": run["rss_growth_kib"] / 1024,
                            "traced_peak_mib": (memory or 0) / 2**20 if label == "warm" else None,
                            "gateway_cpu_s": gateway_cpu,
                        }
                    )
                print(f"  done: N={n} {name}", file=sys.stderr, flush=True)
    report(args, rows, started_load)


def report(args: argparse.Namespace, rows: list[dict[str, Any]], started_load: float) -> None:
    print(f"machine: {machine()} (1-min load at the start: {started_load:.2f})")
    in_flight = args.in_flight or "default"
    print(
        f"target: {args.target} gateway, {args.latency_ms:g} ms injected latency per call; "
        f"each transport in a fresh process; lean_in_flight {in_flight}"
    )
    header = (
        f"{'N':>6} {'transport':<9}{'run':<6}{'seconds':>9}{'posts/s':>9}{'vs base':>9}"
        f"{'CPU us/post':>12}{'GW us/post':>11}{'peak MiB':>9}{'RSS+ MiB':>9}"
    )
    print(header)
    base = {r["n"]: r for r in rows if r["transport"] == "baseline"}
    for r in rows:
        ratio = ""
        if r["n"] in base:
            ratio = f"{base[r['n']]['seconds'] / r['seconds']:.1f}x"
        peak = "" if r["traced_peak_mib"] is None else f"{r['traced_peak_mib']:.1f}"
        mark = "*" if r["extrapolated"] else " "
        broadcasts = 1 if r["transport"] == "baseline" else 2  # the gateway CPU covers both
        posts = (args.baseline_max if r["extrapolated"] else r["n"]) * broadcasts
        gw = f"{r['gateway_cpu_s'] / posts * 1e6:.0f}" if r["run"] == "cold" else ""
        print(
            f"{r['n']:>6} {r['transport']:<9}{r['run']:<6}{r['seconds']:>8.2f}{mark}"
            f"{r['posts_per_s']:>9.0f}{ratio:>9}{r['cpu_us_per_post']:>12.0f}{gw:>11}{peak:>9}"
            f"{r['rss_growth_mib']:>9.1f}"
        )
    if any(r["extrapolated"] for r in rows):
        print(f"* baseline run on {args.baseline_max} connections, time scaled to N")


if __name__ == "__main__":
    main()
