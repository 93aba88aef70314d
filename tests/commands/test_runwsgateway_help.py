"""``runwsgateway --help`` shows every option's default, and with no rows to serve the command
prints the line that creates one."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command, load_command_class

from django_aws_api_gateway_websockets.local_gateway.cli import DEFAULTS, NO_ROWS


def help_text() -> str:
    command = load_command_class("django_aws_api_gateway_websockets", "runwsgateway")
    return re.sub(r"\s+", " ", command.create_parser("manage.py", "runwsgateway").format_help())


def test_help_shows_the_defaults() -> None:
    text = help_text()
    for option, default in [
        ("--host HOST", "127.0.0.1"),
        ("--port PORT", "8001"),
        ("--idle-timeout IDLE_TIMEOUT", str(DEFAULTS.idle_timeout)),
        ("--max-connection-age MAX_CONNECTION_AGE", str(DEFAULTS.max_connection_age)),
        ("--max-frame-bytes MAX_FRAME_BYTES", str(DEFAULTS.max_frame_bytes)),
        ("--connections-per-second CONNECTIONS_PER_SECOND", "500"),
        ("--backend-concurrency BACKEND_CONCURRENCY", str(DEFAULTS.backend_concurrency)),
    ]:
        entry = text.split(f"{option} ", 1)[1][:160]
        assert f"default: {default})" in entry or f"default: {default} " in entry, (option, entry)
    # Django's own options are left as Django writes them.
    assert "--traceback Display a full stack trace on CommandError exceptions. --no-color" in text


@pytest.mark.django_db
def test_no_rows_prints_how_to_create_one() -> None:
    out = io.StringIO()
    with pytest.raises(CommandError, match="nothing to serve"):
        call_command("runwsgateway", "--port", "0", stdout=out)
    assert NO_ROWS in out.getvalue()
    assert 'ApiGateway.objects.create(api_name="Chat", target_base_endpoint=' in NO_ROWS
