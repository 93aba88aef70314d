"""The first hour, as a new user lives it: a brand-new Django project built from README.md's code
blocks (and, separately, docs/quickstart.md's), exactly as written there, run for real.

The blocks marked ``<!-- project: TARGET -->`` are read from the documents themselves: TARGET is
a file of the project (written as the block says), ``settings`` (appended to the settings that
``startproject`` wrote) or ``shell`` (run once in ``manage.py shell``). Then, with no AWS
credentials anywhere and the project's default ``ALLOWED_HOSTS``:

- ``migrate``, ``createsuperuser``, ``runserver`` and ``runwsgateway`` (real processes);
- two users log in through the login page, get one-time tokens from ``ws-token/`` and connect
  real WebSocket clients (the ``websockets`` package) with the page's ``websocket_url``;
- messages go both ways (a ``say`` from each reaches the other, and no stray frame reaches the
  sender), and a broadcast sent from ``manage.py shell`` reaches everyone;
- a Chromium page rendered with the mixin and the tag logs in, connects, chats and receives
  the broadcast;
- the document's testing snippet passes in the project's own pytest.

The servers' ports are free ones instead of 8000/8001, and ``runwsgateway --backend`` sends the
integrations to that port (what the row says otherwise).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest

from tests.conf.test_local_gateway_credentials import CREDENTIAL_VARIABLES
from tests.support.browser import ONCE_PER_SUITE, chromium, watch_page_errors
from tests.support.paths import ROOT
from tests.support.processes import Process, free_port

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes"),
    ONCE_PER_SUITE,  # the project has its own SQLite database
]

PROJECT_BLOCK = re.compile(
    r"^<!-- project: (?P<target>\S+) -->\n(?:<!-- test: [a-z]+ -->\n)?"
    r"^```(?P<lang>[a-z]*)[^\n]*\n(?P<code>.*?)^```$",
    re.M | re.S,
)
DOCUMENTS = {"README.md": ROOT / "README.md", "quickstart.md": ROOT / "docs" / "quickstart.md"}
PASSWORD = "first-hour-pw"  # throwaway users of a throwaway project


def project_blocks(document: Path) -> list[tuple[str, str]]:
    """``(target, code)`` of every marked block, in the document's order."""
    return [(m["target"], m["code"]) for m in PROJECT_BLOCK.finditer(document.read_text())]


def test_both_documents_mark_a_whole_project() -> None:
    for name, path in DOCUMENTS.items():
        targets = [target for target, _ in project_blocks(path)]
        for needed in (
            "settings",
            "chat/views.py",
            "mysite/urls.py",
            "chat/templates/registration/login.html",
            "chat/templates/chat/room.html",
            "shell",
            "pytest.ini",
            "chat/test_chat.py",
        ):
            assert needed in targets, (name, needed)


@dataclass
class Project:
    """A project made by ``startproject`` and filled from a document's blocks."""

    directory: Path
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)

    def run(self, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=self.directory,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"{' '.join(args)} failed:\n{output}"
        return output

    def manage(self, *args: str, stdin: str | None = None) -> str:
        return self.run("manage.py", *args, stdin=stdin)

    def start(self, name: str, port: int, *args: str) -> Process:
        process = Process(name, list(args), port, "", self.directory, env=self.env)
        self.processes.append(process)
        process.start()
        return process

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


def no_credentials_env(home: Path) -> dict[str, str]:
    """The environment with no AWS credentials anywhere (see the credentials test)."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARIABLES}
    for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL", "AWS_REGION", "AWS_DEFAULT_REGION"):
        env.pop(name, None)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        empty = home / name.lower()
        empty.write_text("")
        env[name] = str(empty)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def build(document: Path, directory: Path) -> Project:
    """``startproject`` + ``startapp``, then the document's blocks, then migrate and users."""
    env = no_credentials_env(directory.parent)
    env["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
    # The package as `pip install -e` of this checkout gives it (src first on the path).
    env["PYTHONPATH"] = f"{directory}:{ROOT / 'src'}"
    env["PYTHONUNBUFFERED"] = "1"
    directory.mkdir()
    project = Project(directory, env)
    project.run("-m", "django", "startproject", "mysite", ".")
    project.manage("startapp", "chat")
    shell: list[str] = []
    for target, code in project_blocks(document):
        if target == "settings":
            with (directory / "mysite" / "settings.py").open("a") as settings:
                settings.write(f"\n{code}")
        elif target == "shell":
            shell.append(code)
        else:
            path = directory / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
    settings_text = (directory / "mysite" / "settings.py").read_text()
    assert "ALLOWED_HOSTS = []" in settings_text  # startproject's default, untouched
    project.manage("migrate", "--noinput", "-v", "0")
    for user in ("ann", "bob", "carol"):
        project.env["DJANGO_SUPERUSER_PASSWORD"] = PASSWORD
        project.manage("createsuperuser", "--noinput", "--username", user, "--email", "a@b.test")
    for code in shell:
        project.manage("shell", stdin=code)
    return project


class Browserless:
    """A user's HTTP session with the project: cookies, the login form, the token endpoint."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.cookies))

    def cookie(self, name: str) -> str:
        return next(c.value for c in self.cookies if c.name == name and c.value is not None)

    def get(self, path: str) -> str:
        with self.opener.open(f"{self.base}{path}", timeout=30) as response:
            return str(response.read().decode())

    def post(self, path: str, data: dict[str, str] | None = None) -> Any:
        request = Request(
            f"{self.base}{path}",
            data=urlencode(data or {}).encode(),
            headers={"X-CSRFToken": self.cookie("csrftoken"), "Referer": f"{self.base}{path}"},
        )
        with self.opener.open(request, timeout=30) as response:
            return response.read().decode()

    def log_in(self, username: str) -> None:
        self.get("/login/")
        landing = self.post(
            "/login/",
            {
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": self.cookie("csrftoken"),
            },
        )
        assert "websocket-config" in landing  # LOGIN_REDIRECT_URL: the room page

    def page_config(self) -> dict[str, Any]:
        html = self.get("/")
        config = re.search(r'<script id="websocket-config"[^>]*>(.*?)</script>', html, re.S)
        assert config is not None, html
        return dict(json.loads(config.group(1)))

    def connect_url(self) -> str:
        config = self.page_config()
        token = json.loads(self.post("/ws-token/"))["token"]
        assert config["url"], config
        return f"{config['url']}&ws_token={token}"

    def handshake_headers(self) -> dict[str, str]:
        cookies = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        return {"Cookie": cookies, "Origin": self.base}


@pytest.fixture(params=list(DOCUMENTS), ids=list(DOCUMENTS))
def running(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Project, str]]:
    project = build(DOCUMENTS[request.param], tmp_path / "site")
    http_port, ws_port = free_port(), free_port()
    try:
        # (Process runs `python -m django ...`: manage.py's command line, settings from the env)
        project.start("django", http_port, "runserver", f"127.0.0.1:{http_port}")
        project.start(
            "gateway",
            ws_port,
            "runwsgateway",
            "--port",
            str(ws_port),
            "--backend",
            f"http://127.0.0.1:{http_port}",
        )
        yield project, f"http://127.0.0.1:{http_port}"
    except BaseException:
        print("\n".join(p.log() for p in project.processes))
        raise
    finally:
        project.stop()


def receive(ws: Any, timeout: float = 10) -> Any:
    return json.loads(ws.recv(timeout=timeout))


def wait_for_line(page: Any, text: str) -> None:
    """Wait until the page's log shows ``text`` (the README's page writes one <li> each)."""
    page.wait_for_function(
        "(text) => [...document.querySelectorAll('#log li')].some((li) => li.textContent === text)",
        arg=text,
        timeout=10000,
    )


def nothing_more(ws: Any) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.5)


def test_the_documented_project_works(running: tuple[Project, str]) -> None:
    project, base = running
    from websockets.sync.client import connect

    ann, bob = Browserless(base), Browserless(base)
    ann.log_in("ann")
    bob.log_in("bob")
    with (
        connect(ann.connect_url(), additional_headers=ann.handshake_headers()) as ann_ws,
        connect(bob.connect_url(), additional_headers=bob.handshake_headers()) as bob_ws,
    ):
        # ann through the page's route (action: chat), bob through $default
        ann_ws.send(json.dumps({"action": "chat", "handler": "say", "text": "hi bob"}))
        assert receive(ann_ws) == receive(bob_ws) == {"user": "ann", "text": "hi bob"}
        nothing_more(ann_ws)  # no stray frame for the sender
        bob_ws.send(json.dumps({"handler": "say", "text": "hi ann"}))
        assert receive(ann_ws) == receive(bob_ws) == {"user": "bob", "text": "hi ann"}
        nothing_more(bob_ws)

        with chromium() as browser:
            page = browser.new_page()
            errors = watch_page_errors(page)
            page.goto(f"{base}/")  # LoginRequiredMixin: to the login page
            page.fill("input[name=username]", "carol")
            page.fill("input[name=password]", PASSWORD)
            page.click("button")
            page.wait_for_function(
                "document.getElementById('status').textContent === 'open'", timeout=20000
            )
            page.fill("#say input[name=text]", "hello from chromium")
            page.click("#say button")
            expected = {"user": "carol", "text": "hello from chromium"}
            assert receive(ann_ws) == receive(bob_ws) == expected
            wait_for_line(page, "carol: hello from chromium")

            # A broadcast from another process, with no AWS credentials anywhere.
            output = project.manage(
                "shell",
                stdin=(
                    "from django_aws_api_gateway_websockets.models import WebSocketSession\n"
                    "result = WebSocketSession.objects.send_message("
                    "{'user': 'server', 'text': 'everyone'})\n"
                    "print('summary', result.summary())\n"
                ),
            )
            assert "summary {'sent': 3, 'gone': 0, 'failed': 0}" in output, output
            everyone = {"user": "server", "text": "everyone"}
            assert receive(ann_ws) == receive(bob_ws) == everyone
            wait_for_line(page, "server: everyone")
            page.close()
            assert errors == []

    # The document's testing snippet, in the project's own pytest.
    output = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "chat/test_chat.py")
    assert "1 passed" in output, output
