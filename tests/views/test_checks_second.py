"""A second, independent test for checks of the callback view that one test alone pinned
(each was found unguarded by breaking it on purpose):

- the concurrency-safe admission of ``$connect`` (``ConnectionRateLimit.admit``): on every
  database, attempts admitted by other requests between this one's first check and its admit
  make it refuse;
- ``all_permissions_required`` with two permissions: one of them is not enough;
- a token used once, the token expiry, ``require_gateway_secret``, the ``Host`` check.

Users' way (RequestFactory, ``WebSocketView(api_gateway=...)``) where the first test went
through the test client, and the reverse.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks, callback_headers
from django_aws_api_gateway_websockets.views import WebSocketView
from django_aws_api_gateway_websockets.views.connect import ConnectChecks

pytestmark = pytest.mark.django_db


# -- the rate limit's second check (admit) -------------------------------------------------------


@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 3})
def test_attempts_admitted_meanwhile_make_admit_refuse(callbacks, monkeypatch) -> None:
    """Concurrent ``$connect``s all pass the first check; three of them are admitted while
    this one runs its other checks (inserted here, after its first check passed)."""
    first_check = ConnectChecks.check_rate_limit

    def then_three_others_are_admitted(self, request):
        refused = first_check(self, request)
        assert refused is None  # the first check alone would let this one in
        ConnectionRateLimit.objects.bulk_create(
            ConnectionRateLimit(ip_address=self._ip, successful=True) for _ in range(3)
        )
        return refused

    token = callbacks.token()
    monkeypatch.setattr(ConnectChecks, "check_rate_limit", then_three_others_are_admitted)
    response = callbacks.connect("late=", token=token)
    assert (response.status_code, response.content) == (400, b"Too many connection attempts")
    assert not WebSocketSession.objects.exists()
    assert ConnectionRateLimit.objects.count() == 3  # its own row was taken back


@override_settings(WEBSOCKETS={"rate_limit_max_attempts": 3})
def test_admit_lets_in_the_attempt_that_reaches_the_limit(callbacks, monkeypatch) -> None:
    """The same, with two admitted meanwhile: this one is the third, within the limit."""
    first_check = ConnectChecks.check_rate_limit

    def then_two_others_are_admitted(self, request):
        refused = first_check(self, request)
        ConnectionRateLimit.objects.bulk_create(
            ConnectionRateLimit(ip_address=self._ip, successful=True) for _ in range(2)
        )
        return refused

    token = callbacks.token()
    monkeypatch.setattr(ConnectChecks, "check_rate_limit", then_two_others_are_admitted)
    assert callbacks.connect("third=", token=token).status_code == 200
    assert WebSocketSession.objects.filter(connection_id="third=").exists()


# -- all of two permissions --------------------------------------------------------------------


@pytest.mark.parametrize("held", [[], ["change_user"], ["delete_user"]])
def test_all_of_two_permissions_through_the_callbacks(logged_in_client, user, held) -> None:
    gateway = ApiGateway.objects.create(
        api_name="all of two",
        api_id="alloftwo12",
        target_base_endpoint="https://www.example.com/ws-all-of-two/",
        secret="s3cret-value",
    )
    callbacks = GatewayCallbacks(logged_in_client, gateway)
    assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
    user.user_permissions.set(Permission.objects.filter(codename__in=held))
    response = callbacks.message("c1=", {"handler": "echo", "text": "hi"})
    assert (response.status_code, response.content) == (403, b"Permission Denied")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["change_user", "delete_user"])
    )
    response = callbacks.message("c1=", {"handler": "echo", "text": "hi"})
    assert response.status_code == 200 and response.json()["echo"] == "hi"


def test_has_all_permission_needs_every_listed_permission(user) -> None:
    class TwoPermissions(WebSocketView):
        all_permissions_required = ["auth.view_user", "auth.add_user"]

    request = RequestFactory().post("/ws/default")
    request.user = user
    view = TwoPermissions()
    user.user_permissions.set(Permission.objects.filter(codename="view_user"))
    assert not view.has_all_permission(request)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_user", "add_user"]))
    request.user = type(user).objects.get(pk=user.pk)  # Django caches a user's permissions
    assert view.has_all_permission(request)


# -- tokens --------------------------------------------------------------------------------------


def connect_request(gateway: ApiGateway, connection_id: str, session_key: str, **query: str):
    request = RequestFactory().post(
        f"/ws/connect?{urlencode(query)}",
        headers=callback_headers(gateway, connection_id, event="connect"),
    )
    request.session = SessionStore(session_key=session_key)
    return request


@pytest.fixture
def session_key(user) -> str:
    client = Client()
    client.force_login(user)
    return client.session.session_key


def test_a_token_is_spent_even_after_its_connection_has_gone(gateway, user, session_key) -> None:
    token = WebSocketToken.generate_token(user, session_key).token
    view = WebSocketView(api_gateway=gateway)
    assert (
        view.connect(connect_request(gateway, "a=", session_key, ws_token=token)).status_code == 200
    )
    WebSocketSession.objects.filter(connection_id="a=").update(connected=False)
    again = WebSocketView(api_gateway=gateway).connect(
        connect_request(gateway, "b=", session_key, ws_token=token)
    )
    assert (again.status_code, again.content) == (400, b"Invalid or expired token")
    assert list(WebSocketSession.objects.values_list("connection_id", flat=True)) == ["a="]


@override_settings(WEBSOCKETS={"token_expiry_seconds": 30})
@pytest.mark.parametrize(("age", "accepted"), [(25, True), (35, False)])
def test_token_expiry_on_either_side(gateway, user, session_key, age, accepted) -> None:
    token = WebSocketToken.generate_token(user, session_key).token
    WebSocketToken.objects.update(created_at=timezone.now() - timedelta(seconds=age))
    response = WebSocketView(api_gateway=gateway).connect(
        connect_request(gateway, "c1=", session_key, ws_token=token)
    )
    if accepted:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.content) == (400, b"Invalid or expired token")
    assert WebSocketSession.objects.exists() is accepted


# -- require_gateway_secret ----------------------------------------------------------------------


def test_without_a_secret_messages_and_disconnects_are_refused_too(callbacks) -> None:
    """Connected while the gateway had its secret; then the secret is gone and required."""
    assert callbacks.connect("c1=", token=callbacks.token()).status_code == 200
    ApiGateway.objects.update(secret="")
    callbacks.gateway.refresh_from_db()
    with override_settings(WEBSOCKETS={"require_gateway_secret": True}):
        message = callbacks.message("c1=", {"handler": "echo"})
        disconnect = callbacks.disconnect("c1=")
    assert (message.status_code, message.content) == (403, b"Gateway authentication failed")
    assert disconnect.status_code == 403
    session = WebSocketSession.objects.get()
    assert session.connected and session.request_count == 1  # its $connect only: nothing ran
    # Without the setting the same calls are trusted on their headers.
    assert callbacks.message("c1=", {"handler": "echo"}).status_code == 200


# -- the Host check ------------------------------------------------------------------------------


@override_settings(ALLOWED_HOSTS=[".example.com"])
@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("www.example.com", True),
        ("example.com", True),
        ("example.com.evil.net", False),
        ("evilexample.com", False),
    ],
)
def test_the_host_check_reads_allowed_hosts_as_django_does(
    gateway, user, session_key, host, allowed
) -> None:
    token = WebSocketToken.generate_token(user, session_key).token
    request = connect_request(gateway, "c1=", session_key, ws_token=token)
    request.META["HTTP_HOST"] = host
    request.META["HTTP_ORIGIN"] = f"https://{host}"
    response = WebSocketView(api_gateway=gateway).connect(request)
    if allowed:
        assert response.status_code == 200, response.content
    else:
        assert (response.status_code, response.content) == (400, b"Host is not in AllowedHosts")
        assert ConnectionRateLimit.objects.get().successful is False
    assert WebSocketSession.objects.exists() is allowed
