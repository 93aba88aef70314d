"""The two views: the callback endpoint API Gateway calls, and the one-time token endpoint.

``WebSocketView`` handles every callback as a pipeline of named checks run in a visible order.
Each check returns ``None`` to pass or a response to stop with; every rejection is a 4xx with a
short fixed body that echoes nothing from the request or from settings.

- every event: ``check_headers`` -> ``check_gateway`` (registered gateway, pinned id, secret)
- ``$connect`` (inside :meth:`WebSocketView.connect`): ``check_rate_limit`` ->
  ``check_connection_headers`` -> ``check_host`` -> ``check_origin`` -> ``check_token`` ->
  ``check_user_hook`` -> ``check_channel`` -> the attempt is admitted by the rate limiter
  (insert, then count: safe under concurrency) -> the session row is created
- message: ``check_useragent`` -> ``check_session`` -> ``check_body`` -> ``check_handler`` ->
  ``check_permissions`` -> the handler runs
- ``$disconnect``: ``check_useragent`` -> :meth:`WebSocketView.disconnect`
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from html import escape
from typing import Any, ClassVar, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    HttpResponseForbidden,
    JsonResponse,
)
from django.http.request import split_domain_port, validate_host
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.generic import View

from . import gateway_cache
from .conf import conf
from .models import ApiGateway, ConnectionRateLimit, WebSocketSession, WebSocketToken
from .wire import SECRET_HEADER

logger = logging.getLogger(__name__)

Check = Callable[[HttpRequest], HttpResponseBase | None]

# Every body the view answers with on rejection. None of them echoes the request or settings.
INVALID_HEADERS = "Invalid request headers"
GATEWAY_FORBIDDEN = "Gateway authentication failed"
UNEXPECTED_USERAGENT = "Unexpected Useragent"
INVALID_FORMAT = "Invalid request format (1)"
BODY_TOO_LARGE = "Request body too large"
UNKNOWN_CONNECTION = "Unknown connection"
UNKNOWN_HANDLER = "Unknown handler"
PERMISSION_DENIED = "Permission Denied"
TOO_MANY_ATTEMPTS = "Too many connection attempts"
HOST_NOT_ALLOWED = "Host is not in AllowedHosts"
HOST_NOT_IN_ORIGIN = "Host is not in Origin"
INVALID_SESSION = "Invalid session"
INVALID_TOKEN = "Invalid or expired token"  # noqa: S105 - a message
INVALID_CHANNEL = "Invalid channel name"
DUPLICATE_CONNECTION = "Connection already exists"
INVALID_CONNECTION_ID = "Invalid connection id"

CONNECTION_ID_RE = re.compile(r"^[A-Za-z0-9_=-]{1,128}$")
API_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_CHANNEL_FIELD_LENGTH = WebSocketSession._meta.get_field("channel_name").max_length or 128


def _bad_request(message: str) -> HttpResponseBadRequest:
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


def _forbidden(message: str) -> HttpResponseForbidden:
    return HttpResponseForbidden(message, content_type="text/plain; charset=utf-8")


class WebSocketTokenView(View):
    """POST (with the session cookie and CSRF token) -> ``{"token": ..., "expires_in": ...}``.

    Only authenticated users get a token, at most ``token_rate_limit_per_minute`` a minute.
    Route it with the name ``websocket_token``.
    """

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return _forbidden("Authentication required")
        if not request.session.session_key:
            request.session.create()
        if not WebSocketToken.check_rate_limit(
            request.user, max_tokens_per_minute=conf.token_rate_limit_per_minute
        ):
            return _forbidden("Rate limit exceeded")
        session_key = request.session.session_key
        assert session_key is not None
        token = WebSocketToken.generate_token(user=request.user, session_key=session_key)
        return JsonResponse({"token": token.token, "expires_in": conf.token_expiry_seconds})


# Names defined by the base classes are never message handlers, except these.
_HANDLER_BASE_ALLOWED = frozenset({"default", "change_channel", "heartbeat"})


@method_decorator(csrf_exempt, name="dispatch")
class WebSocketView(View):
    """The endpoint API Gateway calls for ``$connect``, ``$disconnect`` and every message.

    Mount it on a URL with a ``route`` kwarg, e.g. ``path("ws/<slug:route>", View.as_view())``.
    Subclasses add message handlers as methods; the JSON body's ``"handler"`` (or the legacy
    ``"action"``) names the one to run, falling back to :meth:`default`.
    """

    debug = False
    debug_log: list[str] | None = None

    SEND_EXCEPTION_MAIL = True
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
        "Connectionid",
        "User-Agent",
        "X-Amzn-Apigateway-Api-Id",
    ]
    additional_required_headers = ["X-Amzn-Trace-Id", "X-Forwarded-Port", "X-Real-Ip"]
    required_connection_headers = [
        "Cookie",
        "Origin",
        "Sec-Websocket-Extensions",
        "Sec-Websocket-Key",
        "Sec-Websocket-Version",
    ]
    expected_useragent_prefix = "AmazonAPIGateway_"

    permissions_required: ClassVar[Iterable[str]] = []  # ANY of these
    all_permissions_required: ClassVar[Iterable[str]] = []  # ALL of these

    _handler: Callable[..., Any]

    def __init__(self, **kwargs: Any) -> None:
        self.api_gateway = kwargs.pop("api_gateway", None)
        self.websocket_session = kwargs.pop("websocket_session", None)
        self.debug = bool(kwargs.pop("debug", False))
        self.debug_log = []
        self.body = {}
        self._body_error: str | None = None
        # $connect: the IP's attempts in the window, counted by check_gateway's query.
        self._recent_ip_attempts: int | None = None
        self._gateway_from_cache = False
        super().__init__(**kwargs)
        if not self.RATE_LIMIT_MAX_ATTEMPTS:
            self.RATE_LIMIT_MAX_ATTEMPTS = conf.rate_limit_max_attempts
        if not self.RATE_LIMIT_WINDOW_MINUTES:
            self.RATE_LIMIT_WINDOW_MINUTES = conf.rate_limit_window_minutes
        self.ALLOWED_HANDLERS = self._allowed_handlers()

    # -- handlers ------------------------------------------------------------------------------

    @classmethod
    def _reserved_names(cls) -> frozenset[str]:
        names = {n for klass in (WebSocketView, *View.__mro__) for n in vars(klass)}
        return frozenset(names - _HANDLER_BASE_ALLOWED)

    def _get_current_class_methods(self) -> list[str]:
        """Public methods that subclasses of ``WebSocketView`` define (the handler candidates)."""
        names: list[str] = []
        for klass in type(self).__mro__:
            if klass is WebSocketView or not issubclass(klass, WebSocketView):
                continue
            names.extend(
                name
                for name, value in vars(klass).items()
                if not name.startswith("_") and callable(value)
            )
        return names

    def _allowed_handlers(self) -> set[str]:
        if self.ALLOWED_HANDLERS:
            names = set(self.ALLOWED_HANDLERS)
        else:
            names = {
                "default",
                *self.ADDITIONAL_ALLOWED_HANDLERS,
                *self._get_current_class_methods(),
            }
        reserved = self._reserved_names()
        allowed = {n for n in names if not n.startswith("_") and n not in reserved}
        return allowed | {"heartbeat"}  # the JS client's keep-alive is always answered

    # -- debugging (kept from the existing package) ------------------------------------------------

    def _debug(self, msg: str) -> None:
        if self.debug and self.debug_log is not None:
            self.debug_log.append(escape(str(msg)[:500]))

    # -- request set-up --------------------------------------------------------------------------

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        """Parse the JSON body into :attr:`body` (an empty dict when there is none)."""
        super().setup(request, *args, **kwargs)
        self.body = {}
        self._body_error = None
        try:
            raw = request.body
        except RequestDataTooBig:
            self._body_error = BODY_TOO_LARGE
            return
        if not raw:
            return
        if len(raw) > self.MAX_BODY_SIZE:
            self._body_error = BODY_TOO_LARGE
            return
        try:
            parsed = json.loads(raw)
        except (ValueError, RecursionError):
            self._body_error = INVALID_FORMAT
            return
        if not isinstance(parsed, dict):
            self._body_error = INVALID_FORMAT
            return
        self.body = parsed

    def _event(self) -> str:
        route = self.kwargs.get("route") if hasattr(self, "kwargs") else None
        if route in ("connect", "disconnect"):
            return str(route)
        return "message"

    @staticmethod
    def _connection_id(request: HttpRequest) -> str:
        return request.headers.get("Connectionid", "")

    # -- the pipeline ----------------------------------------------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method is None or request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        event = self._event()
        checks: list[Check] = [self.check_headers, self.check_gateway]
        if event == "connect":
            handler: Callable[..., Any] = self.connect
        elif event == "disconnect":
            checks.append(self.check_useragent)
            handler = self.disconnect
        else:
            checks += [
                self.check_useragent,
                self.check_session,
                self.check_body,
                self.check_handler,
                self.check_permissions,
            ]
            handler = self._run_handler
        for check in checks:
            rejection = check(request)
            if rejection is not None:
                return rejection
        try:
            response = handler(request, *args, **kwargs)
        except Exception as error:
            logger.exception("Unexpected WebSocket exception in %s", type(self).__name__)
            if self.SEND_EXCEPTION_MAIL:
                mail_admins("Unexpected Websocket Exception", str(error), fail_silently=True)
            raise
        return response if response is not None else JsonResponse({})

    # common checks

    def _expected_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        present = request.headers
        required = [*self.required_headers, *(self.additional_required_headers or [])]
        return all(h in present for h in required)

    def check_headers(self, request: HttpRequest) -> HttpResponseBase | None:
        """Every header API Gateway always sends is present, and the ids are well formed."""
        if not self._expected_headers(request):
            return self.missing_headers(request)
        if not API_ID_RE.match(request.headers["X-Amzn-Apigateway-Api-Id"]):
            return self.missing_headers(request)
        if not CONNECTION_ID_RE.match(self._connection_id(request)):
            return _bad_request(INVALID_CONNECTION_ID)
        return None

    def _fetch_session(self, request: HttpRequest) -> WebSocketSession | None:
        return (
            WebSocketSession.objects.select_related("api_gateway", "user")
            .filter(connection_id=self._connection_id(request))
            .first()
        )

    @sensitive_variables("provided")
    def check_gateway(self, request: HttpRequest) -> HttpResponseBase | None:
        """The caller is a registered gateway (the pinned one, if any) and knows its secret.

        For messages and disconnects the session is read here with its gateway in one query;
        a session that belongs to another gateway counts as unknown.
        """
        api_id = request.headers["X-Amzn-Apigateway-Api-Id"]
        if self.aws_api_gateway_id and api_id != self.aws_api_gateway_id:
            return self.missing_headers(request)
        gateway = None
        if self._event() != "connect":
            session = self._fetch_session(request)
            if session is not None and session.api_gateway and session.api_gateway.api_id == api_id:
                self.websocket_session = session
                gateway = session.api_gateway
        provided = request.headers.get(SECRET_HEADER)
        # $connect: the row cached by this process (gateway_cache.py), unless the secret differs
        # from it (perhaps just rotated: then the database decides).
        use_cache = gateway is None and self._event() == "connect" and gateway_cache.enabled()
        if use_cache:
            gateway = gateway_cache.get(api_id)
            if gateway is not None and not self._secret_matches(gateway, provided):
                gateway = None
            self._gateway_from_cache = gateway is not None
        if gateway is None:
            gateway = self._read_gateway(request, api_id)
            if gateway is not None and use_cache:
                gateway_cache.put(gateway)
        if gateway is None:
            return self.missing_headers(request)
        if not self._secret_matches(gateway, provided):
            return _forbidden(GATEWAY_FORBIDDEN)
        self.api_gateway = gateway
        return None

    def _read_gateway(self, request: HttpRequest, api_id: str) -> ApiGateway | None:
        gateways = ApiGateway.objects.filter(api_id=api_id)
        if self._event() == "connect" and self.RATE_LIMIT_ENABLED:
            # The rate limit's first count rides on this query: one statement fewer.
            gateways = gateways.annotate(
                recent_ip_attempts=ConnectionRateLimit.recent_attempts(
                    self._get_client_ip(request), self.RATE_LIMIT_WINDOW_MINUTES
                )
            )
        gateway = gateways.first()
        self._recent_ip_attempts = getattr(gateway, "recent_ip_attempts", None)
        return gateway

    @staticmethod
    @sensitive_variables()
    def _secret_matches(gateway: ApiGateway, provided: str | None) -> bool:
        """``provided`` is the gateway's secret (or, within the rotation window after
        provisioning rotated it, the previous one), compared in constant time."""
        accepted = gateway.accepted_secrets()
        if not accepted:
            return not conf.require_gateway_secret
        if provided is None:
            return False
        candidate = provided.encode()
        matches = [hmac.compare_digest(candidate, secret.encode()) for secret in accepted]
        return any(matches)

    def _expected_useragent(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        agent = request.headers.get("User-Agent", "")
        if self.aws_api_gateway_id:
            return agent == f"{self.expected_useragent_prefix}{self.aws_api_gateway_id}"
        return agent.startswith(self.expected_useragent_prefix)

    def check_useragent(self, request: HttpRequest) -> HttpResponseBase | None:
        """Messages and disconnects come from API Gateway itself (``AmazonAPIGateway_<id>``)."""
        if not self._expected_useragent(request):
            return self.invalid_useragent(request)
        return None

    # message checks

    def check_session(self, request: HttpRequest) -> HttpResponseBase | None:
        """The connection is one this gateway opened."""
        if self.websocket_session is None:
            return _bad_request(UNKNOWN_CONNECTION)
        if self.websocket_session.user is not None:
            request.user = self.websocket_session.user
        return None

    def check_body(self, request: HttpRequest) -> HttpResponseBase | None:
        """The body is a JSON object, within ``MAX_BODY_SIZE``, naming a handler."""
        if self._body_error == BODY_TOO_LARGE:
            return HttpResponse(BODY_TOO_LARGE, status=413, content_type="text/plain")
        if self._body_error is not None:
            return _bad_request(INVALID_FORMAT)
        if (
            self.handler_selection_key not in self.body
            and self.route_selection_key not in self.body
        ):
            return self.handler_selection_key_missing(request)
        return None

    def _select_handler(self) -> Callable[..., Any] | None:
        for key in (self.handler_selection_key, self.route_selection_key):
            name = self.body.get(key)
            if isinstance(name, str) and name in self.ALLOWED_HANDLERS:
                candidate = getattr(self, name, None)
                if callable(candidate):
                    return candidate  # type: ignore[no-any-return]
        return None

    def check_handler(self, request: HttpRequest) -> HttpResponseBase | None:
        """An unknown handler falls back to :meth:`default`, when the view defines one."""
        handler = self._select_handler()
        if handler is None:
            if type(self).default is WebSocketView.default:
                return _bad_request(UNKNOWN_HANDLER)
            handler = self.default
        self._handler = handler
        return None

    def check_permissions(self, request: HttpRequest) -> HttpResponseBase | None:
        """``permissions_required`` (any of) and ``all_permissions_required`` (all of) both hold."""
        if self.all_permissions_required and not self.has_all_permission(request):
            return self.permission_denied(request)
        if self.permissions_required and not self.has_any_permission(request):
            return self.permission_denied(request)
        return None

    def _run_handler(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        session = self.websocket_session
        assert session is not None
        WebSocketSession.objects.filter(pk=session.pk).update(
            request_count=F("request_count") + 1, updated_on=timezone.now()
        )
        session.request_count += 1
        return self._handler(request, *args, **kwargs)

    # -- $connect --------------------------------------------------------------------------------

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Run the connect checks, then record the connection (user, channel, gateway)."""
        self._ip = self._get_client_ip(request)
        self._attempt_user: Any = None
        checks: list[Check] = [
            self.check_rate_limit,
            self.check_connection_headers,
            self.check_host,
            self.check_origin,
            self.check_token,
            self.check_user_hook,
            self.check_channel,
        ]
        for check in checks:
            rejection = check(request)
            if rejection is not None:
                if check != self.check_rate_limit:
                    self._record_attempt(successful=False)
                return rejection
        attempt = None
        if self.RATE_LIMIT_ENABLED:
            # Checked before, but concurrent attempts all pass that check: this is the one
            # that holds under concurrency (see ConnectionRateLimit.admit).
            attempt = ConnectionRateLimit.admit(
                self._ip,
                self._attempt_user,
                max_attempts=self.RATE_LIMIT_MAX_ATTEMPTS,
                window_minutes=self.RATE_LIMIT_WINDOW_MINUTES,
                limit_user=not self.USE_WS_TOKEN,
            )
            if attempt is None:
                return _bad_request(TOO_MANY_ATTEMPTS)
        user = getattr(request, "user", None)
        # In autocommit mode the INSERT is its own transaction; inside one (ATOMIC_REQUESTS, tests)
        # a savepoint keeps it usable after a duplicate id.
        savepoint: AbstractContextManager[object] = (
            transaction.atomic() if transaction.get_connection().in_atomic_block else nullcontext()
        )
        try:
            with savepoint:
                self.websocket_session = WebSocketSession.objects.create(
                    connection_id=self._connection_id(request),
                    channel_name=self._channel,
                    user=user if user is not None and user.is_authenticated else None,
                    api_gateway=self.api_gateway,
                )
        except IntegrityError:
            if attempt is not None:
                ConnectionRateLimit.objects.filter(pk=attempt.pk).update(successful=False)
            if self._gateway_from_cache and self._cached_gateway_is_gone():
                return self.missing_headers(request)
            return _bad_request(DUPLICATE_CONNECTION)
        return JsonResponse({})

    def _cached_gateway_is_gone(self) -> bool:
        """The cached gateway row was deleted by another process (the session's foreign key
        failed, not its unique connection id): forget it."""
        gateway = self.api_gateway
        if gateway is None or ApiGateway.objects.filter(pk=gateway.pk).exists():
            return False
        gateway_cache.forget(gateway.api_id)
        return True

    def _record_attempt(self, successful: bool) -> None:
        if self.RATE_LIMIT_ENABLED:
            ConnectionRateLimit.record_attempt(self._ip, self._attempt_user, successful=successful)

    def _get_client_ip(self, request: HttpRequest) -> str:
        """The client's IP: ``X-Real-Ip`` (mapped by API Gateway from the source IP), else the
        first ``X-Forwarded-For`` entry, else ``REMOTE_ADDR``; ``0.0.0.0`` when none is valid."""
        candidates = [
            request.headers.get("X-Real-Ip", ""),
            request.headers.get("X-Forwarded-For", "").split(",")[0],
            request.META.get("REMOTE_ADDR", ""),
        ]
        for candidate in candidates:
            try:
                return str(ipaddress.ip_address(candidate.strip()))
            except ValueError:
                continue
        return "0.0.0.0"  # noqa: S104 - a placeholder address, not a bind

    def check_rate_limit(self, request: HttpRequest) -> HttpResponseBase | None:
        """Fewer than ``RATE_LIMIT_MAX_ATTEMPTS`` attempts from this IP (and, without tokens,
        this user) in ``RATE_LIMIT_WINDOW_MINUTES``. With tokens the user is bounded by the
        token endpoint's own limit. A refusal here writes nothing, so a flood cannot grow the
        table; the attempt is admitted for good (concurrency-safe) just before the session
        row is created."""
        if not self.RATE_LIMIT_ENABLED:
            return None
        user = None if self.USE_WS_TOKEN else getattr(request, "user", None)
        self._attempt_user = user
        ip_attempts = self._recent_ip_attempts
        if ip_attempts is None or (user is not None and user.is_authenticated):
            allowed, count = ConnectionRateLimit.check_rate_limit(
                ip_address=self._ip,
                user=user,
                max_attempts=self.RATE_LIMIT_MAX_ATTEMPTS,
                window_minutes=self.RATE_LIMIT_WINDOW_MINUTES,
            )
        else:
            allowed, count = ip_attempts < self.RATE_LIMIT_MAX_ATTEMPTS, ip_attempts
        if not allowed:
            self._debug(f"Rate limit exceeded: {count} attempts")
            return _bad_request(TOO_MANY_ATTEMPTS)
        return None

    def _expected_connection_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        return all(h in request.headers for h in self.required_connection_headers)

    def check_connection_headers(self, request: HttpRequest) -> HttpResponseBase | None:
        """The browser handshake headers API Gateway forwards on ``$connect`` are present."""
        missing = [h for h in self.required_connection_headers if h not in request.headers]
        if missing:
            return _bad_request(f"Missing {len(missing)} headers")
        return None

    @staticmethod
    def _host(request: HttpRequest) -> str:
        domain, _port = split_domain_port(request.headers.get("Host", ""))
        return domain

    def _check_allowed_hosts(self, request: HttpRequest) -> bool:
        allowed = settings.ALLOWED_HOSTS
        return not allowed or validate_host(self._host(request), allowed)

    def check_host(self, request: HttpRequest) -> HttpResponseBase | None:
        """The ``Host`` header matches ``ALLOWED_HOSTS`` (wildcards as Django reads them)."""
        if not self._check_allowed_hosts(request):
            return _bad_request(HOST_NOT_ALLOWED)
        return None

    def _check_host_is_in_origin(self, request: HttpRequest) -> bool:
        origin = request.headers.get("Origin", "")
        host = request.headers.get("Host", "")
        if conf.legacy_origin_substring_match:
            return bool(host) and host in origin
        try:
            origin_host = (urlsplit(origin).hostname or "").lower()
        except ValueError:
            return False
        if not origin_host:
            return False
        return origin_host == self._host(request) or origin_host in conf.allowed_origin_hosts

    def check_origin(self, request: HttpRequest) -> HttpResponseBase | None:
        """The page that opened the socket is served by this site: the ``Origin`` header's host
        equals the ``Host`` header's (or is listed in ``WEBSOCKETS["allowed_origin_hosts"]``)."""
        if not self._check_host_is_in_origin(request):
            return _bad_request(HOST_NOT_IN_ORIGIN)
        return None

    def check_token(self, request: HttpRequest) -> HttpResponseBase | None:
        """With ``USE_WS_TOKEN``, ``?ws_token=`` is an unused token issued to this browser
        session within ``token_expiry_seconds``; the connection belongs to its user."""
        if not self.USE_WS_TOKEN:
            return None
        session = getattr(request, "session", None)
        session_key = getattr(session, "session_key", None)
        if not session_key:
            return _bad_request(INVALID_SESSION)
        user = WebSocketToken.validate_and_consume(
            token_value=request.GET.get("ws_token", ""),
            session_key=session_key,
            max_age_seconds=conf.token_expiry_seconds,
        )
        if user is None:
            return _bad_request(INVALID_TOKEN)
        request.user = cast(Any, user)  # the stubs type request.user as the default User
        self._attempt_user = user
        return None

    def _additional_connection_checks(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> tuple[bool, str]:
        """Override to add your own ``$connect`` check: ``(ok, message for the 400)``."""
        return True, ""

    def check_user_hook(self, request: HttpRequest) -> HttpResponseBase | None:
        """The project's own :meth:`_additional_connection_checks`."""
        ok, message = self._additional_connection_checks(request)
        if not ok:
            return _bad_request(message)
        return None

    def _valid_channel(self, channel: Any) -> bool:
        limit = min(self.MAX_CHANNEL_NAME_LENGTH, _CHANNEL_FIELD_LENGTH)
        return (
            isinstance(channel, str)
            and 0 < len(channel) <= limit
            and bool(self.CHANNEL_NAME_PATTERN.match(channel))
        )

    def _get_channel_name(self, request: HttpRequest) -> str:
        """``?channel=`` when given (``ValueError`` when invalid), else the gateway's default."""
        channel = request.GET.get("channel", "")
        if channel:
            if not self._valid_channel(channel):
                raise ValueError("Invalid channel name")
            return channel
        if self.api_gateway is not None and self.api_gateway.default_channel_name:
            return self.api_gateway.default_channel_name
        return ""

    def check_channel(self, request: HttpRequest) -> HttpResponseBase | None:
        """``?channel=`` is a valid channel name."""
        try:
            self._channel = self._get_channel_name(request)
        except ValueError:
            return _bad_request(INVALID_CHANNEL)
        return None

    # -- $disconnect and messages -------------------------------------------------------------

    def disconnect(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        """Mark the connection disconnected (idempotent; unknown connections answer 200)."""
        session = self.websocket_session
        if session is not None and session.user is not None:
            request.user = session.user
        rows = WebSocketSession.objects.filter(connection_id=self._connection_id(request))
        if self.api_gateway is not None:
            # Another gateway's connection is not this caller's to close.
            rows = rows.filter(Q(api_gateway=self.api_gateway) | Q(api_gateway__isnull=True))
        rows.update(
            connected=False, request_count=F("request_count") + 1, updated_on=timezone.now()
        )
        if session is not None:
            session.connected = False
        return None

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase | None:
        """Override to handle messages that name no known handler."""
        raise NotImplementedError("This logic needs to be defined within the subclass")

    def heartbeat(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """``{"handler": "heartbeat"}``, sent by the shipped JS client when it has sent nothing
        for a while: keeps API Gateway's 10-minute idle timer from closing the connection.
        Answers nothing on the socket (an empty 204)."""
        return HttpResponse(status=204)

    def change_channel(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        """Move this connection to ``body["channel"]`` (validated like ``?channel=``)."""
        channel = self.body.get("channel")
        if not self._valid_channel(channel):
            return _bad_request(INVALID_CHANNEL)
        session = self.websocket_session
        assert session is not None
        WebSocketSession.objects.filter(pk=session.pk).update(
            channel_name=channel, updated_on=timezone.now()
        )
        session.channel_name = channel
        return None

    # -- permissions and the existing package's response hooks ------------------------------------

    def has_any_permission(self, request: HttpRequest) -> bool:
        """The user has ANY of ``permissions_required``."""
        perms = list(self.permissions_required)
        return not perms or any(request.user.has_perm(p) for p in perms)

    def has_all_permission(self, request: HttpRequest) -> bool:
        """The user has ALL of ``all_permissions_required``."""
        perms = list(self.all_permissions_required)
        return not perms or all(request.user.has_perm(p) for p in perms)

    def permission_denied(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _forbidden(PERMISSION_DENIED)

    def missing_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _bad_request(INVALID_HEADERS)

    def invalid_useragent(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return _bad_request(UNEXPECTED_USERAGENT)

    def handler_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        return _bad_request(INVALID_FORMAT)

    def route_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        warnings.warn(
            "route_selection_key_missing is deprecated: override handler_selection_key_missing",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.handler_selection_key_missing(request, *args, **kwargs)
