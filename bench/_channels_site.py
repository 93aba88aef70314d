"""The processes and clients of ``bench/channels.py``: gunicorn serving
``bench_site.channels_settings``, the local gateway in its own process, logged-in users'
cookies, and a socket that backs off while the gateway refuses its handshake."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from _common import BENCH, ROOT, free_port, wait_for_port

PYTHON = sys.executable


def env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": f"{BENCH}:{ROOT / 'src'}",
        "DJANGO_SETTINGS_MODULE": "bench_site.channels_settings",
    }


@contextmanager
def process(command: list[str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(command, env=env(), cwd=BENCH, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=120)
        yield child
    finally:
        child.terminate()
        try:
            child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            child.kill()


def local_gateway(api: str, port: int, *options: str) -> list[str]:
    module = "django_aws_api_gateway_websockets.local_gateway"
    return [PYTHON, "-m", module, f"--api={api}", f"--port={port}", *options]


class Site:
    """gunicorn and a gateway row; :meth:`gateway` starts a local gateway in front of it."""

    def __init__(self, args: argparse.Namespace) -> None:
        from django_aws_api_gateway_websockets.models import ApiGateway

        self.port = free_port()
        self.workers = args.workers
        ApiGateway.objects.filter(api_name="chbench").delete()
        self.row = ApiGateway.objects.create(
            api_name="chbench",
            target_base_endpoint=f"http://127.0.0.1:{self.port}/ws/",
            default_channel_name="lobby",
            secret=ApiGateway.generate_secret(),
        )
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = ""

    def serve(self) -> Any:
        gunicorn = str(Path(PYTHON).parent / "gunicorn")
        return process(
            [
                gunicorn,
                "bench_site.wsgi:application",
                f"--workers={self.workers}",
                f"--bind=127.0.0.1:{self.port}",
                "--log-level=warning",
                "--backlog=2048",
            ],
            self.port,
        )

    @contextmanager
    def gateway(self, rate: int) -> Iterator[None]:
        port = free_port()
        command = local_gateway("chbench", port, f"--connections-per-second={rate}")
        with process(command, port):
            self.row.refresh_from_db()
            self.url = f"ws://127.0.0.1:{port}/{self.row.api_id}/{self.row.stage_name}"
            yield


def cookies(count: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    found = []
    for i in range(count):
        user, _ = get_user_model().objects.get_or_create(username=f"chbench-{i}")
        client = Client()
        client.force_login(user)
        found.append(f"sessionid={client.cookies['sessionid'].value}")
    return found


async def open_socket(site: Site, cookie: str, refused: list[int]) -> Any:
    """A socket, retried with jittered exponential backoff while the handshake is refused."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    for attempt in range(30):
        try:
            return await connect(
                site.url,
                additional_headers={"Cookie": cookie},
                origin=site.origin,  # type: ignore[arg-type]
                max_size=2**20,
                open_timeout=60,
            )
        except InvalidStatus as error:
            refused.append(error.response.status_code)
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))
    raise RuntimeError("the gateway kept refusing the handshake")


async def subscribe(
    ws: Any, item: dict[str, Any], early: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Subscribe to one channel; its entry. Frames pushed before the answer go to ``early``
    (a join announced after the snapshot was read can overtake the answer)."""
    await ws.send(json.dumps({"handler": "subscribe", "channels": [item]}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame.get("type") == "subscribed":
            return dict(frame["channels"][0])
        if early is not None:
            early.append(frame)
