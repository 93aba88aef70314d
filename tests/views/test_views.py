"""WebSocketView and WebSocketTokenView through Django's test client: the pipeline, every
rejection body, the contract fixes, and the query budgets of the hot paths."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from django_aws_api_gateway_websockets import views
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
    hash_session_key,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, callback_headers
from django_aws_api_gateway_websockets.views import WebSocketTokenView, WebSocketView
from tests.support.budget import query_budget, without_returning
from tests.support.paths import ROOT

pytestmark = pytest.mark.django_db

#: Every body a rejection may carry.
DOCUMENTED_BODIES = {
    views.INVALID_HEADERS,
    views.GATEWAY_FORBIDDEN,
    views.UNEXPECTED_USERAGENT,
    views.INVALID_FORMAT,
    views.BODY_TOO_LARGE,
    views.UNKNOWN_CONNECTION,
    views.UNKNOWN_HANDLER,
    views.PERMISSION_DENIED,
    views.TOO_MANY_ATTEMPTS,
    views.HOST_NOT_ALLOWED,
    views.HOST_NOT_IN_ORIGIN,
    views.INVALID_SESSION,
    views.INVALID_TOKEN,
    views.INVALID_CHANNEL,
    views.DUPLICATE_CONNECTION,
    views.INVALID_CONNECTION_ID,
    views.CHANNEL_FORBIDDEN,
    views.SESSION_ENDED,
}


def make_gateway(prefix: str = "ws", **fields: object) -> ApiGateway:
    values: dict[str, object] = {
        "api_name": f"gw {prefix}",
        "api_id": "abc123defg",
        "target_base_endpoint": f"https://www.example.com/{prefix}/",
        "secret": "s3cret-value",
    }
    values.update(fields)
    return ApiGateway.objects.create(**values)


def connected(callbacks: GatewayCallbacks, connection_id: str = "conn-1=", **kw: str) -> None:
    response = callbacks.connect(connection_id, token=callbacks.token(), **kw)
    assert response.status_code == 200, response.content


def rows() -> list[tuple[str, str, bool, int]]:
    return list(
        WebSocketSession.objects.order_by("connection_id").values_list(
            "connection_id", "channel_name", "connected", "request_count"
        )
    )


# -- the token endpoint -------------------------------------------------------------------------


class TestTokenView:
    def test_issues_a_token_bound_to_the_session(self, logged_in_client: Client, user) -> None:
        response = logged_in_client.post("/ws-token/")
        assert response.status_code == 200
        data = response.json()
        assert set(data) == {"token", "expires_in"}
        assert len(data["token"]) == 64 and data["expires_in"] == 60
        token = WebSocketToken.objects.get(token=data["token"])
        assert token.user == user
        assert token.session_key == hash_session_key(logged_in_client.session.session_key)

    @override_settings(WEBSOCKETS={"token_expiry_seconds": 90})
    def test_expires_in_follows_the_setting(self, logged_in_client: Client) -> None:
        assert logged_in_client.post("/ws-token/").json()["expires_in"] == 90

    def test_anonymous_is_refused(self, client: Client) -> None:
        response = client.post("/ws-token/")
        assert response.status_code == 403
        assert response.content == b"Authentication required"
        assert not WebSocketToken.objects.exists()

    def test_post_only(self, logged_in_client: Client) -> None:
        assert logged_in_client.get("/ws-token/").status_code == 405

    def test_csrf_is_enforced(self, user) -> None:
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.post("/ws-token/").status_code == 403
        client.get("/room/")  # any page; the cookie is set by the token below
        from django.middleware.csrf import _get_new_csrf_string

        secret = _get_new_csrf_string()
        client.cookies["csrftoken"] = secret
        response = client.post("/ws-token/", headers={"X-CSRFToken": secret})
        assert response.status_code == 200

    @override_settings(WEBSOCKETS={"token_rate_limit_per_minute": 2})
    def test_rate_limited_per_user(self, logged_in_client: Client) -> None:
        assert logged_in_client.post("/ws-token/").status_code == 200
        assert logged_in_client.post("/ws-token/").status_code == 200
        response = logged_in_client.post("/ws-token/")
        assert response.status_code == 403 and response.content == b"Rate limit exceeded"
        assert WebSocketToken.objects.count() == 2

    def test_creates_a_session_when_there_is_none(self, user) -> None:
        request = RequestFactory().post("/ws-token/")
        request.user = user
        request.session = SessionStore()
        assert request.session.session_key is None
        response = WebSocketTokenView.as_view()(request)
        assert response.status_code == 200
        assert request.session.session_key
        assert WebSocketToken.objects.get().session_key == hash_session_key(
            request.session.session_key
        )


# -- $connect ---------------------------------------------------------------------------------


class TestConnect:
    def test_token_flow_records_user_channel_and_gateway(self, callbacks, user, gateway) -> None:
        connected(callbacks, channel="room-1")
        session = WebSocketSession.objects.get()
        assert (session.user, session.channel_name, session.api_gateway) == (
            user,
            "room-1",
            gateway,
        )
        assert session.connected and session.request_count == 1
        attempt = ConnectionRateLimit.objects.get()
        assert attempt.successful and attempt.user == user and attempt.ip_address == "203.0.113.10"

    def test_default_channel_from_the_gateway(self, callbacks) -> None:
        connected(callbacks)
        assert WebSocketSession.objects.get().channel_name == "lobby"

    def test_token_is_single_use(self, callbacks) -> None:
        token = callbacks.token()
        assert callbacks.connect("first=", token=token).status_code == 200
        response = callbacks.connect("second=", token=token)
        assert (response.status_code, response.content) == (400, b"Invalid or expired token")
        assert [r[0] for r in rows()] == ["first="]

    @pytest.mark.parametrize("token", [None, "", "x" * 64, "A" * 64, "0" * 64, "0" * 10000])
    def test_missing_or_unknown_token(self, callbacks, token) -> None:
        response = callbacks.connect("c1=", token=token)
        assert (response.status_code, response.content) == (400, b"Invalid or expired token")
        assert not WebSocketSession.objects.exists()
        assert ConnectionRateLimit.objects.get().successful is False

    def test_expired_token(self, callbacks) -> None:
        token = callbacks.token()
        WebSocketToken.objects.update(created_at=timezone.now() - timedelta(seconds=61))
        assert callbacks.connect("c1=", token=token).content == b"Invalid or expired token"

    @override_settings(WEBSOCKETS={"token_expiry_seconds": 300})
    def test_token_expiry_setting_applies_at_connect(self, callbacks) -> None:
        """Fix: the old code always consumed with 60 s whatever the setting said."""
        token = callbacks.token()
        WebSocketToken.objects.update(created_at=timezone.now() - timedelta(seconds=120))
        assert callbacks.connect("c1=", token=token).status_code == 200

    def test_token_of_another_browser_session(self, callbacks, user, gateway) -> None:
        token = callbacks.token()
        other = Client()
        other.force_login(user)  # same user, another session
        response = GatewayCallbacks(other, gateway).connect("c1=", token=token)
        assert response.content == b"Invalid or expired token"

    def test_no_session_cookie(self, gateway) -> None:
        response = GatewayCallbacks(Client(), gateway).connect("c1=", token="a" * 64)
        assert (response.status_code, response.content) == (400, b"Invalid session")

    def test_missing_connection_headers_are_named(self, callbacks) -> None:
        response = callbacks.connect(
            "c1=", token=callbacks.token(), headers={"Sec-Websocket-Key": None, "Origin": None}
        )
        assert (response.status_code, response.content) == (
            400,
            b"Missing 2 headers: Origin, Sec-Websocket-Key",
        )
        assert not WebSocketSession.objects.exists()

    def test_host_not_allowed_does_not_echo_settings(self, gateway) -> None:
        # Django's CommonMiddleware refuses such a Host first; the view checks it too, for
        # projects without that middleware.
        request = RequestFactory().post(
            "/ws/connect",
            headers=callback_headers(gateway, "c1=", event="connect", host="evil.net"),
        )
        request.session = SessionStore()
        response = WebSocketView(api_gateway=gateway).connect(request)
        assert (response.status_code, response.content) == (400, b"Host is not in AllowedHosts")

    @override_settings(ALLOWED_HOSTS=[".example.com", "testserver"])
    def test_allowed_hosts_wildcards(self, callbacks) -> None:
        connected(callbacks)

    @pytest.mark.parametrize(
        "origin",
        [
            "https://www.example.com.evil.net",
            "https://evil.net/www.example.com",
            "https://evil.net?www.example.com",
            "https://www.example.comx",
            "null",
            "",
            "https://[::1",
        ],
    )
    def test_origin_host_must_equal_host(self, callbacks, origin) -> None:
        """Fix: the old check was a substring match."""
        response = callbacks.connect("c1=", token=callbacks.token(), headers={"Origin": origin})
        assert (response.status_code, response.content) == (400, b"Host is not in Origin")
        assert not WebSocketSession.objects.exists()

    def test_origin_port_and_case_do_not_matter(self, callbacks) -> None:
        connected(callbacks, headers={"Origin": "https://WWW.Example.com:8443"})

    @override_settings(WEBSOCKETS={"allowed_origin_hosts": ["app.example.org"]})
    def test_allowed_origin_hosts(self, callbacks) -> None:
        connected(callbacks, headers={"Origin": "https://app.example.org"})

    @override_settings(WEBSOCKETS={"legacy_origin_substring_match": True})
    def test_legacy_substring_mode(self, callbacks) -> None:
        connected(callbacks, headers={"Origin": "https://www.example.com.evil.net"})

    @pytest.mark.parametrize("channel", ["bad channel", "a/b", "x" * 129, "ünïcode", "a.b"])
    def test_invalid_channel(self, callbacks, channel) -> None:
        response = callbacks.connect("c1=", token=callbacks.token(), channel=channel)
        assert (response.status_code, response.content) == (400, b"Invalid channel name")
        assert not WebSocketSession.objects.exists()

    def test_longest_valid_channel_fits_the_column(self, callbacks) -> None:
        connected(callbacks, channel="c" * 128)
        assert len(WebSocketSession.objects.get().channel_name) == 128

    def test_duplicate_connect(self, callbacks) -> None:
        connected(callbacks, "dup=")
        response = callbacks.connect("dup=", token=callbacks.token())
        assert (response.status_code, response.content) == (400, b"Connection already exists")
        assert WebSocketSession.objects.count() == 1

    @pytest.mark.parametrize("connection_id", ["a" * 129, "bad id", "a;b", "é=", "a.b"])
    def test_malformed_connection_id(self, callbacks, connection_id) -> None:
        response = callbacks.connect(connection_id, token=callbacks.token())
        assert (response.status_code, response.content) == (400, b"Invalid connection id")
        assert not WebSocketSession.objects.exists()

    @override_settings(WEBSOCKETS={"rate_limit_max_attempts": 2})
    def test_rate_limit_by_ip(self, callbacks) -> None:
        connected(callbacks, "c1=")
        connected(callbacks, "c2=")
        response = callbacks.connect("c3=", token=callbacks.token())
        assert (response.status_code, response.content) == (400, b"Too many connection attempts")
        assert WebSocketSession.objects.count() == 2
        # A refusal by the limiter itself writes nothing (a flood cannot grow the table).
        assert ConnectionRateLimit.objects.count() == 2
        assert not ConnectionRateLimit.objects.filter(successful=False).exists()

    @override_settings(WEBSOCKETS={"rate_limit_max_attempts": 1})
    def test_rate_limit_uses_x_real_ip_not_a_spoofed_forwarded_for(self, callbacks) -> None:
        connected(callbacks, "c1=", headers={"X-Forwarded-For": "198.51.100.1"})
        response = callbacks.connect(
            "c2=", token=callbacks.token(), headers={"X-Forwarded-For": "198.51.100.2"}
        )
        assert response.content == b"Too many connection attempts"

    def test_user_hook(self, logged_in_client, gateway) -> None:
        gw = make_gateway("ws-hook", api_id="hook123456")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        token = callbacks.token()
        response = callbacks._post(
            callbacks._builtin("connect"),
            "c1=",
            "connect",
            "",
            query={"ws_token": token, "deny": "1"},
        )
        assert (response.status_code, response.content) == (400, b"Denied by hook")
        assert not WebSocketSession.objects.exists()
        assert ConnectionRateLimit.objects.get().successful is False

    def test_without_tokens_the_cookie_session_user_connects(self, logged_in_client, user) -> None:
        gw = make_gateway("ws-open", api_id="open123456")
        response = GatewayCallbacks(logged_in_client, gw).connect("c1=")
        assert response.status_code == 200
        assert WebSocketSession.objects.get().user == user

    def test_without_tokens_anonymous_connects(self, client) -> None:
        gw = make_gateway("ws-open", api_id="open123456")
        assert GatewayCallbacks(client, gw).connect("c1=").status_code == 200
        assert WebSocketSession.objects.get().user is None

    def test_query_budget(self, callbacks) -> None:
        token = callbacks.token()
        with query_budget(4 + without_returning()):  # exact counts: tests/test_hot_paths.py
            response = callbacks.connect("c1=", token=token, channel="room")
        assert response.status_code == 200

    def test_direct_construction_as_users_tests_do(self, gateway, user) -> None:
        token = WebSocketToken.generate_token(user, "k" * 32)
        request = RequestFactory().post(
            f"/ws/connect?ws_token={token.token}",
            headers=callback_headers(gateway, "direct=", event="connect", host="www.example.com"),
        )
        request.session = SessionStore(session_key="k" * 32)
        view = WebSocketView(api_gateway=gateway, websocket_session=None, debug=True)
        assert view.connect(request).status_code == 200
        assert WebSocketSession.objects.get().user == user
        request = RequestFactory().post(
            "/ws/disconnect", headers=callback_headers(gateway, "direct=", event="disconnect")
        )
        view.disconnect(request)
        assert not WebSocketSession.objects.get().connected


# -- the check tuples -------------------------------------------------------------------------


def direct_connect(view: WebSocketView, gateway: ApiGateway, **extra: str | None) -> object:
    """``view.connect(request)`` for a ``$connect`` without a token, as users' tests call it."""
    request = RequestFactory().post(
        "/ws/connect",
        headers=callback_headers(
            gateway, "direct=", event="connect", host="www.example.com", extra=extra
        ),
    )
    return view.connect(request)


class NoTokenView(WebSocketView):
    USE_WS_TOKEN = False


class TestCheckTuples:
    """The checks of each event are names in class attributes, run in order by one loop."""

    def test_the_order_is_the_documented_one(self) -> None:
        """docs/views.md's table of checks lists them in the order the tuples run them."""
        table = (ROOT / "docs" / "views.md").read_text()
        documented = re.findall(r"^\| `(check_\w+)`", table, flags=re.MULTILINE)
        view = WebSocketView
        assert documented == [
            *view.common_checks,
            *view.connect_checks,
            *view.disconnect_checks,  # the user agent: messages and $disconnect
            *[name for name in view.message_checks if name not in view.disconnect_checks],
        ]
        assert view.message_checks[0] == "check_useragent"

    def test_a_subclass_adds_a_connect_check_by_extending_the_tuple(self, gateway) -> None:
        class PlanView(NoTokenView):
            connect_checks = (*WebSocketView.connect_checks, "check_plan")

            def check_plan(self, request):  # type: ignore[no-untyped-def]
                return HttpResponseBadRequest("No plan")

        response = direct_connect(PlanView(api_gateway=gateway), gateway)
        assert (response.status_code, response.content) == (400, b"No plan")  # type: ignore[attr-defined]
        assert not WebSocketSession.objects.exists()
        assert ConnectionRateLimit.objects.get().successful is False
        assert "check_plan" not in PlanView().ALLOWED_HANDLERS  # a check is never a handler

    def test_a_subclass_adds_a_message_check_by_extending_the_tuple(
        self, callbacks, gateway
    ) -> None:
        connected(callbacks, "c1=")
        before = WebSocketSession.objects.get().request_count

        class QuotaView(WebSocketView):
            message_checks = (*WebSocketView.message_checks, "check_quota")

            def default(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
                return None

            def check_quota(self, request):  # type: ignore[no-untyped-def]
                return HttpResponseForbidden("Over quota")

        request = RequestFactory().post(
            "/ws/default",
            data=b'{"handler": "anything"}',
            content_type="application/json",
            headers=callback_headers(gateway, "c1="),
        )
        response = QuotaView.as_view()(request, route="default")
        assert (response.status_code, response.content) == (403, b"Over quota")
        # Counted at check_session (docs/views.md), though the handler never ran.
        assert WebSocketSession.objects.get().request_count == before + 1
        assert "check_quota" not in QuotaView().ALLOWED_HANDLERS

    def test_overriding_expected_connection_headers_takes_effect(self, gateway) -> None:
        """The existing package's hook is called by ``check_connection_headers``."""

        class Lenient(NoTokenView):
            def _expected_connection_headers(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
                return True

        class Strict(NoTokenView):
            def _expected_connection_headers(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
                return "X-Client-Cert" in request.headers

        no_ext = {"Sec-Websocket-Extensions": None}
        assert direct_connect(NoTokenView(api_gateway=gateway), gateway, **no_ext).content == (  # type: ignore[attr-defined]
            b"Missing 1 headers: Sec-Websocket-Extensions"
        )
        assert direct_connect(Lenient(api_gateway=gateway), gateway, **no_ext).status_code == 200  # type: ignore[attr-defined]
        refused = direct_connect(Strict(api_gateway=gateway), gateway)
        assert (refused.status_code, refused.content) == (400, b"Invalid request headers")  # type: ignore[attr-defined]


# -- gateway authenticity -------------------------------------------------------------------------


class TestGatewayAuthenticity:
    @pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-valu", "s3cret-value "])
    @pytest.mark.parametrize("event", ["connect", "message", "disconnect"])
    def test_wrong_or_missing_secret_is_refused(self, callbacks, secret, event) -> None:
        connected(callbacks, "victim=")
        before = rows()
        headers = {"X-Gateway-Secret": secret}
        if event == "connect":
            response = callbacks.connect("new=", token=callbacks.token(), headers=headers)
        elif event == "message":
            response = callbacks.message("victim=", {"handler": "echo"}, headers=headers)
        else:
            response = callbacks.disconnect("victim=", headers=headers)
        assert (response.status_code, response.content) == (403, b"Gateway authentication failed")
        assert rows() == before

    def test_unknown_gateway_id(self, callbacks) -> None:
        response = callbacks.connect(
            "c1=", token=callbacks.token(), headers={"X-Amzn-Apigateway-Api-Id": "zzz9999999"}
        )
        assert (response.status_code, response.content) == (400, b"Invalid request headers")

    def test_gateway_without_secret_is_trusted_on_headers(self, callbacks) -> None:
        ApiGateway.objects.update(secret="")
        callbacks.gateway.refresh_from_db()
        connected(callbacks)

    @override_settings(WEBSOCKETS={"require_gateway_secret": True})
    def test_require_gateway_secret(self, callbacks) -> None:
        ApiGateway.objects.update(secret="")
        callbacks.gateway.refresh_from_db()
        response = callbacks.connect("c1=", token=callbacks.token())
        assert (response.status_code, response.content) == (403, b"Gateway authentication failed")

    def test_connection_of_another_gateway_is_unknown(self, callbacks, logged_in_client) -> None:
        connected(callbacks, "mine=")
        other = make_gateway("ws", api_name="other", api_id="other12345", secret="other-secret")
        response = GatewayCallbacks(logged_in_client, other).message("mine=", {"handler": "echo"})
        assert (response.status_code, response.content) == (400, b"Unknown connection")
        response = GatewayCallbacks(logged_in_client, other).disconnect("mine=")
        assert WebSocketSession.objects.get().connected  # untouched

    def test_pinned_gateway_id_does_not_invert_the_useragent_check(self, logged_in_client) -> None:
        """Fix: with aws_api_gateway_id set, the old check refused the real user agent."""
        gw = make_gateway("ws-pinned")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        connected(callbacks)
        assert callbacks.message("conn-1=", {"handler": "echo", "text": "x"}).status_code == 200
        response = callbacks.message(
            "conn-1=", {"handler": "echo"}, headers={"User-Agent": "AmazonAPIGateway_other"}
        )
        assert response.content == b"Unexpected Useragent"

    def test_pinned_view_refuses_other_gateways(self, logged_in_client) -> None:
        gw = make_gateway("ws-pinned", api_id="notpinned1")
        response = GatewayCallbacks(logged_in_client, gw).connect("c1=")
        assert (response.status_code, response.content) == (400, b"Invalid request headers")

    def test_missing_required_header(self, callbacks) -> None:
        request_headers = callback_headers(callbacks.gateway, "c2=", event="message")
        del request_headers["X-Amzn-Trace-Id"]
        response = callbacks.client.post(
            "/ws/default", data="{}", content_type="application/json", headers=request_headers
        )
        assert (response.status_code, response.content) == (400, b"Invalid request headers")


# -- messages ---------------------------------------------------------------------------------


class TestMessages:
    def test_dispatches_to_the_named_handler_as_the_connection_user(self, callbacks) -> None:
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "echo", "text": "hi"})
        assert response.json() == {"echo": "hi", "user": "alice"}
        assert WebSocketSession.objects.get().request_count == 2

    def test_legacy_action_key(self, callbacks) -> None:
        connected(callbacks)
        assert callbacks.message("conn-1=", {"action": "echo", "text": "a"}).json()["echo"] == "a"

    def test_unknown_handler_goes_to_default(self, callbacks) -> None:
        connected(callbacks)
        assert callbacks.message("conn-1=", {"handler": "nope"}).json() == {"handled_by": "default"}

    @pytest.mark.parametrize(
        "name",
        [
            "connect",
            "disconnect",
            "dispatch",
            "setup",
            "as_view",
            "options",
            "http_method_not_allowed",
            "check_token",
            "check_gateway",
            "permission_denied",
            "missing_headers",
            "_run_handler",
            "__init__",
            "has_any_permission",
        ],
    )
    def test_base_class_methods_are_never_handlers(self, callbacks, name) -> None:
        connected(callbacks)
        before = rows()
        response = callbacks.message("conn-1=", {"handler": name})
        assert response.json() == {"handled_by": "default"}
        assert [r[:3] for r in rows()] == [r[:3] for r in before]

    def test_overridden_base_method_is_not_a_handler(self, logged_in_client) -> None:
        gw = make_gateway("ws-bare")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        connected(callbacks)
        assert callbacks.message("conn-1=", {"handler": "ping"}).json() == {"pong": True}
        response = callbacks.message("conn-1=", {"handler": "connect"})
        assert (response.status_code, response.content) == (400, b"Unknown handler")
        assert WebSocketSession.objects.count() == 1

    def test_handler_returning_nothing_answers_empty_object(self, callbacks, ws_outbox) -> None:
        """As 4.x did (projects' tests assert it); ``HttpResponse(status=204)`` answers
        nothing."""
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "broadcast", "text": "x"})
        assert (response.status_code, response.json()) == (200, {})

    def test_unknown_connection(self, callbacks) -> None:
        response = callbacks.message("ghost=", {"handler": "echo"})
        assert (response.status_code, response.content) == (400, b"Unknown connection")

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            "[1, 2]",
            '"handler"',
            "42",
            "null",
            '{"handler": "echo"',
            "[" * 50_000 + "]" * 50_000,
            '{"text": "no handler key"}',
        ],
    )
    def test_bad_bodies(self, callbacks, body) -> None:
        connected(callbacks)
        response = callbacks.message("conn-1=", body)
        assert (response.status_code, response.content) == (400, b"Invalid request format (1)")

    def test_invalid_utf8(self, callbacks) -> None:
        connected(callbacks)
        headers = callback_headers(callbacks.gateway, "conn-1=", host="www.example.com")
        response = callbacks.client.post(
            "/ws/default", data=b"\xff\xfe{", content_type="application/json", headers=headers
        )
        assert (response.status_code, response.content) == (400, b"Invalid request format (1)")

    def test_oversize_body(self, callbacks) -> None:
        connected(callbacks)
        body = '{"handler": "echo", "text": "' + "x" * 131072 + '"}'
        response = callbacks.message("conn-1=", body)
        assert (response.status_code, response.content) == (413, b"Request body too large")

    @pytest.mark.parametrize("handler", [["echo"], {"a": 1}, 1, None, True])
    def test_non_string_handler_names(self, callbacks, handler) -> None:
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": handler})
        assert response.json() == {"handled_by": "default"}

    def test_wrong_useragent(self, logged_in_client) -> None:
        """Without a secret the user agent is all there is: API Gateway's is required."""
        callbacks = GatewayCallbacks(logged_in_client, make_gateway(secret=""))
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "echo"}, headers={"User-Agent": "curl"})
        assert (response.status_code, response.content) == (400, b"Unexpected Useragent")
        assert WebSocketSession.objects.get().request_count == 1

    def test_a_browser_useragent_is_tolerated_with_a_secret(self, callbacks) -> None:
        """Release 4.1 expected the browser's agent on messages: the secret authenticates."""
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "echo"}, headers={"User-Agent": "curl"})
        assert response.status_code == 200

    def test_handler_exception_is_logged_mailed_and_raised(self, callbacks, caplog) -> None:
        connected(callbacks)
        callbacks.client.raise_request_exception = False
        response = callbacks.message("conn-1=", {"handler": "explode"})
        assert response.status_code == 500
        ours = [m for m in mail.outbox if m.subject == "[Django] Unexpected Websocket Exception"]
        assert len(ours) == 1 and "handler failed on purpose" in ours[0].body
        assert any("Unexpected WebSocket exception" in r.message for r in caplog.records)

    def test_exception_mail_can_be_turned_off(self, logged_in_client) -> None:
        gw = make_gateway("ws-quiet")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        connected(callbacks)
        callbacks.client.raise_request_exception = False
        assert callbacks.message("conn-1=", {"handler": "explode"}).status_code == 500
        assert not [m for m in mail.outbox if "Unexpected Websocket" in m.subject]

    def test_change_channel(self, callbacks) -> None:
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "change_channel", "channel": "room-2"})
        assert response.status_code == 200
        assert WebSocketSession.objects.get().channel_name == "room-2"

    @pytest.mark.parametrize("channel", ["bad channel", "", None, 5, "x" * 129, ["a"]])
    def test_change_channel_validates(self, callbacks, channel) -> None:
        """Fix: change_channel accepted anything (and crashed on over-long names)."""
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "change_channel", "channel": channel})
        assert (response.status_code, response.content) == (400, b"Invalid channel name")
        assert WebSocketSession.objects.get().channel_name == "lobby"

    def test_change_channel_needs_opting_in(self, logged_in_client) -> None:
        gw = make_gateway("ws-bare")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        connected(callbacks)
        response = callbacks.message("conn-1=", {"handler": "change_channel", "channel": "x"})
        assert response.content == b"Unknown handler"

    def test_both_permission_lists_apply(self, logged_in_client, user) -> None:
        """Fix: the old code ignored permissions_required when all_permissions_required was set."""
        gw = make_gateway("ws-guarded")
        callbacks = GatewayCallbacks(logged_in_client, gw)
        connected(callbacks)

        def grant(*codenames: str) -> None:
            user.user_permissions.set(Permission.objects.filter(codename__in=codenames))

        def status() -> tuple[int, bytes]:
            response = callbacks.message("conn-1=", {"handler": "echo"})
            return response.status_code, response.content if response.status_code != 200 else b""

        grant()
        assert status() == (403, b"Permission Denied")
        grant("change_user")  # all of: yes; any of: no
        assert status() == (403, b"Permission Denied")
        grant("view_user")  # any of: yes; all of: no
        assert status() == (403, b"Permission Denied")
        grant("change_user", "add_user")
        assert status() == (200, b"")

    def test_query_budget(self, callbacks, ws_outbox) -> None:
        connected(callbacks)
        callbacks.message("conn-1=", {"handler": "nothing-here"})  # caches the gateway
        with query_budget(1 + without_returning()):
            response = callbacks.message("conn-1=", {"handler": "nothing-here"})
        assert response.status_code == 200

    def test_request_count_increments_are_not_lost(self, callbacks) -> None:
        connected(callbacks)
        for _ in range(3):
            callbacks.message("conn-1=", {"handler": "echo"})
        WebSocketSession.objects.update(request_count=100)  # a concurrent writer
        callbacks.disconnect("conn-1=")
        assert WebSocketSession.objects.get().request_count == 101


# -- $disconnect ------------------------------------------------------------------------------


class TestDisconnect:
    def test_marks_the_session_disconnected(self, callbacks) -> None:
        connected(callbacks)
        response = callbacks.disconnect("conn-1=")
        assert (response.status_code, response.json()) == (200, {})
        assert rows() == [("conn-1=", "lobby", False, 2)]

    def test_unknown_connection_is_idempotent(self, callbacks) -> None:
        response = callbacks.disconnect("ghost=")
        assert (response.status_code, response.json()) == (200, {})
        connected(callbacks)
        assert callbacks.disconnect("conn-1=").status_code == 200
        assert callbacks.disconnect("conn-1=").status_code == 200
        assert not WebSocketSession.objects.get().connected

    def test_wrong_useragent(self, logged_in_client) -> None:
        callbacks = GatewayCallbacks(logged_in_client, make_gateway(secret=""))
        connected(callbacks)
        response = callbacks.disconnect("conn-1=", headers={"User-Agent": "Mozilla/5.0"})
        assert response.content == b"Unexpected Useragent"
        assert WebSocketSession.objects.get().connected

    def test_a_browser_useragent_is_tolerated_with_a_secret(self, callbacks) -> None:
        connected(callbacks)
        response = callbacks.disconnect("conn-1=", headers={"User-Agent": "Mozilla/5.0"})
        assert response.status_code == 200
        assert not WebSocketSession.objects.get().connected

    def test_query_budget(self, callbacks) -> None:
        connected(callbacks)
        callbacks.message("conn-1=", {"handler": "nothing-here"})  # caches the gateway
        with query_budget(1 + without_returning()):
            assert callbacks.disconnect("conn-1=").status_code == 200


# -- bodies never echo input ------------------------------------------------------------------


MARKER = "MARKER7f3a"


def test_rejections_echo_nothing(callbacks, settings) -> None:
    settings.ALLOWED_HOSTS = ["testserver", "www.example.com", f"{MARKER}.example.com"]
    connected(callbacks)
    attempts = [
        callbacks.connect(f"{MARKER}=", token=MARKER),
        callbacks.connect("c9=", token=callbacks.token(), channel=f"{MARKER} !"),
        callbacks.connect("c9=", headers={"Origin": f"https://{MARKER}.net"}),
        callbacks.message("conn-1=", f"{MARKER} not json"),
        callbacks.message(f"{MARKER}=", {"handler": "echo"}),
        callbacks.message("conn-1=", {"handler": "echo"}, headers={"X-Gateway-Secret": MARKER}),
        callbacks.message(
            "conn-1=", {"handler": "echo"}, headers={"X-Amzn-Apigateway-Api-Id": MARKER}
        ),
        callbacks.message("conn-1=", {"handler": "change_channel", "channel": f"{MARKER}!"}),
    ]
    for response in attempts:
        assert 400 <= response.status_code < 500
        assert response.content.decode() in DOCUMENTED_BODIES
        assert MARKER not in response.content.decode()
        assert "www.example.com" not in response.content.decode()
