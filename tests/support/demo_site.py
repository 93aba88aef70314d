"""The demo (``example/``) as real processes for the browser tests: its Django (``runserver``)
and the local gateway (``runwsgateway``) on a SQLite database of their own, as
``scripts/demo.sh`` runs them, and a browser tab of a room. The fixtures are in
``tests/client/conftest.py``.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from tests.support.browser import watch_page_errors
from tests.support.paths import ROOT
from tests.support.ports import HOST, port_open

EXAMPLE = ROOT / "example"
PASSWORD = "browser-pw"  # a throwaway demo user's
USERS = ("alice", "bob", "carol", "dave", "erin", "frank")
TABLE = "django_aws_api_gateway_websockets_"


@dataclass
class Demo:
    """The demo's Django and local gateway, as processes of their own."""

    directory: Path
    http_port: int
    ws_port: int
    env: dict[str, str]
    django: subprocess.Popen[bytes] | None = None
    gateway: subprocess.Popen[bytes] | None = None
    gateway_starts: int = 0
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=EXAMPLE,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.directory / f"{name}.log"
        self.logs.append(log)
        with log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=EXAMPLE,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_port(self, port: int, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + 60
        while not port_open(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"a demo server did not start:\n{self.output()}")
            time.sleep(0.05)

    def start_django(self) -> None:
        self.django = self._spawn("django", "runserver", f"{HOST}:{self.http_port}", "--noreload")
        self._wait_port(self.http_port, self.django)

    def start_gateway(self, *limits: str) -> None:
        self.gateway_starts += 1
        self.gateway = self._spawn(
            f"gateway-{self.gateway_starts}",
            "runwsgateway",
            "--api",
            "Demo",
            "--host",
            HOST,
            "--port",
            str(self.ws_port),
            *limits,
        )
        self._wait_port(self.ws_port, self.gateway)

    def kill_gateway(self) -> None:
        """SIGKILL: no clean close, no $disconnect, the row still points at the dead port."""
        assert self.gateway is not None
        self.gateway.kill()
        self.gateway.wait(timeout=30)
        self.gateway = None

    def stop_gateway(self) -> None:
        if self.gateway is not None and self.gateway.poll() is None:
            self.gateway.send_signal(signal.SIGTERM)
            try:
                self.gateway.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.gateway.kill()
                self.gateway.wait()
        self.gateway = None

    def stop(self) -> None:
        self.stop_gateway()
        if self.django is not None and self.django.poll() is None:
            self.django.terminate()
            try:
                self.django.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.django.kill()
                self.django.wait()

    def output(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')}" for log in self.logs)

    # -- the demo's database ------------------------------------------------------------------

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.env["DEMO_DB"], timeout=30) as db:
            rows = db.execute(sql, params).fetchall()
        db.close()
        return rows

    def api_id(self) -> str:
        ((api_id,),) = self.query(f"SELECT api_id FROM {TABLE}apigateway WHERE api_name='Demo'")
        return str(api_id)

    def connect_url(self, channel: str) -> str:
        return f"ws://{HOST}:{self.ws_port}/{self.api_id()}/production?channel={channel}"

    def sessions(self, username: str) -> list[tuple[str, str, int]]:
        """(connection_id, channel, connected) of the user's sessions, oldest first."""
        return [
            (str(c), str(ch), int(on))
            for c, ch, on in self.query(
                "SELECT s.connection_id, s.channel_name, s.connected "
                f"FROM {TABLE}websocketsession s JOIN auth_user u ON u.id = s.user_id "
                "WHERE u.username = ? ORDER BY s.id",
                username,
            )
        ]

    def forget_rate_limits(self) -> None:
        """Every test connects from 127.0.0.1: start each with a clean $connect rate limit."""
        with sqlite3.connect(self.env["DEMO_DB"], timeout=30) as db:
            db.execute(f"DELETE FROM {TABLE}connectionratelimit")
            db.execute(f"DELETE FROM {TABLE}websockettoken")
        db.close()

    def delete_connection(self, connection_id: str) -> int:
        """DeleteConnection through the local gateway's Management API."""
        url = (
            f"http://{HOST}:{self.ws_port}/{self.api_id()}/production/@connections/"
            f"{quote(connection_id, safe='')}"
        )
        request = urllib.request.Request(url, method="DELETE")
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)


@dataclass
class ChatPage:
    """One browser tab of the demo, with the WebSockets it opened."""

    page: Any
    errors: list[str]
    sockets: list[str] = field(default_factory=list)

    def tokens(self) -> list[str]:
        return [parse_qs(urlsplit(url).query)["ws_token"][0] for url in self.sockets]

    def lines(self) -> list[str]:
        result: list[str] = self.page.eval_on_selector_all(
            "#log p", "nodes => nodes.map(n => n.textContent)"
        )
        return result

    def state(self) -> str:
        return str(self.page.get_attribute("#status", "data-state"))

    def wait_state(self, *states: str, timeout: float = 20) -> None:
        self.page.wait_for_function(
            "states => states.includes(document.getElementById('status').dataset.state)",
            arg=list(states),
            timeout=timeout * 1000,
        )

    def wait_line(self, text: str, timeout: float = 15) -> None:
        self.page.wait_for_function(
            "text => [...document.querySelectorAll('#log p')].some(p => p.textContent === text)",
            arg=text,
            timeout=timeout * 1000,
        )

    def wait_connected(self, count: int = 1) -> None:
        """Connected, and the whoami answer of the ``count``-th connection is shown."""
        self.wait_state("open")
        self.page.wait_for_function(
            "n => [...document.querySelectorAll('#log p')]"
            ".filter(p => p.textContent.startsWith('connected as')).length >= n",
            arg=count,
            timeout=15000,
        )

    def say(self, text: str) -> None:
        self.page.fill("#say input[name=text]", text)
        self.page.press("#say input[name=text]", "Enter")


def log_in(browser: Any, demo: Demo, username: str, **options: Any) -> Any:
    """A browser context logged in as ``username`` (``options``: the context's, e.g. a phone's
    viewport)."""
    options.setdefault("viewport", {"width": 900, "height": 720})
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{demo.base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[method=post] button")
    page.wait_for_url(f"{demo.base}/")
    return context


def open_room(context: Any, demo: Demo, room: str) -> ChatPage:
    page = context.new_page()
    chat = ChatPage(page, watch_page_errors(page))
    page.on("websocket", lambda ws: chat.sockets.append(ws.url))
    page.goto(f"{demo.base}/room/{room}/")
    return chat
