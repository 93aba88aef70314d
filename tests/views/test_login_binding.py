"""Login binding (release 4.1, and ours closes the socket too): ``$connect`` records the login's
keyed hashes; logging out ends every connected session of that login; a message from a user who
was deactivated, or whose password changed, since connecting ends the session (400) — the row
marked disconnected and the socket closed with ``DeleteConnection``.

The Management API is the package's own recording double (``ws_outbox``: AWS cannot run here)
and, the way projects test, a ``MagicMock`` boto3 factory (``aws_mock``)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    WebSocketSession,
    hash_session_key,
    hash_user_auth,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import SESSION_ENDED
from tests.support.budget import data_statements, without_returning

pytestmark = pytest.mark.django_db


def connect(callbacks: GatewayCallbacks, connection_id: str) -> WebSocketSession:
    assert callbacks.connect(connection_id, token=callbacks.token()).status_code == 200
    return WebSocketSession.objects.get(connection_id=connection_id)


def test_connect_records_the_logins_hashes(callbacks, logged_in_client, user) -> None:
    row = connect(callbacks, "c1=")
    assert row.session_key_hash == hash_session_key(logged_in_client.session.session_key)
    assert row.auth_hash == hash_user_auth(user)
    assert len(row.auth_hash) == len(row.session_key_hash) == 64


def test_anonymous_connection_has_no_auth_hash(client) -> None:
    open_gateway = ApiGateway.objects.create(
        api_name="open",
        api_id="open123456",
        target_base_endpoint="https://www.example.com/ws-open/",
    )
    assert GatewayCallbacks(client, open_gateway).connect("c1=").status_code == 200
    assert WebSocketSession.objects.get().auth_hash == ""


class TestLogout:
    def test_ends_every_session_of_that_login_and_closes_sockets(
        self,
        callbacks,
        logged_in_client,
        user,
        gateway,
        ws_outbox,
        django_capture_on_commit_callbacks,
    ) -> None:
        connect(callbacks, "c1=")
        connect(callbacks, "c2=")
        other_login = Client()
        other_login.force_login(user)  # the same user, another browser: stays connected
        connect(GatewayCallbacks(other_login, gateway), "c3=")
        with django_capture_on_commit_callbacks(execute=True):
            logged_in_client.logout()
        states = dict(WebSocketSession.objects.values_list("connection_id", "connected"))
        assert states == {"c1=": False, "c2=": False, "c3=": True}
        assert ws_outbox.gone == {"c1=", "c2="}

    def test_with_a_magicmock_boto3(
        self, callbacks, logged_in_client, aws_mock, django_capture_on_commit_callbacks
    ) -> None:
        connect(callbacks, "c1=")
        with django_capture_on_commit_callbacks(execute=True):
            logged_in_client.logout()
        assert not WebSocketSession.objects.get().connected
        aws_mock.delete_connection.assert_called_once_with(ConnectionId="c1=")

    def test_a_failing_delete_connection_is_logged_not_raised(
        self, callbacks, logged_in_client, aws_mock, django_capture_on_commit_callbacks, caplog
    ) -> None:
        connect(callbacks, "c1=")
        aws_mock.delete_connection.side_effect = RuntimeError("network down")
        with django_capture_on_commit_callbacks(execute=True):
            logged_in_client.logout()
        assert not WebSocketSession.objects.get().connected
        assert "DeleteConnection failed for c1=" in caplog.text

    def test_the_socket_is_closed_only_after_commit(
        self, callbacks, logged_in_client, aws_mock, django_capture_on_commit_callbacks
    ) -> None:
        connect(callbacks, "c1=")
        with django_capture_on_commit_callbacks(execute=False) as pending:
            logged_in_client.logout()
        aws_mock.delete_connection.assert_not_called()
        assert len(pending) == 1


class TestMessages:
    def test_deactivated_user_ends_the_session(
        self, callbacks, user, ws_outbox, django_capture_on_commit_callbacks
    ) -> None:
        connect(callbacks, "c1=")
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            response = callbacks.message("c1=", {"handler": "echo", "text": "hi"})
        assert (response.status_code, response.content.decode()) == (400, SESSION_ENDED)
        assert not WebSocketSession.objects.get().connected
        assert ws_outbox.gone == {"c1="}

    def test_password_change_ends_the_session(
        self, callbacks, user, aws_mock, django_capture_on_commit_callbacks
    ) -> None:
        connect(callbacks, "c1=")
        user.set_password("new password")
        user.save()
        with django_capture_on_commit_callbacks(execute=True):
            response = callbacks.message("c1=", {"handler": "echo", "text": "hi"})
        assert (response.status_code, response.content.decode()) == (400, SESSION_ENDED)
        aws_mock.delete_connection.assert_called_once_with(ConnectionId="c1=")
        assert not WebSocketSession.objects.get().connected

    def test_unchanged_user_costs_one_statement(self, callbacks, user) -> None:
        connect(callbacks, "c1=")
        callbacks.message("c1=", {"handler": "default"})
        with CaptureQueriesContext(connection) as context:
            response = callbacks.message("c1=", {"handler": "echo", "text": "hi"})
        assert response.json() == {"echo": "hi", "user": "alice"}
        # The message's one statement (the gateway is cached), which also read the user
        # compared here (and echo's request.user).
        assert len(data_statements(context)) == 1 + without_returning()

    def test_rows_from_before_the_hashes_pass(self, callbacks, user) -> None:
        connect(callbacks, "c1=")
        WebSocketSession.objects.update(auth_hash="")
        user.set_password("changed")
        user.save()
        assert callbacks.message("c1=", {"handler": "default"}).status_code == 200


def test_deleting_a_gateway_disconnects_its_sessions(callbacks, gateway) -> None:
    """Release 4.1: the rows are closed, not left connected to no gateway."""
    connect(callbacks, "c1=")
    gateway.delete()
    row = WebSocketSession.objects.get()
    assert (row.connected, row.api_gateway_id) == (False, None)
