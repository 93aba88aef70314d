"""``$connect`` without a token (``USE_WS_TOKEN = False``): ``check_rate_limit`` knows the
attempt's user, so it records the attempt in the statement that counts (``INSERT … SELECT …
WHERE`` the IP's, and a logged-in user's, attempts are below the limit): two statements with the
gateway cached (the attempt, the session), and still nothing written when the limit refuses.

Through the test client (``/ws-open/``: ``OpenChatView``, the user from the session cookie) and
the users' way (RequestFactory, ``view.connect(request)``). Run on SQLite, PostgreSQL and
MariaDB (``DATABASE_URL``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets import gateway_cache
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, callback_headers
from django_aws_api_gateway_websockets.views import TOO_MANY_ATTEMPTS, WebSocketView
from django_aws_api_gateway_websockets.views.connect import ConnectChecks
from tests.support.budget import data_statements

IP = "203.0.113.10"  # callback_headers' client IP


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    gateway_cache.clear()
    yield
    gateway_cache.clear()


def open_gateway(api_id: str = "open123456") -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Open",
        api_id=api_id,
        target_base_endpoint="https://www.example.com/ws-open/",
        default_channel_name="lobby",
        secret="open-secret",
    )


@pytest.fixture
def open_callbacks(logged_in_client: Client) -> GatewayCallbacks:
    return GatewayCallbacks(logged_in_client, open_gateway())


def ours(context: CaptureQueriesContext) -> list[str]:
    """The data statements of the package: not Django's reads of the browser session and of its
    user (the session and auth middleware, for a logged-in client)."""
    return [
        sql
        for sql in data_statements(context)
        if "websockets" in sql or not ("django_session" in sql or "auth_user" in sql)
    ]


def attempts() -> list[tuple[str, object, bool]]:
    rows = ConnectionRateLimit.objects.order_by("pk")
    return [(r.ip_address, r.user_id, r.successful) for r in rows]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logged_in", [True, False])
def test_two_statements_with_the_gateway_cached(open_callbacks, user, logged_in) -> None:
    """As a production site runs (autocommit): the attempt (counted as it is inserted) and
    the session (counted again, for concurrency)."""
    if not logged_in:
        open_callbacks.client.logout()
    assert open_callbacks.connect("warm=").status_code == 200  # caches the gateway
    with CaptureQueriesContext(connection) as context:
        assert open_callbacks.connect("c1=").status_code == 200
    sql = ours(context)
    assert len(sql) == 2, sql
    if not logged_in:
        assert len(data_statements(context)) == 2
        user = AnonymousUser()
    assert all(s.lstrip().upper().startswith("INSERT") for s in sql), sql
    session = WebSocketSession.objects.get(connection_id="c1=")
    assert (session.user_id, session.channel_name) == (user.pk, "lobby")
    assert attempts() == [(IP, user.pk, True), (IP, user.pk, True)]


@pytest.mark.django_db
def test_three_statements_when_the_gateway_is_read(open_callbacks) -> None:
    """In a transaction the gateway is read from the database, without the IP's count riding
    on it (the attempt's INSERT counts)."""
    with CaptureQueriesContext(connection) as context:
        assert open_callbacks.connect("c1=").status_code == 200
    sql = ours(context)
    assert len(sql) == 3, sql
    assert "COUNT" not in sql[0].upper(), sql[0]


@pytest.mark.django_db
@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 2})
def test_the_limit_refuses_and_writes_nothing(open_callbacks, user) -> None:
    assert open_callbacks.connect("c1=").status_code == 200
    assert open_callbacks.connect("c2=").status_code == 200
    before = attempts()
    response = open_callbacks.connect("c3=")
    assert (response.status_code, response.content.decode()) == (400, TOO_MANY_ATTEMPTS)
    assert attempts() == before == [(IP, user.pk, True)] * 2
    assert sorted(WebSocketSession.objects.values_list("connection_id", flat=True)) == [
        "c1=",
        "c2=",
    ]


@pytest.mark.django_db
@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 2})
def test_a_logged_in_user_is_limited_across_ips(open_callbacks, user) -> None:
    ConnectionRateLimit.objects.bulk_create(
        ConnectionRateLimit(ip_address=f"198.51.100.{n}", user=user) for n in (1, 2)
    )
    response = open_callbacks.connect("c1=")  # from IP, which has no attempts yet
    assert (response.status_code, response.content.decode()) == (400, TOO_MANY_ATTEMPTS)
    assert ConnectionRateLimit.objects.count() == 2
    assert not WebSocketSession.objects.exists()


@pytest.mark.django_db
@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 2})
def test_an_anonymous_connect_is_limited_by_its_ip_alone(user) -> None:
    callbacks = GatewayCallbacks(Client(), open_gateway())
    ConnectionRateLimit.objects.bulk_create(
        ConnectionRateLimit(ip_address=f"198.51.100.{n}", user=user) for n in (1, 2)
    )
    assert callbacks.connect("c1=").status_code == 200  # the user's attempts are not its own
    ConnectionRateLimit.objects.create(ip_address=IP)
    response = callbacks.connect("c2=")
    assert (response.status_code, response.content.decode()) == (400, TOO_MANY_ATTEMPTS)
    assert list(WebSocketSession.objects.values_list("user", flat=True)) == [None]
    assert ConnectionRateLimit.objects.filter(ip_address=IP).count() == 2


@pytest.mark.django_db
def test_a_later_refusal_marks_the_recorded_attempt_failed(open_callbacks, user) -> None:
    """The row check_rate_limit recorded is the attempt's only row: marked failed, not a
    second row."""
    response = open_callbacks.connect("c1=", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 400
    assert attempts() == [(IP, user.pk, False)]
    assert not WebSocketSession.objects.exists()


@pytest.mark.django_db
@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 3})
def test_attempts_admitted_meanwhile_make_the_session_insert_refuse(
    open_callbacks, monkeypatch
) -> None:
    """Concurrent ``$connect``s all pass (and record) the first check; the session's INSERT
    counts again and takes this one's row back."""
    first_check = ConnectChecks.check_rate_limit

    def then_two_others_are_admitted(self, request):  # type: ignore[no-untyped-def]
        refused = first_check(self, request)
        assert refused is None
        ConnectionRateLimit.objects.bulk_create(
            ConnectionRateLimit(ip_address=self._ip, successful=True) for _ in range(3)
        )
        return refused

    monkeypatch.setattr(ConnectChecks, "check_rate_limit", then_two_others_are_admitted)
    response = open_callbacks.connect("late=")
    assert (response.status_code, response.content.decode()) == (400, TOO_MANY_ATTEMPTS)
    assert not WebSocketSession.objects.exists()
    assert ConnectionRateLimit.objects.count() == 3  # its own row was taken back


class NoTokenView(WebSocketView):
    USE_WS_TOKEN = False


@pytest.mark.django_db
@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 1})
def test_users_way_request_factory_and_connect() -> None:
    gateway = open_gateway()
    headers = callback_headers(gateway, "rf=", event="connect", host="www.example.com")

    def connect(connection_id: str) -> object:
        request = RequestFactory().post(
            "/ws/connect", headers={**headers, "Connectionid": connection_id}
        )
        request.user = AnonymousUser()
        return NoTokenView(api_gateway=gateway).connect(request)

    assert connect("rf1=").status_code == 200  # type: ignore[attr-defined]
    refused = connect("rf2=")
    assert (refused.status_code, refused.content.decode()) == (400, TOO_MANY_ATTEMPTS)  # type: ignore[attr-defined]
    assert attempts() == [(IP, None, True)]
    assert list(WebSocketSession.objects.values_list("connection_id", flat=True)) == ["rf1="]
