"""The README's first command, exercised as CI runs it: scripts/demo.sh --smoke.

It sets up the demo (migrate, demo user, gateway record with a secret), starts Django and the
local gateway, logs in, connects, exchanges messages and receives pushes, then stops both. The
database it leaves behind must show the connection closed and the gateway row restored.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from tests.support.ports import free_port


@pytest.mark.skipif(sys.platform == "win32", reason="bash script")
def test_demo_script_smoke(tmp_path: Path) -> None:
    http_port, ws_port = free_port(), free_port()
    database = tmp_path / "demo.sqlite3"
    env = {
        **os.environ,
        "DEMO_HTTP_PORT": str(http_port),
        "DEMO_WS_PORT": str(ws_port),
        "DEMO_DB": str(database),
        # the interpreter running the tests already has the package and the [local] extra
        "DEMO_VENV": sys.prefix,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), "--smoke"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "smoke OK" in result.stdout
    assert f"connect:         ws://127.0.0.1:{ws_port}/" in result.stdout
    assert "Local API Gateway stopped." in result.stdout
    for port in (http_port, ws_port):  # both servers are gone
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0
    with sqlite3.connect(database) as db:
        sessions = db.execute(
            "SELECT connected FROM django_aws_api_gateway_websockets_websocketsession"
        ).fetchall()
        gateway = db.execute(
            "SELECT api_id, api_endpoint, secret FROM django_aws_api_gateway_websockets_apigateway"
        ).fetchone()
    db.close()
    assert sessions == [(0,)]
    api_id, endpoint, secret = gateway
    assert len(api_id) == 10 and endpoint == "" and secret


def test_module_entry_point_serves_and_stops_cleanly(tmp_path: Path) -> None:
    """``python -m django_aws_api_gateway_websockets.local_gateway`` on the demo project:
    the start-up lines, the row pointed at it while it runs, and SIGINT giving it back."""
    import signal
    import time

    database = tmp_path / "demo.sqlite3"
    env = {**os.environ, "DEMO_DB": str(database), "DJANGO_SETTINGS_MODULE": "demo.settings"}
    example = ROOT / "example"
    for command in (["migrate", "--noinput", "-v", "0"], ["setup_demo"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=example, env=env, check=True, timeout=120
        )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django_aws_api_gateway_websockets.local_gateway",
            "--pythonpath",
            str(example),
            "--port",
            str(port),
            "--api",
            "Demo",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Quit with CONTROL-C." in line:
                break
        assert any(f"connect:         ws://127.0.0.1:{port}/" in line for line in lines), lines
        with sqlite3.connect(database) as db:
            (endpoint,) = db.execute(
                "SELECT api_endpoint FROM django_aws_api_gateway_websockets_apigateway"
            ).fetchone()
        db.close()
        assert endpoint.startswith(f"ws://127.0.0.1:{port}/")
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, "".join(lines) + rest
    assert "Local API Gateway stopped." in rest
    with sqlite3.connect(database) as db:
        (endpoint,) = db.execute(
            "SELECT api_endpoint FROM django_aws_api_gateway_websockets_apigateway"
        ).fetchone()
    db.close()
    assert endpoint == ""
