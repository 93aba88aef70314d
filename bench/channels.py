"""Benchmark 5: channels on PostgreSQL, each figure against a baseline measured in the same run.

* ``publish``: ``channels.publish(channel, data, history=True)`` to N subscribed connections
  (the local gateway's virtual connections, ``--latency-ms`` on every Management API call):
  publications per second, against a plain ``in_channel(channel).send_message(data)`` to the
  same recipients, and ``publish(..., history=False)``; the three interleaved round by round;
* ``recovery``: a subscribe with ``since`` that recovers 1,000 missed publications (one frame
  through the local gateway to a real socket), against the same subscribe with nothing missed;
* ``room``: a full-room reconnect: 100 members of a presence channel drop at once and reconnect
  at once through the local gateway's ``$connect`` limiter (429 beyond ``--connections-per-
  second``; the clients back off and retry), each re-subscribing with ``since``: the time until
  all are subscribed again, the 429s, and the presence frames it costs; against the same
  reconnect with no limiter.

Django is gunicorn (``bench_site.channels_settings``); the local gateway runs in its own
process. ::

    scripts/postgres.sh start
    .venv/bin/python bench/channels.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from typing import Any

from _channels_site import Site, cookies, local_gateway, open_socket, process, subscribe
from _common import ensure_database, free_port, machine, setup_django

DEFAULT_URL = "postgresql://wsuser:wspass@127.0.0.1:54329/wsbench_channels"
DATA = {"type": "chat", "text": "hello everyone", "n": 1}
RUN = f"{int(time.time()) % 100000}"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="publish,recovery,room")
    parser.add_argument("--recipients", default="1,100", help="N of the publish figures")
    parser.add_argument("--publishes", type=int, default=300, help="per kind and N")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--missed", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--members", type=int, default=100)
    parser.add_argument("--rates", default="0,500,50", help="connections per second; 0 first")
    parser.add_argument("--room-repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_CHANNELS_DATABASE_URL", DEFAULT_URL)
    )
    return parser.parse_args()


# -- publish ----------------------------------------------------------------------------------


def bench_publish(args: argparse.Namespace) -> list[str]:
    from django.db import connections

    from django_aws_api_gateway_websockets.channels import publish
    from django_aws_api_gateway_websockets.models import (
        ApiGateway,
        ChannelStream,
        ChannelSubscription,
        WebSocketSession,
    )

    sizes = [int(n) for n in args.recipients.split(",")]
    in_channel = WebSocketSession.objects.in_channel
    ApiGateway.objects.filter(api_name="chbench-virtual").delete()
    gateway = ApiGateway.objects.create(api_name="chbench-virtual", api_id="chbvirt001")
    connections.close_all()
    port = free_port()
    command = local_gateway(
        "chbench-virtual",
        port,
        f"--latency-ms={args.latency_ms}",
        "--connections-per-second=0",
        f"--virtual-connections={max(sizes)}",
    )
    lines = []
    with process(command, port):
        rows = WebSocketSession.objects.filter(api_gateway=gateway)
        deadline = time.monotonic() + 120
        while rows.count() < max(sizes):
            if time.monotonic() > deadline:
                raise TimeoutError("the local gateway did not register its connections")
            time.sleep(0.2)
        sessions = list(rows.order_by("pk"))
        for n in sizes:
            channel = f"feed:pub{n}-{RUN}"
            ChannelSubscription.objects.bulk_create(
                ChannelSubscription(session=s, channel=channel) for s in sessions[:n]
            )
            # Each call resolves its recipients afresh (one query), as publish() does.
            kinds = {
                "send_message": lambda c=channel: in_channel(c).send_message(DATA),
                "publish, no history": lambda c=channel: publish(c, DATA, history=False),
                "publish, history": lambda c=channel: publish(c, DATA, history=True),
            }
            assert len(in_channel(channel).send_message(DATA)) == n  # warm; every one reached
            seconds = dict.fromkeys(kinds, 0.0)
            rounds = 10
            for _ in range(rounds):  # interleaved: a busy neighbour slows all three alike
                for kind, call in kinds.items():
                    started = time.perf_counter()
                    for _ in range(args.publishes // rounds):
                        call()
                    seconds[kind] += time.perf_counter() - started
            count = args.publishes // rounds * rounds
            top = ChannelStream.objects.get(channel=channel).top_offset
            assert top == count, (top, count)  # every publication with history was stored
            base = count / seconds["send_message"]
            for kind, spent in seconds.items():
                rate = count / spent
                lines.append(
                    f"{n:>5} {kind:<21}{rate:>9.0f}{rate * n:>10.0f}"
                    f"{spent / count * 1e3:>9.2f}{rate / base:>8.2f}x"
                )
        rows.delete()
    ApiGateway.objects.filter(pk=gateway.pk).delete()
    header = f"{'N':>5} {'call':<21}{'calls/s':>9}{'posts/s':>10}{'ms/call':>9}{'ratio':>9}"
    return [f"publish ({args.latency_ms:g} ms injected per post)", header, *lines]


# -- recovery ---------------------------------------------------------------------------------


def bench_recovery(args: argparse.Namespace, site: Site, cookie: str) -> list[str]:
    from django_aws_api_gateway_websockets.channels import publish

    async def timed(item: dict[str, Any], expected: int) -> float:
        ws = await open_socket(site, cookie, [])
        started = time.perf_counter()
        entry = await subscribe(ws, item)
        elapsed = time.perf_counter() - started
        await ws.close()
        offsets = [p["offset"] for p in entry.get("publications", [])]
        top = item["since"]["offset"] + expected
        assert entry["recovered"] and offsets == list(range(top - expected + 1, top + 1)), entry
        return elapsed

    full, none = [], []
    for repeat in range(-2, args.repeats):  # two rounds to warm the workers, not counted
        channel = f"feed:rec{RUN}-{repeat + 2}"
        position = None
        for n in range(args.missed):
            position = publish(channel, {**DATA, "n": n})
        assert position is not None
        missed = {"channel": channel, "since": {"offset": 0, "epoch": position.epoch}}
        current = {"channel": channel, "since": position.as_dict()}
        pair = [asyncio.run(timed(current, 0)), asyncio.run(timed(missed, args.missed))]
        if repeat >= 0:
            none.append(pair[0])
            full.append(pair[1])
    base, value = statistics.median(none), statistics.median(full)
    return [
        f"recovery (median of {args.repeats}; subscribe sent -> subscribed frame received)",
        f"  nothing missed:        {base * 1e3:8.1f} ms",
        f"  {args.missed} missed, recovered: {value * 1e3:8.1f} ms   {value / base:.1f}x",
    ]


# -- room -------------------------------------------------------------------------------------


async def room_reconnect(site: Site, members: list[str], channel: str) -> dict[str, Any]:
    """Every member joins ``channel``; then all drop at once and reconnect at once."""
    refused: list[int] = []
    frames = {"join": 0, "leave": 0}
    positions: dict[int, dict[str, Any]] = {}
    views: dict[int, set[str]] = {}  # each member's view of the room: snapshot, then diffs

    def take(i: int, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind in frames:
            frames[kind] += 1
            change = views[i].add if kind == "join" else views[i].discard
            change(frame["user"])

    async def read(i: int, ws: Any) -> None:
        async for message in ws:
            take(i, json.loads(message))

    async def member(i: int) -> tuple[Any, asyncio.Task[None]]:
        ws = await open_socket(site, members[i], refused)
        item: dict[str, Any] = {"channel": channel}
        if i in positions:
            item["since"] = positions[i]
        early: list[dict[str, Any]] = []
        entry = await subscribe(ws, item, early)
        assert entry.get("recovered", True), entry
        positions[i] = {"offset": entry["offset"], "epoch": entry["epoch"]}
        views[i] = {m["user"] for m in entry["presence"]["members"]}
        for frame in early:  # the snapshot, then the diffs
            take(i, frame)
        return ws, asyncio.create_task(read(i, ws))

    async def quiet() -> None:  # until no presence frame for a second
        seen = -1
        while seen != frames["join"] + frames["leave"]:
            seen = frames["join"] + frames["leave"]
            await asyncio.sleep(1.0)

    started = time.perf_counter()
    sockets = [await member(i) for i in range(len(members))]  # the room fills, one by one
    await quiet()
    built = {"seconds": time.perf_counter() - started - 1.0, **frames, "refused": len(refused)}
    assert all(len(v) == len(members) for v in views.values()), "a view of the room is wrong"
    frames.update(join=0, leave=0)
    refused.clear()
    started = time.perf_counter()
    await asyncio.gather(*(ws.close() for ws, _ in sockets))
    sockets = await asyncio.gather(*(member(i) for i in range(len(members))))
    subscribed = time.perf_counter() - started
    await quiet()  # the joins are posted within the subscribes; a last check
    wrong = sum(len(v) != len(members) for v in views.values())
    await asyncio.gather(*(ws.close() for ws, _ in sockets))
    return {
        "built": built,
        "subscribed": subscribed,
        "refused": len(refused),
        "wrong": wrong,
        **frames,
    }


def bench_room(args: argparse.Namespace, site: Site, members: list[str]) -> list[str]:
    rates = [int(r) for r in args.rates.split(",")]
    results: dict[int, list[dict[str, Any]]] = {rate: [] for rate in rates}
    for repeat in range(args.room_repeats):  # interleaved: the load moves between runs
        for rate in rates:
            with site.gateway(rate):
                channel = f"room:{RUN}-{rate}-{repeat}"
                results[rate].append(asyncio.run(room_reconnect(site, members, channel)))
    lines = [
        f"room: {len(members)} members of a presence channel drop at once and reconnect at once "
        f"(median of {args.room_repeats})",
        f"{'limit/s':>8}{'all subscribed s':>18}{'vs no limit':>13}{'429s':>6}{'joins':>7}"
        f"{'leaves':>8}{'wrong views':>12}   filling it one by one: s, joins",
    ]
    base = statistics.median(r["subscribed"] for r in results[rates[0]])
    for rate in rates:
        runs = results[rate]

        def median(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(r[key] for r in runs)

        built = statistics.median(r["built"]["seconds"] for r in runs)
        built_joins = statistics.median(r["built"]["join"] for r in runs)
        lines.append(
            f"{rate or 'none':>8}{median('subscribed'):>18.2f}{median('subscribed') / base:>12.2f}x"
            f"{median('refused'):>6.0f}{median('join'):>7.0f}{median('leave'):>8.0f}"
            f"{max(r['wrong'] for r in runs):>12}"
            f"   {built:.2f}, {built_joins:.0f}"
        )
    return lines


def main() -> None:
    args = parse()
    os.environ["BENCH_DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench_site.channels_settings"
    ensure_database(args.database_url)
    setup_django("bench_site.channels_settings")
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    parts = args.parts.split(",")
    print(f"machine: {machine()}", flush=True)
    out: list[str] = []
    if "publish" in parts:
        out += bench_publish(args)
        print("\n".join(out), flush=True)
    if "recovery" in parts or "room" in parts:
        site = Site(args)
        users = cookies(args.members)
        connections.close_all()
        with site.serve():
            if "recovery" in parts:
                with site.gateway(0):
                    lines = bench_recovery(args, site, users[0])
                print("\n".join(lines), flush=True)
                out += lines
            if "room" in parts:
                lines = bench_room(args, site, users)
                print("\n".join(lines), flush=True)
                out += lines
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
