"""``$connect``: its checks, and the recording of an admitted connection.

:meth:`ConnectChecks.connect` runs ``connect_checks`` (listed on ``WebSocketView``) through the
one loop, records every refused attempt for the rate limit, records the admitted attempt, then
creates the session row only while the attempts in the window are within the limit (the count is
part of the session's ``INSERT``, which runs after the attempt's row is committed: safe under
concurrency). Prebuilt statements (``models.admission``): with a token and the rate limit four (the
IP's count, or none when it rode on the gateway query; the token's claim; the attempt; the
session); without a token two (the attempt, recorded by ``check_rate_limit`` only while the
count is below the limit, in one ``INSERT … SELECT``; the session). Users' tests call
``connect(request)`` on a view built with ``WebSocketView(api_gateway=...)``, so the checks run
here, not in ``dispatch``.
"""

from __future__ import annotations

import ipaddress
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponseBase, JsonResponse

from ..conf import conf
from ..login_binding import login_hashes
from ..models import TOKEN_RE, ConnectionRateLimit, WebSocketSession, admission, hot
from ..wire import CLIENT_IP_HEADER
from . import gateway_auth
from .base import API_ID_HEADER, has_header, header
from .channel_access import ChannelAccessChecks
from .responses import (
    DUPLICATE_CONNECTION,
    HOST_NOT_ALLOWED,
    HOST_NOT_IN_ORIGIN,
    INVALID_CHANNEL,
    INVALID_SESSION,
    INVALID_TOKEN,
    TOO_MANY_ATTEMPTS,
    bad_request,
)


class ConnectChecks(ChannelAccessChecks):
    """The ``$connect`` event: :meth:`connect` and the checks ``connect_checks`` names."""

    _token_user: Any  # check_token: the token's user, as set on request.user
    _token_user_id: Any  # ... and its primary key, known without loading it
    _client_ip_of: tuple[HttpRequest, str] | None = None  # _get_client_ip's answer, per request
    _attempt: ConnectionRateLimit | None = None  # the attempt's row, once recorded

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        """Run ``connect_checks``, then record the connection (user, channel, gateway)."""
        self._ip = self._get_client_ip(request)
        self._attempt_user = None
        self._token_user = None
        self._attempt = None
        refused = self._run_checks(request, self.connect_checks)
        if refused is not None:
            name, rejection = refused
            if name != "check_rate_limit":  # a refusal by the limit itself writes nothing
                self._record_attempt(successful=False)
            return rejection
        channel_guard = None
        if self._channel_decided_by_sql(self._channel):
            channel_guard = admission.channel_guard(
                self._channel, allow_unlisted=bool(self.ALLOW_UNLISTED_CHANNELS)
            )
        elif self._channel_refused(request, self._channel):  # an overridden can_join_channel
            self._record_attempt(successful=False)
            return self.channel_forbidden()
        attempt = guard = None
        if self.RATE_LIMIT_ENABLED:
            # Checked before, but concurrent attempts all pass that check. This holds under
            # concurrency (as ConnectionRateLimit.admit): the attempt's row is inserted first
            # (committed, in autocommit mode), and the session's INSERT counts the window's
            # attempts, each admitted one counted by the last admitted caller.
            attempt_user_id = self._user_id(self._attempt_user)
            attempt = self._attempt  # recorded by check_rate_limit when it knew the user
            if attempt is None:
                attempt = ConnectionRateLimit(
                    ip_address=self._ip, user_id=attempt_user_id, successful=True
                )
                admission.insert(attempt)
                self._attempt = attempt
            guard = admission.attempts_guard(
                self._ip,
                None if self.USE_WS_TOKEN else attempt_user_id,
                max_attempts=self.RATE_LIMIT_MAX_ATTEMPTS,
                window_minutes=self.RATE_LIMIT_WINDOW_MINUTES,
            )
        session = WebSocketSession(
            connection_id=self._connection_id(request),
            channel_name=self._channel,
            user_id=self._user_id(getattr(request, "user", None)),
            api_gateway=self.api_gateway,
        )
        session.session_key_hash, session.auth_hash = login_hashes(request, session.user_id)
        # In autocommit mode the INSERT is its own transaction; inside one (ATOMIC_REQUESTS, tests)
        # a savepoint keeps it usable after a duplicate id.
        in_atomic = transaction.get_connection().in_atomic_block

        def savepoint() -> AbstractContextManager[object]:
            return transaction.atomic() if in_atomic else nullcontext()

        try:
            with savepoint():
                admitted = admission.insert(session, admission.all_of(guard, channel_guard))
            if not admitted and channel_guard is not None:
                # The channel has a row that needs asking about the user (or the limit
                # refused): ask, then insert under the limit alone.
                if self._channel_refused(request, self._channel):
                    self._record_attempt(successful=False)
                    return self.channel_forbidden()
                with savepoint():
                    admitted = admission.insert(session, guard)
        except IntegrityError:
            self._record_attempt(successful=False)
            if self._gateway_from_cache and gateway_auth.cached_gateway_is_gone(self.api_gateway):
                return self.missing_headers(request)
            return bad_request(DUPLICATE_CONNECTION)
        if not admitted:  # over the limit: concurrent attempts got in first
            if attempt is not None:
                ConnectionRateLimit.objects.filter(pk=attempt.pk).delete()
            return bad_request(TOO_MANY_ATTEMPTS)
        self.websocket_session = session
        return JsonResponse({})

    def _user_id(self, user: Any) -> Any:
        """The primary key of ``user`` when it is an authenticated user, else ``None``; the
        token's user (``request.user`` after ``check_token``) without loading it."""
        if user is None:
            return None
        if user is self._token_user:
            return self._token_user_id
        return user.pk if user.is_authenticated else None

    def _record_attempt(self, successful: bool) -> None:
        """Record this attempt's outcome: a new row, or the row ``check_rate_limit`` recorded
        (as successful) marked with it."""
        if not self.RATE_LIMIT_ENABLED:
            return
        if self._attempt is None:
            ConnectionRateLimit.record_attempt(self._ip, self._attempt_user, successful=successful)
        elif self._attempt.successful != successful:
            ConnectionRateLimit.objects.filter(pk=self._attempt.pk).update(successful=successful)
            self._attempt.successful = successful

    def _get_client_ip(self, request: HttpRequest) -> str:
        """The client's IP: ``X-Real-Ip`` (mapped by API Gateway from the source IP), else the
        first ``X-Forwarded-For`` entry, else ``REMOTE_ADDR``; ``0.0.0.0`` when none is valid.
        Worked out once per request (``check_gateway`` and :meth:`connect` both ask)."""
        known = self._client_ip_of
        if known is not None and known[0] is request:
            return known[1]
        ip = self._parse_client_ip(request)
        self._client_ip_of = (request, ip)
        return ip

    def _parse_client_ip(self, request: HttpRequest) -> str:
        candidates = [
            header(request, CLIENT_IP_HEADER),
            header(request, "X-Forwarded-For").split(",")[0],
            request.META.get("REMOTE_ADDR", ""),
        ]
        for candidate in candidates:
            try:
                return str(ipaddress.ip_address(candidate.strip()))
            except ValueError:
                continue
        return "0.0.0.0"  # noqa: S104 - a placeholder address, not a bind

    # -- the checks, in the order of WebSocketView.connect_checks --------------------------------

    def check_rate_limit(self, request: HttpRequest) -> HttpResponseBase | None:
        """Fewer than ``RATE_LIMIT_MAX_ATTEMPTS`` attempts from this IP (and, without tokens,
        this user) in ``RATE_LIMIT_WINDOW_MINUTES``. With tokens the user is bounded by the
        token endpoint's own limit. A refusal here writes nothing, so a flood cannot grow the
        table. Without tokens the attempt's user is known here, so its row is recorded here,
        in the statement that counts (``INSERT … SELECT … WHERE`` the count is below the
        limit), as successful until a later check refuses; with tokens it is counted here and
        recorded once the token named its user. Either way the attempt is admitted for good
        (concurrency-safe) by the session row's ``INSERT``."""
        if not self.RATE_LIMIT_ENABLED:
            return None
        user = None if self.USE_WS_TOKEN else getattr(request, "user", None)
        self._attempt_user = user
        user_id = self._user_id(user)  # None for an anonymous user: the IP alone is counted
        limit, window = self.RATE_LIMIT_MAX_ATTEMPTS, self.RATE_LIMIT_WINDOW_MINUTES
        known = self._recent_ip_attempts if user_id is None else None
        if known is not None and known >= limit:
            allowed = False
        elif self.USE_WS_TOKEN:
            count = known if known is not None else admission.recent_attempts(self._ip, window)
            allowed = count < limit
        else:
            attempt = ConnectionRateLimit(ip_address=self._ip, user_id=user_id, successful=True)
            below = admission.attempts_guard(
                self._ip, user_id, max_attempts=limit - 1, window_minutes=window
            )
            allowed = admission.insert(attempt, below)
            if allowed:
                self._attempt = attempt
        if not allowed:
            self._debug(f"Rate limit exceeded: {limit} attempts in {window} minutes")
            return bad_request(TOO_MANY_ATTEMPTS)
        return None

    def check_connect_useragent(self, request: HttpRequest) -> HttpResponseBase | None:
        """With ``CHECK_CONNECT_USERAGENT`` (release 4.1's meaning): the ``$connect`` carries API
        Gateway's own ``User-Agent``, ``AmazonAPIGateway_<api id>``, for the pinned
        ``aws_api_gateway_id``, else the calling gateway's id. Off by default: many APIs forward
        the browser's ``User-Agent`` on ``$connect``. A sanity check, not authentication."""
        if not self.CHECK_CONNECT_USERAGENT:
            return None
        gateway = self.api_gateway
        api_id = self.aws_api_gateway_id or (gateway.api_id if gateway is not None else "")
        api_id = api_id or header(request, API_ID_HEADER)
        expected = f"{self.expected_useragent_prefix}{api_id}"
        if not api_id or header(request, "User-Agent") != expected:
            return self.invalid_useragent(request)
        return None

    def check_connection_headers(self, request: HttpRequest) -> HttpResponseBase | None:
        """The browser handshake headers API Gateway forwards on ``$connect`` are present:
        :meth:`_expected_connection_headers` (``required_connection_headers``) decides, and the
        400 names the listed headers that are missing (names only, never values: ``Missing 2
        headers: Cookie, Origin``; ``Invalid request headers`` when an override refuses with
        none of them missing)."""
        if self._expected_connection_headers(request):
            return None
        missing = [h for h in self.required_connection_headers if not has_header(request, h)]
        if not missing:
            return self.missing_headers(request)
        return bad_request(f"Missing {len(missing)} headers: {', '.join(missing)}")

    def check_host(self, request: HttpRequest) -> HttpResponseBase | None:
        """The ``Host`` header matches ``ALLOWED_HOSTS`` (wildcards as Django reads them)."""
        if not self._check_allowed_hosts(request):
            return bad_request(HOST_NOT_ALLOWED)
        return None

    def check_origin(self, request: HttpRequest) -> HttpResponseBase | None:
        """The page that opened the socket is served by this site: the ``Origin`` header's host
        equals the ``Host`` header's (or is listed in ``WEBSOCKETS["allowed_origin_hosts"]``)."""
        if not self._check_host_is_in_origin(request):
            return bad_request(HOST_NOT_IN_ORIGIN)
        return None

    def check_token(self, request: HttpRequest) -> HttpResponseBase | None:
        """With ``USE_WS_TOKEN``, ``?ws_token=`` is an unused token issued to this browser
        session within ``token_expiry_seconds``; the connection belongs to its user. One
        statement claims the token and reads its user (``hot.claim_token_user``), who becomes
        ``request.user``."""
        if not self.USE_WS_TOKEN:
            return None
        session = getattr(request, "session", None)
        session_key = getattr(session, "session_key", None)
        if not session_key:
            return bad_request(INVALID_SESSION)
        token = request.GET.get("ws_token", "")
        user = None
        if TOKEN_RE.match(token):
            user = hot.claim_token_user(token, session_key, conf.token_expiry_seconds)
        if user is None:
            return bad_request(INVALID_TOKEN)
        self._token_user, self._token_user_id = user, user.pk
        request.user = user
        self._attempt_user = user
        return None

    def check_user_hook(self, request: HttpRequest) -> HttpResponseBase | None:
        """The project's own :meth:`_additional_connection_checks`."""
        ok, message = self._additional_connection_checks(request)
        if not ok:
            return bad_request(message)
        return None

    def check_channel(self, request: HttpRequest) -> HttpResponseBase | None:
        """``?channel=`` is a valid channel name."""
        try:
            self._channel = self._get_channel_name(request)
        except ValueError:
            return bad_request(INVALID_CHANNEL)
        return None
