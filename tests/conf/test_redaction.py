"""No log line shows a token or a secret: query strings are redacted by one function
(``redaction.redact``) wherever a URL or an error text is logged.

The end-to-end case is the one reported: Django is down, a browser connects to the local
gateway with a real, unspent ``ws_token``, and the gateway logs the failed ``$connect``. It runs
``manage.py runwsgateway`` in a subprocess (all of its log records on stderr, at DEBUG) and
greps its whole output, and the same integration call in-process, greping ``caplog``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from django_aws_api_gateway_websockets.local_gateway.config import RouteTarget
from django_aws_api_gateway_websockets.local_gateway.context import RequestContext
from django_aws_api_gateway_websockets.local_gateway.integration import HttpProxyIntegration
from django_aws_api_gateway_websockets.local_gateway.limits import Limits
from django_aws_api_gateway_websockets.redaction import REDACTED, RedactingFilter, redact
from tests.support.paths import ROOT
from tests.support.ports import free_port, wait_for_port

TOKEN = "4f2b9c0e7d1a4b3c8e6f5a2d9c7b1e0f4f2b9c0e7d1a4b3c8e6f5a2d9c7b1e0f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"/ws/connect?ws_token={TOKEN}", f"/ws/connect?ws_token={REDACTED}"),
        (f"x?channel=a&ws_token={TOKEN}&b=1", f"x?channel=a&ws_token={REDACTED}&b=1"),
        ("u?token=abc&access_token=def", f"u?token={REDACTED}&access_token={REDACTED}"),
        ("u?client_secret=s1&password=p", f"u?client_secret={REDACTED}&password={REDACTED}"),
        (
            "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=ab12",
            f"https://b.s3.amazonaws.com/k?X-Amz-Credential={REDACTED}&X-Amz-Signature={REDACTED}",
        ),
        ("u?WS_TOKEN=abc#frag", f"u?WS_TOKEN={REDACTED}#frag"),
        (
            "error for 'http://h/p?ws_token=abc': refused",
            f"error for 'http://h/p?ws_token={REDACTED}': refused",
        ),
        ("u?channel=room&page=2", "u?channel=room&page=2"),  # nothing secret: unchanged
        ("tokens=3 of 5", "tokens=3 of 5"),  # not a query parameter... but looks like one
    ],
)
def test_redact(text: str, expected: str) -> None:
    if text == "tokens=3 of 5":
        # A "name=value" outside a query string is redacted too: losing a count in a log
        # line is cheap, a leaked secret is not.
        assert redact(text) == f"tokens={REDACTED} of 5"
        return
    assert redact(text) == expected


def test_the_filter_redacts_records_of_loggers_we_do_not_call() -> None:
    record = logging.LogRecord(
        "aiohttp.access", logging.INFO, "", 0, "GET %s", ("/p?ws_token=x",), None
    )
    assert RedactingFilter().filter(record)
    assert record.getMessage() == f"GET /p?ws_token={REDACTED}"


def test_an_unreachable_integration_logs_no_token(caplog: pytest.LogCaptureFixture) -> None:
    route = RouteTarget("$connect", f"http://127.0.0.1:{free_port()}/ws/connect", {}, 1.0, False)
    context = RequestContext(
        api_id="abc123",
        stage="production",
        connection_id="Llf4ceE2NjMCF7w=",
        request_id="r",
        source_ip="127.0.0.1",
        user_agent="test",
        event_type="CONNECT",
        route_key="$connect",
        connected_at=0.0,
        headers=CIMultiDictProxy(CIMultiDict()),
        query=f"channel=room&ws_token={TOKEN}",
        domain_name="127.0.0.1:1",
        port=1,
        proto="http",
    )

    async def call() -> str:
        integration = HttpProxyIntegration()
        await integration.open(keep_alive=False)
        try:
            result = await integration.call(
                route, context, b"", Limits(), client_headers=CIMultiDictProxy(CIMultiDict())
            )
        finally:
            await integration.close()
        return result.outcome

    with caplog.at_level(logging.DEBUG):
        assert asyncio.run(call()) == "unreachable"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "unreachable" in logged and f"ws_token={REDACTED}" in logged
    assert TOKEN not in logged
    assert TOKEN not in caplog.text


def _django(db: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.file_db_settings",
        "WEBSOCKETS_TEST_SQLITE": str(db),
        "WEBSOCKETS_TEST_LOG_STDERR": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _run(db: Path, *args: str) -> str:
    process = _django(db, *args)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, (out + err).decode(errors="replace")
    return out.decode()


def test_the_gateway_logs_no_token_when_django_is_down(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    _run(db, "migrate", "-v", "0")
    _run(
        db,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; "
        "from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketToken; "
        "ApiGateway.objects.create(api_name='Chat', "
        "target_base_endpoint='http://127.0.0.1:9/ws/'); "
        "u = User.objects.create(username='u'); "
        f"WebSocketToken.objects.create(token='{TOKEN}', user=u, session_key='s')",
    )
    port, down = free_port(), free_port()  # nothing listens on ``down``: Django is down
    gateway = _django(
        db, "runwsgateway", "--port", str(port), "--backend", f"http://127.0.0.1:{down}"
    )
    try:
        wait_for_port(port)
        url = _run(
            db,
            "shell",
            "-c",
            "from django_aws_api_gateway_websockets.models import ApiGateway; "
            "print(ApiGateway.objects.get().websocket_url())",
        ).split()[-1]  # (the shell may print a line of its own first)

        async def connect() -> int:
            async with aiohttp.ClientSession() as session:
                try:
                    async with session.ws_connect(f"{url}?channel=room&ws_token={TOKEN}"):
                        return 101
                except aiohttp.WSServerHandshakeError as error:
                    return error.status

        assert asyncio.run(connect()) == 500
        time.sleep(0.5)  # let the warning reach stderr
    finally:
        gateway.terminate()
        out, err = gateway.communicate(timeout=30)
    logged = (out + err).decode(errors="replace")
    assert "unreachable" in logged, logged  # the line is there...
    assert f"ws_token={REDACTED}" in logged
    assert TOKEN not in logged  # ...without the token
