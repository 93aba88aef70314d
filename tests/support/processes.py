"""Real processes for the load and fault tests: a Django server and a local gateway, each in
its own process, so that either can be stopped, killed and started again mid-run.

Both use the test database of the running test session (PostgreSQL or MariaDB: a database a
second process can reach; the in-memory SQLite database cannot be shared).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from tests.support.paths import ROOT
from tests.support.ports import free_port, port_open, wait_for_port


def shareable_database_url() -> str | None:
    """A URL of the test database for another process, or ``None`` (in-memory SQLite)."""
    settings = connection.settings_dict
    scheme = {"postgresql": "postgresql", "mysql": "mysql"}.get(connection.vendor)
    if scheme is None:
        return None
    user = quote(str(settings.get("USER") or ""), safe="")
    password = quote(str(settings.get("PASSWORD") or ""), safe="")
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or ""
    return f"{scheme}://{user}:{password}@{host}:{port}/{settings['NAME']}"


@dataclass
class Process:
    """One restartable server process."""

    name: str
    args: list[str]
    port: int
    database_url: str
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        self.starts += 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.load_settings",
            "DATABASE_URL": self.database_url,
            "PYTHONPATH": str(ROOT),
            **self.env,
        }
        log = (self.log_dir / f"{self.name}-{self.starts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", *self.args],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            wait_for_port(self.port)
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} did not start:\n{self.log()}") from None

    def log(self) -> str:
        path = self.log_dir / f"{self.name}-{self.starts}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """Stop the process (SIGTERM: a clean stop; SIGKILL: killed) and wait for it."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        deadline = time.monotonic() + timeout
        while port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def django_server(database_url: str, log_dir: Path) -> Process:
    port = free_port()
    return Process(
        "django",
        ["runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
        port,
        database_url,
        log_dir,
    )


def local_gateway(
    database_url: str, log_dir: Path, backend_port: int, api_name: str, *extra: str
) -> Process:
    port = free_port()
    return Process(
        "gateway",
        [
            "runwsgateway",
            "--api",
            api_name,
            "--port",
            str(port),
            "--backend",
            f"http://127.0.0.1:{backend_port}",
            "--connections-per-second",
            "0",
            "--backend-concurrency",
            "8",
            *extra,
        ],
        port,
        database_url,
        log_dir,
    )
