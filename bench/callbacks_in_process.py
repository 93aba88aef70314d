"""CPU per callback of the package's view against the bare floor views, in one process.

``events.py`` measures through gunicorn, where Django's middleware, the WSGI server and the load
of the machine blur what the package itself costs. This script calls the views directly, as the
users' tests do (``RequestFactory``, no middleware), on the ``events.py`` database: ``$connect``
(no token, the rate limit on), message and ``$disconnect`` through ``BenchView``, and the floor
views (one raw ``UPDATE … RETURNING``; no query) with message callbacks, ``$connect``'s floor
(its two statements as raw SQL) with ``$connect`` callbacks. Rounds alternate; the
first is a warm-up; the table gives the smallest CPU per callback (µs, this process's CPU:
PostgreSQL's own is not included) and the view's CPU over the one-statement floor's.
``--profile KIND`` prints that kind's cProfile (CPU time) from one more round.

    scripts/postgres.sh start
    .venv/bin/python bench/callbacks_in_process.py --callbacks 500 --rounds 4
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from typing import Any

import events
from _common import DEFAULT_DATABASE_URL, machine

KINDS = ("connect", "message", "disconnect", "floor-sql", "floor-none", "floor-connect")
#: The floors measured with callbacks other than messages.
FLOOR_EVENTS = {"floor-connect": "connect"}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callbacks", type=int, default=500, help="callbacks per kind and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--profile", choices=KINDS, help="print this kind's profile")
    parser.add_argument(
        "--profile-sort", default="cumulative", help="the profile's order (pstats' sort keys)"
    )
    parser.add_argument(
        "--profile-only", default="", help="only the profile's functions matching this regex"
    )
    parser.add_argument("--server-side-binding", action="store_true", help="as events.py's option")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    return parser.parse_args()


def requests_for(gateway: Any, kind: str, ids: list[str]) -> list[Any]:
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    event = kind if kind in events.EVENTS else FLOOR_EVENTS.get(kind, "message")
    slug = "default" if event == "message" else event
    factory, built = RequestFactory(), []
    for n, connection_id in enumerate(ids):
        body = events.body_for(event, n)
        headers = events.headers_for(gateway, event, connection_id)
        headers["Content-Length"] = str(len(body))
        request = factory.post(
            f"/ws/{slug}", data=body, content_type="application/json", headers=headers
        )
        request.user = AnonymousUser()  # as the auth middleware leaves it for API Gateway
        built.append(request)
    return built


def new_ids(count: int) -> list[str]:
    from django_aws_api_gateway_websockets.testing import new_connection_id

    return [new_connection_id() for _ in range(count)]


def run(kind: str, requests: list[Any]) -> None:
    from bench_site.views import BenchView, floor_connect, floor_none, floor_sql

    view = BenchView.as_view()
    for request in requests:
        if kind == "floor-sql":
            response = floor_sql(request, "default")
        elif kind == "floor-none":
            response = floor_none(request, "default")
        elif kind == "floor-connect":
            response = floor_connect(request, "connect")
        else:
            slug = "default" if kind == "message" else kind
            response = view(request, route=slug)
        assert response.status_code == 200, (kind, response.content)


def main() -> None:
    args = parse()
    gateway = events.prepare(
        argparse.Namespace(
            database_url=args.database_url,
            gateway_cache_seconds=5,
            server_side_binding=args.server_side_binding,
        )
    )
    events.settle(args.database_url)
    best: dict[str, float] = {}
    rounds = args.rounds + (1 if args.profile else 0)
    for number in range(rounds):
        ids = new_ids(args.callbacks)
        for kind in KINDS:  # connect first: the message and $disconnect need its rows
            fresh = kind in FLOOR_EVENTS  # connects of their own, not the ids' second
            requests = requests_for(gateway, kind, ids if not fresh else new_ids(args.callbacks))
            profile = None
            if args.profile == kind and number == rounds - 1:
                profile = cProfile.Profile(time.process_time)
                profile.enable()
            started = time.process_time()
            run(kind, requests)
            used = (time.process_time() - started) / args.callbacks * 1e6
            if profile is not None:
                profile.disable()
                stats = pstats.Stats(profile).sort_stats(args.profile_sort)
                stats.print_stats(args.profile_only, 40)
            elif number > 0:
                best[kind] = min(best.get(kind, used), used)
    print(f"machine: {machine()}")
    print(f"{args.callbacks} callbacks per kind, best of rounds 2-{args.rounds}")
    print(f"{'kind':<12}{'µs CPU':>8}{'÷floor1':>9}")
    for kind in KINDS:
        print(f"{kind:<12}{best[kind]:>8.0f}{best[kind] / best['floor-sql']:>8.2f}x")


if __name__ == "__main__":
    main()
