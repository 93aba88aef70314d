"""The command line of the local gateway, shared by ``manage.py runwsgateway`` and
``python -m django_aws_api_gateway_websockets.local_gateway``."""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from .limits import Limits

DEFAULTS = Limits()

#: What ``run`` says when there is nothing to serve: how to make a row for local use.
NO_ROWS = (
    "No ApiGateway rows to serve: create one first, e.g. in `python manage.py shell`:\n"
    "    from django_aws_api_gateway_websockets.models import ApiGateway\n"
    '    ApiGateway.objects.create(api_name="Chat", '
    'target_base_endpoint="http://127.0.0.1:8000/ws/")\n'
    "(your WebSocketView's URLs: ws/connect, ws/disconnect, ws/default; see the README).\n"
)


class Writer(Protocol):
    def write(self, text: str, /) -> Any: ...

    def flush(self) -> Any: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    first = len(parser._actions)  # Django's own options come before ours
    parser.add_argument(
        "--api",
        action="append",
        default=[],
        metavar="NAME",
        help="api_name of a gateway to serve (repeatable; default: every ApiGateway row)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8001, help="port to listen on (0: any)")
    parser.add_argument(
        "--public-url",
        default=None,
        help="ws:// URL the rows' api_endpoint starts with (default ws://HOST:PORT)",
    )
    parser.add_argument(
        "--backend",
        default=None,
        metavar="URL",
        help="send every integration to this scheme://host:port instead of the row's",
    )
    parser.add_argument(
        "--forwarded-proto", default="http", help="X-Forwarded-Proto sent to Django"
    )
    limits = parser.add_argument_group("limits (API Gateway's defaults)")
    limits.add_argument("--max-frame-bytes", type=int, default=DEFAULTS.max_frame_bytes)
    limits.add_argument("--max-message-bytes", type=int, default=DEFAULTS.max_message_bytes)
    limits.add_argument("--idle-timeout", type=float, default=DEFAULTS.idle_timeout, help="seconds")
    limits.add_argument(
        "--max-connection-age", type=float, default=DEFAULTS.max_connection_age, help="seconds"
    )
    limits.add_argument(
        "--integration-timeout",
        type=float,
        default=None,
        help="seconds (default: each integration's own, 29)",
    )
    limits.add_argument(
        "--connections-per-second", type=int, default=DEFAULTS.connections_per_second
    )
    limits.add_argument(
        "--management-rate",
        type=int,
        default=DEFAULTS.management_requests_per_second,
        help="Management API calls per second (0: no limit)",
    )
    limits.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULTS.management_latency_ms,
        help="delay added to every Management API call",
    )
    limits.add_argument("--max-post-bytes", type=int, default=DEFAULTS.max_post_bytes)
    parser.add_argument(
        "--virtual-connections",
        type=int,
        default=0,
        metavar="N",
        help="benchmark mode: register N connections without clients on the first gateway "
        "(with their sessions); posts to them are counted and dropped",
    )
    limits.add_argument(
        "--backend-concurrency",
        type=int,
        default=DEFAULTS.backend_concurrency,
        help="integration requests in flight at once (0: no limit)",
    )
    _show_defaults(parser._actions[first:])


def _show_defaults(actions: list[argparse.Action]) -> None:
    """Append ``(default: ...)`` to the help of every option of ``actions`` that has a default
    and does not say it already (``--help`` then shows each limit's AWS value)."""
    for action in actions:
        if action.default in (None, [], argparse.SUPPRESS) or not action.option_strings:
            continue
        if action.help is argparse.SUPPRESS or "default" in (action.help or ""):
            continue
        action.help = f"{action.help} (default: %(default)s)" if action.help else (
            "default: %(default)s"
        )


def limits_from_options(options: dict[str, Any]) -> Limits:
    return Limits(
        max_frame_bytes=options["max_frame_bytes"],
        max_message_bytes=options["max_message_bytes"],
        idle_timeout=options["idle_timeout"],
        max_connection_age=options["max_connection_age"],
        integration_timeout=options["integration_timeout"],
        connections_per_second=options["connections_per_second"],
        management_requests_per_second=options["management_rate"],
        management_latency_ms=options["latency_ms"],
        max_post_bytes=options["max_post_bytes"],
        backend_concurrency=options["backend_concurrency"],
    )


def run(options: dict[str, Any], stdout: Writer, stop: threading.Event | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``stop`` is set); 0 on a clean stop."""
    from .service import LocalGatewayService, load_gateways

    gateways = load_gateways(options["api"])
    if not gateways:
        stdout.write(NO_ROWS)
        return 1
    service = LocalGatewayService(
        host=options["host"],
        port=options["port"],
        limits=limits_from_options(options),
        backend_url=options["backend"],
        public_url=options["public_url"],
        forwarded_proto=options["forwarded_proto"],
    )
    stop = stop or threading.Event()
    restore = _install_signal_handlers(stop.set)
    try:
        service.serve(*gateways)
        stdout.write(f"Local API Gateway listening on {service.gateway.base_url}\n")
        if options.get("virtual_connections"):
            count = options["virtual_connections"]
            service.add_virtual_connections(gateways[0], count)
            stdout.write(f"{count} virtual connections on {gateways[0].api_name}\n")
        for gateway in gateways:
            stdout.write("\n".join(service.describe(gateway)) + "\n")
        stdout.write("Quit with CONTROL-C.\n")
        stdout.flush()
        while not stop.wait(0.5):
            service.sweep()
    except KeyboardInterrupt:
        pass
    finally:
        stdout.write("Stopping: closing connections and sending $disconnect...\n")
        stdout.flush()
        service.close()
        restore()
        stdout.write("Local API Gateway stopped.\n")
        stdout.flush()
    return 0


def _install_signal_handlers(callback: Callable[[], None]) -> Callable[[], None]:
    """Route SIGINT and SIGTERM to ``callback`` (main thread only); returns an undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        callback()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def undo() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return undo
