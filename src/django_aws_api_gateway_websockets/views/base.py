"""What every part of the callback view shares: its settings, its per-request state, the parsed
body, and the one loop that runs a list of named checks.

``WebSocketView`` (``callback.py``) is built on :class:`WebSocketViewBase` through the
``$connect`` checks (``connect.py``) and the existing package's hooks (``legacy.py``). The class
attributes below are the ones projects set on their subclasses (same names and defaults as
the existing package).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from html import escape
from typing import Any, ClassVar

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase
from django.views.generic import View

from ..models import ApiGateway, WebSocketSession
from ..wire import CLIENT_IP_HEADER, CONNECTION_ID_HEADER, USER_AGENT_PREFIX
from .responses import BODY_TOO_LARGE, INVALID_FORMAT

#: The header naming the calling API (API Gateway sets it on every callback).
API_ID_HEADER = "X-Amzn-Apigateway-Api-Id"

#: Headers WSGI keeps in ``META`` without the ``HTTP_`` prefix (PEP 3333).
_UNPREFIXED = frozenset({"CONTENT_TYPE", "CONTENT_LENGTH"})


@functools.cache
def meta_key(name: str) -> str:
    """The ``request.META`` key of the header ``name`` (``X-Real-Ip`` → ``HTTP_X_REAL_IP``)."""
    key = name.upper().replace("-", "_")
    return key if key in _UNPREFIXED else f"HTTP_{key}"


def header(request: HttpRequest, name: str, default: str = "") -> str:
    """The header ``name`` of ``request``, or ``default``: ``request.headers.get`` without
    building ``request.headers`` (a dict of every header, each name parsed from ``META``)."""
    return str(request.META.get(meta_key(name), default))


def optional_header(request: HttpRequest, name: str) -> str | None:
    """The header ``name`` of ``request``, or ``None`` when it was not sent."""
    value = request.META.get(meta_key(name))
    return None if value is None else str(value)


def has_header(request: HttpRequest, name: str) -> bool:
    return meta_key(name) in request.META


#: A check: ``None`` to pass, or the response to stop with.
Check = Callable[[HttpRequest], HttpResponseBase | None]

_CHANNEL_FIELD_LENGTH = WebSocketSession._meta.get_field("channel_name").max_length or 128


class WebSocketViewBase(View):
    """The callback view's settings and per-request state (see ``WebSocketView``)."""

    debug = False
    debug_log: list[str] | None = None

    SEND_EXCEPTION_MAIL = True
    EXCEPTION_MAIL_INTERVAL = 60  # seconds between two exception mails of a view (release 4.1)
    CHECK_CONNECT_USERAGENT = False  # True: $connect needs a browser's User-Agent (release 4.1)
    MAX_BODY_SIZE = 1024 * 128
    MAX_CHANNEL_NAME_LENGTH = 128
    CHANNEL_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]+$")

    ALLOWED_HANDLERS: Iterable[str] = set()
    ADDITIONAL_ALLOWED_HANDLERS: ClassVar[Iterable[str]] = []
    USE_WS_TOKEN = True
    RATE_LIMIT_ENABLED = True
    RATE_LIMIT_MAX_ATTEMPTS = 0  # 0: WEBSOCKETS["rate_limit_max_attempts"]
    RATE_LIMIT_WINDOW_MINUTES = 0  # 0: WEBSOCKETS["rate_limit_window_minutes"]

    route_selection_key = "action"  # legacy; handler_selection_key wins
    handler_selection_key = "handler"
    model = None
    body: Any = None
    aws_api_gateway_id: str | None = None  # pin the view to one API id; None allows all
    api_gateway: ApiGateway | None = None
    websocket_session: WebSocketSession | None = None
    required_headers = [
        "Host",
        "X-Forwarded-For",
        "X-Forwarded-Proto",
        "Content-Length",
        "Connectionid",  # wire.CONNECTION_ID_HEADER as Django spells it; matched case-blind
        "User-Agent",
        API_ID_HEADER,
    ]
    additional_required_headers = ["X-Amzn-Trace-Id", "X-Forwarded-Port", CLIENT_IP_HEADER]
    required_connection_headers = [
        "Cookie",
        "Origin",
        "Sec-Websocket-Extensions",
        "Sec-Websocket-Key",
        "Sec-Websocket-Version",
    ]
    expected_useragent_prefix = USER_AGENT_PREFIX

    permissions_required: ClassVar[Iterable[str]] = []  # ANY of these
    all_permissions_required: ClassVar[Iterable[str]] = []  # ALL of these

    # The check names run per event, in order (set on WebSocketView).
    common_checks: ClassVar[tuple[str, ...]]
    connect_checks: ClassVar[tuple[str, ...]]
    message_checks: ClassVar[tuple[str, ...]]
    disconnect_checks: ClassVar[tuple[str, ...]]

    # Per-request state the checks pass along.
    _body_error: str | None
    _recent_ip_attempts: int | None  # $connect: the IP's attempts, counted by check_gateway
    _gateway_from_cache: bool  # $connect: check_gateway's gateway came from gateway_cache
    _ip: str  # $connect: the client's IP (connect())
    _attempt_user: Any  # $connect: the user the rate limit counts, if any
    _channel: str  # $connect: the channel check_channel chose
    _handler: Callable[..., Any]  # messages: the handler check_handler chose

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        """Parse the JSON body into :attr:`body` (an empty dict when there is none). With
        ``debug``, :attr:`debug_log` traces it as the existing package did."""
        super().setup(request, *args, **kwargs)
        self._debug("Within setup")
        self.body = {}
        self._body_error = None
        try:
            raw = request.body
        except RequestDataTooBig:
            raw = None
        if raw is None or len(raw) > self.MAX_BODY_SIZE:
            self._body_error = BODY_TOO_LARGE
            self._debug("Request body too large")
            return
        if raw:
            self._parse_body(raw)
        self._debug("Setup completed")

    def _parse_body(self, raw: bytes) -> None:
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            self._body_error = INVALID_FORMAT
            self._debug("Body is invalid JSON")
            return
        if not isinstance(parsed, dict):
            self._body_error = INVALID_FORMAT
            self._debug("Body is not a JSON object")
            return
        self.body = parsed

    def _run_checks(
        self, request: HttpRequest, names: Iterable[str]
    ) -> tuple[str, HttpResponseBase] | None:
        """Run the checks ``names`` in order; the first refusal stops them: ``(its name, its
        response)``. ``None`` when every check passed."""
        for name in names:
            check: Check = getattr(self, name)
            rejection = check(request)
            if rejection is not None:
                return name, rejection
        return None

    def _event(self) -> str:
        """``"connect"``, ``"disconnect"`` or ``"message"``, from the URL's ``route``."""
        route = self.kwargs.get("route") if hasattr(self, "kwargs") else None
        if route in ("connect", "disconnect"):
            return str(route)
        return "message"

    @staticmethod
    def _connection_id(request: HttpRequest) -> str:
        return header(request, CONNECTION_ID_HEADER)

    def _valid_channel(self, channel: Any) -> bool:
        """``channel`` is a channel name: within both length limits, matching the pattern."""
        limit = min(self.MAX_CHANNEL_NAME_LENGTH, _CHANNEL_FIELD_LENGTH)
        return (
            isinstance(channel, str)
            and 0 < len(channel) <= limit
            and bool(self.CHANNEL_NAME_PATTERN.match(channel))
        )

    # -- debugging (kept from the existing package) ------------------------------------------------

    def _debug(self, msg: str) -> None:
        if self.debug and self.debug_log is not None:
            self.debug_log.append(escape(str(msg)[:500]))
