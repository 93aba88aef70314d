"""``manage.py runwsgateway`` and ``python -m ...local_gateway``: options, start-up lines,
serving, and a clean stop that sends $disconnect and gives the rows their endpoint back."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from django_aws_api_gateway_websockets.local_gateway import cli
from django_aws_api_gateway_websockets.management.commands.runwsgateway import Command
from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession

pytestmark = pytest.mark.django_db(transaction=True)


class Output(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            return super().write(text)

    def text(self) -> str:
        with self.lock:
            return self.getvalue()


def parse(*args: str) -> dict:
    parser = Command().create_parser("manage.py", "runwsgateway")
    return vars(parser.parse_args(list(args)))


def test_options_have_aws_defaults():
    options = parse()
    limits = cli.limits_from_options(options)
    assert (options["host"], options["port"], options["api"]) == ("127.0.0.1", 8001, [])
    assert limits.max_frame_bytes == 32768 and limits.max_message_bytes == 131072
    assert limits.idle_timeout == 600 and limits.max_connection_age == 7200
    assert limits.integration_timeout is None and limits.connections_per_second == 500
    assert limits.management_latency_ms == 0
    options = parse("--api", "A", "--api", "B", "--latency-ms", "25", "--idle-timeout", "5")
    assert options["api"] == ["A", "B"]
    assert cli.limits_from_options(options).management_latency_ms == 25


def test_backend_concurrency_is_safe_for_runserver_by_default():
    """Django's development server has a listen backlog of 10: by default the gateway sends it
    at most 8 requests at once (``test_burst_defaults.py`` bursts through both processes;
    ``tests/commands/test_runwsgateway_help.py`` checks that ``--help`` says so)."""
    assert cli.limits_from_options(parse()).backend_concurrency == 8
    assert cli.limits_from_options(parse("--backend-concurrency", "0")).backend_concurrency == 0


def test_unknown_api_and_no_rows_are_command_errors():
    with pytest.raises(CommandError, match="nothing to serve"):
        call_command("runwsgateway", stdout=io.StringIO())
    ApiGateway.objects.create(api_name="Real")
    with pytest.raises(CommandError, match="No ApiGateway named 'Missing'"):
        call_command("runwsgateway", "--api", "Missing", stdout=io.StringIO())


def test_serves_until_stopped(live_server, browser, settings):
    settings.WEBSOCKETS = {"require_gateway_secret": True}
    gateway = ApiGateway.objects.create(
        api_name="Served",
        target_base_endpoint="https://www.example.com/ws/",
        api_endpoint="wss://previous.example/",
        secret=ApiGateway.generate_secret(),
    )
    ApiGateway.objects.create(api_name="Not served", target_base_endpoint="https://x.example/")
    options = parse(
        "--api", "Served", "--port", "0", "--backend", live_server.url, "--backend-concurrency", "1"
    )
    out, stop, outcome = Output(), threading.Event(), {}
    token = browser.quick_token()  # the ORM stays in this thread

    def client() -> None:
        try:
            deadline = time.monotonic() + 20
            while "Quit with CONTROL-C." not in out.text():
                assert time.monotonic() < deadline, out.text()
                time.sleep(0.02)
            url = next(line.split()[-1] for line in out.text().splitlines() if "connect:" in line)
            with connect(
                f"{url}?ws_token={token}",
                additional_headers={"Cookie": browser.cookie},
                origin=live_server.url,
                open_timeout=10,
            ) as ws:
                ws.send(json.dumps({"handler": "echo", "text": "via command"}))
                outcome["reply"] = json.loads(ws.recv(timeout=10))
                outcome["endpoint"] = url
                stop.set()
                with contextlib.suppress(ConnectionClosed):
                    ws.recv(timeout=10)  # the gateway closes the socket when it stops
                outcome["close_code"] = ws.close_code
        except BaseException as error:  # reported by the main thread
            outcome["error"] = error
            stop.set()

    thread = threading.Thread(target=client)
    thread.start()
    # the main thread runs the command, as manage.py does (signal handlers included)
    assert cli.run(options, out, stop=stop) == 0
    thread.join(20)
    if "error" in outcome:
        raise outcome["error"]
    assert outcome.get("reply") == {"echo": "via command", "user": "alice"}, (outcome, out.text())
    assert outcome["close_code"] == 1001
    text = out.text()
    assert "Local API Gateway listening on http://127.0.0.1:" in text
    assert "Management API:  http://127.0.0.1:" in text and "/@connections/{connectionId}" in text
    assert f"$connect         -> {live_server.url}/ws/connect" in text
    assert "Not served" not in text
    assert "Local API Gateway stopped." in text
    gateway.refresh_from_db()
    assert gateway.api_endpoint == "wss://previous.example/"  # given back
    assert len(gateway.api_id) == 10 and gateway.api_id in outcome["endpoint"]
    session = WebSocketSession.objects.get()
    assert not session.connected and session.user == browser.user


def test_module_entry_point_help():
    result = subprocess.run(
        [sys.executable, "-m", "django_aws_api_gateway_websockets.local_gateway", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for option in ("--api", "--host", "--port", "--latency-ms", "--idle-timeout", "--settings"):
        assert option in result.stdout


def test_port_in_use_is_a_command_error_and_leaves_rows_alone():
    ApiGateway.objects.create(api_name="Busy", target_base_endpoint="https://x.example/ws/")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match="address already in use"):
            call_command("runwsgateway", "--port", str(port), stdout=io.StringIO())
    gateway = ApiGateway.objects.get()
    assert gateway.api_endpoint == ""
