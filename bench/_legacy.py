"""The existing package (4.0.0, its wheel from scripts/fetch-legacy-wheels.sh) as a benchmark
baseline: unpacked into a directory of its own that goes first on ``PYTHONPATH`` of the processes
that serve it (the same import name as ours, so it never shares a process with ours; the upgrade
tests load it the same way, tests/legacy_db.py), with its own PostgreSQL database migrated by its
own migrations, and the same ``bench_site`` settings and views."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from _common import BENCH, ROOT, ensure_database

VERSION = "4.0.0"
#: Where scripts/fetch-legacy-wheels.sh puts the wheels; BENCH_LEGACY_WHEELS names another
#: directory (a git worktree without its own .cache, say).
WHEEL_DIRS = tuple(
    Path(d) for d in (os.environ.get("BENCH_LEGACY_WHEELS"), ROOT / ".cache" / "legacy-wheels") if d
)

_SETUP = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django_aws_api_gateway_websockets.models import (
    ApiGateway, ConnectionRateLimit, WebSocketSession)
WebSocketSession.objects.all().delete()
ConnectionRateLimit.objects.all().delete()
ApiGateway.objects.filter(api_name="bench").delete()
ApiGateway.objects.create(api_name="bench", api_id={api_id!r},
    target_base_endpoint="https://{host}/ws/", default_channel_name="lobby")
"""


def wheel() -> Path:
    for directory in WHEEL_DIRS:
        found = sorted(directory.glob(f"django_aws_api_gateway_websockets-{VERSION}-*.whl"))
        if found:
            return found[0]
    raise SystemExit(f"no {VERSION} wheel: run scripts/fetch-legacy-wheels.sh")


def prepare(database_url: str, api_id: str, host: str) -> tuple[str, dict[str, str]]:
    """Unpack the wheel, migrate its database (``<name>_legacy``) and register the bench
    gateway; the database URL and the environment to serve it with."""
    target = Path(tempfile.mkdtemp(prefix="bench-legacy-"))
    with zipfile.ZipFile(wheel()) as archive:
        archive.extractall(target)
    url = f"{database_url}_legacy"
    ensure_database(url)
    env = {
        **os.environ,
        "PYTHONPATH": f"{target}:{BENCH}",
        "BENCH_DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench_site.settings",
    }
    script = _SETUP.format(api_id=api_id, host=host)
    subprocess.run([sys.executable, "-c", script], env=env, cwd=BENCH, check=True)
    check = "import django_aws_api_gateway_websockets as p; print(p.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", check], env=env, cwd=BENCH, check=True, capture_output=True
    ).stdout.decode()
    assert str(target) in where, where  # the served package is the wheel's, not ours
    return url, env
