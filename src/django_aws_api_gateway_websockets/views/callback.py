"""``WebSocketView``: the endpoint API Gateway calls for ``$connect``, ``$disconnect`` and every
message.

Each callback runs a pipeline of named checks. Which checks, and in what order, is data: the
tuples :attr:`~WebSocketView.common_checks` (every event), ``connect_checks``,
``message_checks`` and ``disconnect_checks``, run by one loop (``WebSocketViewBase._run_checks``).
Each check returns ``None`` to pass or a response to stop with; every rejection is a 4xx with a
short fixed body (``responses.py``) that echoes nothing from the request or from settings.

Where the rest lives: ``base.py`` (settings and per-request state, the body, the loop),
``gateway_auth.py`` (which gateway is calling), ``connect.py`` (the ``$connect`` checks and the
session row), ``legacy.py`` (the existing package's overridable hooks, which the checks call).
"""

from __future__ import annotations

import functools
import logging
import re
import weakref
from collections.abc import Callable
from typing import Any, cast

from django.db import router
from django.db.models.signals import post_save, pre_save
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from ..conf import conf
from ..login_binding import end_sessions, login_still_valid
from ..models import WebSocketSession, hot
from ..redaction import redact_loggers
from ..wire import SECRET_HEADER, SETTINGS_SECRET_HEADER, is_connection_id
from . import gateway_auth
from .base import API_ID_HEADER, header, optional_header
from .channel_handlers import ChannelHandlers
from .exception_mail import mail_about, mail_due
from .responses import (
    BODY_TOO_LARGE,
    INVALID_CHANNEL,
    INVALID_CONNECTION_ID,
    INVALID_FORMAT,
    SESSION_ENDED,
    UNKNOWN_HANDLER,
    bad_request,
)

logger = logging.getLogger(__package__)  # django_aws_api_gateway_websockets.views
# An exception raised while handling $connect may quote the URL, and its ws_token.
redact_loggers(logger.name)

#: An API id as API Gateway issues them; anything else is refused before any query.
API_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

# Names defined by the base classes are never message handlers, except these.
_HANDLER_BASE_ALLOWED = frozenset(
    {"default", "change_channel", "heartbeat", "subscribe", "unsubscribe"}
)

# Worked out once per view class (not per callback): its handler candidates.
_class_methods: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


class WebSocketView(ChannelHandlers):
    """The endpoint API Gateway calls for ``$connect``, ``$disconnect`` and every message.

    Mount it on a URL with a ``route`` kwarg, e.g. ``path("ws/<slug:route>", View.as_view())``.
    Subclasses add message handlers as methods; the JSON body's ``"handler"`` (or the legacy
    ``"action"``) names the one to run, falling back to :meth:`default`. The settings a
    subclass may change are the class attributes of ``WebSocketViewBase`` (``base.py``).

    A subclass adds a check by writing a method ``check_<name>(request)`` (``None`` to pass, a
    response to refuse) and extending a tuple, e.g.
    ``connect_checks = (*WebSocketView.connect_checks, "check_plan")``. The existing package's
    hooks (``legacy.py``) still work: every one is called by a check, including
    ``_expected_connection_headers`` (by ``check_connection_headers``).
    """

    #: Every event, first: the headers API Gateway always sends, then which gateway is calling.
    common_checks = ("check_headers", "check_site_secret", "check_gateway")
    #: ``$connect`` (run by :meth:`connect`); then the attempt is admitted by the rate limiter
    #: (insert, then count: safe under concurrency) and the session row is created.
    connect_checks = (
        "check_rate_limit",
        "check_connect_useragent",
        "check_connection_headers",
        "check_host",
        "check_origin",
        "check_channel",
        "check_token",
        "check_user_hook",
        "check_connect_permissions",
    )
    #: Messages; then the chosen handler runs. ``check_session`` counts the message on the
    #: connection's row and reads the row back, in one statement: the checks before it need no
    #: query (a malformed message is never counted), the ones after it see the counted row.
    message_checks = (
        "check_useragent",
        "check_body",
        "check_handler",
        "check_session",
        "check_permissions",
    )
    #: ``$disconnect``; then :meth:`disconnect` runs.
    disconnect_checks = ("check_useragent",)

    def __init__(self, **kwargs: Any) -> None:
        self.api_gateway = kwargs.pop("api_gateway", None)
        self.websocket_session = kwargs.pop("websocket_session", None)
        self.debug = bool(kwargs.pop("debug", False))
        self.debug_log = []
        self.body = {}
        self._body_error = None
        self._recent_ip_attempts = None
        self._gateway_from_cache = False
        super().__init__(**kwargs)
        if not self.RATE_LIMIT_MAX_ATTEMPTS:
            self.RATE_LIMIT_MAX_ATTEMPTS = conf.rate_limit_max_attempts
        if not self.RATE_LIMIT_WINDOW_MINUTES:
            self.RATE_LIMIT_WINDOW_MINUTES = conf.rate_limit_window_minutes
        self.ALLOWED_HANDLERS = self._allowed_handlers()

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Callable[..., HttpResponseBase]:
        """The view function, CSRF-exempt (callbacks carry the gateway's secret, no CSRF token),
        marked as ``csrf_exempt`` marks it: no wrapper per callback, and subclasses too."""
        view = super().as_view(**initkwargs)
        view.csrf_exempt = True  # type: ignore[attr-defined]
        return view

    # -- the pipeline ----------------------------------------------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method is None or request.method.lower() not in self.http_method_names:
            return self.http_method_not_allowed(request, *args, **kwargs)
        event = self._event()
        checks: tuple[str, ...]
        handler: Callable[..., Any]
        if event == "connect":
            checks, handler = self.common_checks, self.connect  # connect() runs connect_checks
        elif event == "disconnect":
            checks, handler = (*self.common_checks, *self.disconnect_checks), self.disconnect
        else:
            checks, handler = (*self.common_checks, *self.message_checks), self._run_handler
        refused = self._run_checks(request, checks)
        if refused is not None:
            return refused[1]
        try:
            response = handler(request, *args, **kwargs)
        except Exception as error:
            logger.exception("Unexpected WebSocket exception in %s", type(self).__name__)
            if self.SEND_EXCEPTION_MAIL and mail_due(type(self), self.EXCEPTION_MAIL_INTERVAL):
                mail_about(error)
            raise
        return response if response is not None else JsonResponse({})

    # -- common checks ---------------------------------------------------------------------------

    def check_headers(self, request: HttpRequest) -> HttpResponseBase | None:
        """Every header API Gateway always sends is present, and the ids are well formed."""
        if not self._expected_headers(request):
            return self.missing_headers(request)
        if not API_ID_RE.match(header(request, API_ID_HEADER)):
            return self.missing_headers(request)
        if not is_connection_id(self._connection_id(request)):
            return bad_request(INVALID_CONNECTION_ID)
        return None

    def check_site_secret(self, request: HttpRequest) -> HttpResponseBase | None:
        """With ``WEBSOCKETS["gateway_secret"]``: ``X-Ws-Gateway-Secret`` is one of its
        secrets (constant time, before any query)."""
        if not gateway_auth.site_secret_matches(optional_header(request, SETTINGS_SECRET_HEADER)):
            return self.invalid_gateway_secret(request)
        return None

    def check_gateway(self, request: HttpRequest) -> HttpResponseBase | None:
        """The caller is a registered gateway (the pinned one, if any) and knows its secret
        (``gateway_auth.identify``; usually from the per-process cache, with no query)."""
        connect = self._event() == "connect"
        # With tokens check_rate_limit only counts: the count rides on this query if it runs.
        counted = connect and self.RATE_LIMIT_ENABLED and self.USE_WS_TOKEN
        caller = gateway_auth.identify(
            header(request, API_ID_HEADER),
            optional_header(request, SECRET_HEADER),
            pinned_id=self.aws_api_gateway_id,
            inserting=connect,
            count_attempts_of=self._get_client_ip(request) if counted else None,
            window_minutes=self.RATE_LIMIT_WINDOW_MINUTES,
        )
        self._gateway_from_cache = caller.from_cache
        self._recent_ip_attempts = caller.recent_ip_attempts
        if caller.gateway is None:
            return self.missing_headers(request)
        if not caller.authentic:
            return self.invalid_gateway_secret(request)
        self.api_gateway = caller.gateway
        return None

    #: Kept for callers of the old name (the constant-time comparison of the secret).
    _secret_matches = staticmethod(gateway_auth.secret_matches)

    def check_useragent(self, request: HttpRequest) -> HttpResponseBase | None:
        """Messages and disconnects come from API Gateway itself (``AmazonAPIGateway_<id>``).
        Another agent (a browser's, which release 4.1 expected) is tolerated when a secret
        authenticated the callback, unless the project overrides ``_expected_useragent``;
        API Gateway's agent naming another API never is."""
        if self._expected_useragent(request):
            return None
        agent = header(request, "User-Agent")
        tolerated = (
            type(self)._expected_useragent is WebSocketView._expected_useragent
            and not agent.startswith(self.expected_useragent_prefix)
            and self._authenticated_by_secret()
        )
        return None if tolerated else self.invalid_useragent(request)

    def _authenticated_by_secret(self) -> bool:
        """``check_gateway`` passed on a secret (the site-wide one, or the gateway's own)."""
        gateway = self.api_gateway
        return bool(conf.gateway_secrets) or bool(gateway and gateway.accepted_secrets())

    # -- message checks and handlers ---------------------------------------------------------------

    @staticmethod
    @functools.cache
    def _reserved_names() -> frozenset[str]:
        """The package's own attribute names, never handlers (worked out once)."""
        names = {n for klass in WebSocketView.__mro__ for n in vars(klass)}
        return frozenset(names - _HANDLER_BASE_ALLOWED)

    def _get_current_class_methods(self) -> list[str]:
        """Public methods that subclasses of ``WebSocketView`` define (the handler candidates);
        worked out once per class (a view is built for every callback)."""
        names = _class_methods.get(type(self))
        if names is None:
            names = _class_methods[type(self)] = tuple(self._methods_of_class())
        return list(names)

    def _methods_of_class(self) -> list[str]:
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
        # A check a subclass lists in its tuples is never a handler either.
        checks = {*self.common_checks, *self.connect_checks, *self.message_checks}
        reserved = self._reserved_names() | checks | set(self.disconnect_checks)
        allowed = {n for n in names if not n.startswith("_") and n not in reserved}
        return allowed | {"heartbeat"}  # the JS client's keep-alive is always answered

    def check_session(self, request: HttpRequest) -> HttpResponseBase | None:
        """The connection is one this gateway opened. Counts the message (``request_count``,
        ``updated_on``) and reads the row back, with its user, in the same statement
        (``hot.touch_session``); ``request.user`` becomes the connection's user. A user who was
        deactivated or changed password since ``$connect`` ends the session (400, socket
        closed)."""
        session = hot.touch_session(self._connection_id(request), self.api_gateway, with_user=True)
        if session is None:
            return self.session_not_found(request)
        if not login_still_valid(session):
            # Deactivated, or the password changed since $connect: the row is closed and the
            # socket too (login_binding).
            end_sessions([session])
            return bad_request(SESSION_ENDED)
        self._use_session(request, session)
        return None

    def _use_session(self, request: HttpRequest, session: WebSocketSession) -> None:
        self.websocket_session = session
        if WebSocketSession.user.is_cached(session):
            request.user = cast(Any, session.user)
        elif session.user_id is not None:
            # The stubs type request.user as the default User.
            request.user = cast(Any, SimpleLazyObject(lambda: session.user))

    def check_body(self, request: HttpRequest) -> HttpResponseBase | None:
        """The body is a JSON object, within ``MAX_BODY_SIZE``, naming a handler."""
        if self._body_error == BODY_TOO_LARGE:
            return HttpResponse(BODY_TOO_LARGE, status=413, content_type="text/plain")
        if self._body_error is not None:
            return bad_request(INVALID_FORMAT)
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
                return bad_request(UNKNOWN_HANDLER)
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
        return self._handler(request, *args, **kwargs)

    # -- $disconnect and the built-in handlers ---------------------------------------------------

    def disconnect(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponseBase | None:
        """Mark the connection disconnected (idempotent; unknown connections answer 200), in one
        statement that also reads the row: afterwards ``self.websocket_session`` is the row and
        ``request.user`` its user (loaded when first used). Another gateway's connection is not
        this caller's to close; a row whose gateway was deleted is."""
        session = hot.touch_session(self._connection_id(request), self.api_gateway, disconnect=True)
        if session is not None:
            self._use_session(request, session)
            self._channels_disconnected()
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
        """Move this connection to ``body["channel"]`` (validated like ``?channel=``, and
        :meth:`can_join_channel` asked: 403 when refused) in one
        UPDATE of the channel alone. ``pre_save`` and ``post_save`` fire as for
        ``save(update_fields=["channel_name", "updated_on"])`` (the existing package saved the
        row), without the error ``save()`` raises when the row was deleted meanwhile."""
        channel = self.body.get("channel")
        if not self._valid_channel(channel):
            return bad_request(INVALID_CHANNEL)
        folded = self._channel_decided_by_sql(channel)
        if not folded and self._channel_refused(request, channel):
            return self.channel_forbidden()
        session = self.websocket_session
        assert session is not None
        model = type(session)
        using = router.db_for_write(model, instance=session)
        signal_args: dict[str, Any] = {
            "sender": model,
            "instance": session,
            "raw": False,
            "using": using,
            "update_fields": frozenset({"channel_name", "updated_on"}),
        }
        previous, session.channel_name = session.channel_name, channel
        pre_save.send(**signal_args)
        session.updated_on = timezone.now()
        rows = model.objects.using(using).filter(pk=session.pk)
        values = {"channel_name": session.channel_name, "updated_on": session.updated_on}
        updated = rows.filter(self._open_to_everyone(channel)).update(**values) if folded else 0
        if not updated and folded and self._channel_refused(request, channel):
            session.channel_name = previous
            return self.channel_forbidden()
        if not updated:
            updated = rows.update(**values)
        if not updated:
            return self.session_not_found(request)  # the row was deleted meanwhile
        post_save.send(created=False, **signal_args)
        return None
