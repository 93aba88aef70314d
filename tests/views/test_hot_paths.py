"""The callback hot paths (models/hot.py): exact statement counts, and what each statement still
guarantees.

- a message: 1 statement (the session's ``UPDATE … RETURNING``), the gateway from the cache;
- ``$disconnect``: 1;
- ``$connect`` with a token and the rate limit: 4 (gateway cached or not);
- where the database has no ``UPDATE … RETURNING`` (MariaDB, MySQL; forced here with
  ``no_returning`` on every database) the row is read back by a ``SELECT``: one more, same
  behaviour.

Run on SQLite, PostgreSQL and MariaDB (``DATABASE_URL``). ``db`` tests run in a transaction,
where ``$connect`` never uses the gateway cache; ``transactional_db`` ones in autocommit mode, as
a production site does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models.signals import post_save, pre_save
from django.test import Client
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets import gateway_cache
from django_aws_api_gateway_websockets.models import (
    ApiGateway,
    ConnectionRateLimit,
    WebSocketSession,
    WebSocketToken,
    hot,
)
from django_aws_api_gateway_websockets.testing import GatewayCallbacks
from django_aws_api_gateway_websockets.views import (
    GATEWAY_FORBIDDEN,
    TOO_MANY_ATTEMPTS,
    UNKNOWN_CONNECTION,
)
from tests.support.budget import data_statements, without_returning


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    gateway_cache.clear()
    yield
    gateway_cache.clear()


@pytest.fixture(params=["returning", "no_returning"])
def returning(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Both forms on every database: ``no_returning`` runs the MariaDB/MySQL form."""
    if request.param == "no_returning":
        monkeypatch.setattr(hot, "update_returning", lambda connection: False)
        return False
    if not hot.update_returning(connection):
        pytest.skip(f"{connection.vendor} has no UPDATE … RETURNING")
    return True


def statements(context: CaptureQueriesContext) -> list[str]:
    return data_statements(context)


def connected(callbacks: GatewayCallbacks, connection_id: str = "conn-1=") -> None:
    assert callbacks.connect(connection_id, token=callbacks.token()).status_code == 200


def other_gateway() -> ApiGateway:
    return ApiGateway.objects.create(
        api_name="Other",
        api_id="other12345",
        target_base_endpoint="https://www.example.com/ws/",
        secret="other-secret",
    )


class TestMessage:
    def test_one_statement_with_the_gateway_cached(self, callbacks, returning, user) -> None:
        connected(callbacks)
        callbacks.message("conn-1=", {"handler": "default"})  # the first reads the gateway
        with CaptureQueriesContext(connection) as context:
            response = callbacks.message("conn-1=", {"handler": "echo", "text": "hi"})
        # echo reads request.user: the connection's user, read by the same statement (joined
        # to the UPDATE's RETURNING on PostgreSQL, subqueries on SQLite: the login binding
        # compares its auth hash).
        assert response.json() == {"echo": "hi", "user": user.get_username()}
        sql = statements(context)
        assert len(sql) == 2 - returning, sql
        assert sql[0].startswith(("UPDATE", "WITH")) and ("RETURNING" in sql[0]) is returning
        with CaptureQueriesContext(connection) as context:
            assert callbacks.message("conn-1=", {"handler": "default"}).status_code == 200
        assert len(statements(context)) == 2 - returning
        assert WebSocketSession.objects.get().request_count == 1 + 3

    def test_the_first_message_of_a_process_reads_the_gateway(self, callbacks) -> None:
        connected(callbacks)
        with CaptureQueriesContext(connection) as context:
            assert callbacks.message("conn-1=", {"handler": "default"}).status_code == 200
        assert len(statements(context)) == 2 + without_returning()

    def test_the_row_read_back_is_the_counted_one(self, callbacks, returning) -> None:
        connected(callbacks)
        WebSocketSession.objects.update(request_count=41)  # a concurrent writer's increments
        seen: list[Any] = []
        view = callbacks.client  # the real view, through the URL conf
        from tests.testapp.views import ChatView

        original = ChatView.default

        def spy(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append((self.websocket_session.request_count, self.websocket_session.api_gateway))
            return original(self, request, *args, **kwargs)

        ChatView.default = spy  # type: ignore[method-assign]
        try:
            assert callbacks.message("conn-1=", {"handler": "default"}).status_code == 200
        finally:
            ChatView.default = original  # type: ignore[method-assign]
        assert view is not None and seen == [(42, callbacks.gateway)]
        assert WebSocketSession.objects.get().request_count == 42

    def test_another_gateways_connection_is_unknown_and_untouched(
        self, callbacks, returning
    ) -> None:
        connected(callbacks)
        before = WebSocketSession.objects.values_list("request_count", "updated_on").get()
        other = GatewayCallbacks(Client(), other_gateway())
        response = other.message("conn-1=", {"handler": "default"})
        assert (response.status_code, response.content.decode()) == (400, UNKNOWN_CONNECTION)
        assert WebSocketSession.objects.values_list("request_count", "updated_on").get() == before

    def test_a_wrong_secret_against_the_cached_gateway_counts_nothing(self, callbacks) -> None:
        connected(callbacks)
        callbacks.message("conn-1=", {"handler": "default"})  # cached now
        forged = callbacks.message(
            "conn-1=", {"handler": "default"}, headers={"X-Gateway-Secret": "guess"}
        )
        assert (forged.status_code, forged.content.decode()) == (403, GATEWAY_FORBIDDEN)
        assert WebSocketSession.objects.get().request_count == 2

    def test_a_malformed_message_is_not_counted(self, callbacks) -> None:
        connected(callbacks)
        assert callbacks.message("conn-1=", "not json").status_code == 400
        assert WebSocketSession.objects.get().request_count == 1


class TestDisconnect:
    def test_one_statement(self, callbacks, returning) -> None:
        connected(callbacks)
        callbacks.message("conn-1=", {"handler": "default"})  # caches the gateway
        with CaptureQueriesContext(connection) as context:
            assert callbacks.disconnect("conn-1=").status_code == 200
        sql = statements(context)
        assert len(sql) == 2 - returning, sql
        row = WebSocketSession.objects.get()
        assert (row.connected, row.request_count) == (False, 3)

    def test_another_gateways_connection_stays_open(self, callbacks, returning) -> None:
        connected(callbacks)
        assert GatewayCallbacks(Client(), other_gateway()).disconnect("conn-1=").status_code == 200
        assert WebSocketSession.objects.get().connected

    def test_a_row_whose_gateway_was_deleted_is_closed(self, callbacks, returning) -> None:
        connected(callbacks)
        other = other_gateway()
        WebSocketSession.objects.update(api_gateway=None)  # its gateway was deleted
        assert GatewayCallbacks(Client(), other).disconnect("conn-1=").status_code == 200
        assert not WebSocketSession.objects.get().connected


class TestConnect:
    def test_four_statements_in_a_transaction(self, callbacks, returning, user) -> None:
        token = callbacks.token()
        with CaptureQueriesContext(connection) as context:
            assert callbacks.connect("c1=", token=token, channel="room").status_code == 200
        sql = statements(context)
        # The gateway (with the IP's attempts), the token, the attempt, the session.
        assert len(sql) == 5 - returning, sql
        session = WebSocketSession.objects.get()
        assert (session.user, session.channel_name, session.api_gateway) == (
            user,
            "room",
            callbacks.gateway,
        )
        attempt = ConnectionRateLimit.objects.get()
        assert (attempt.successful, attempt.user) == (True, user)
        assert WebSocketToken.objects.get().used

    def test_a_used_token_is_refused(self, callbacks, returning) -> None:
        token = callbacks.token()
        assert callbacks.connect("c1=", token=token).status_code == 200
        response = callbacks.connect("c2=", token=token)
        assert (response.status_code, response.content) == (400, b"Invalid or expired token")
        assert ConnectionRateLimit.objects.filter(successful=False).count() == 1

    def test_the_sessions_insert_refuses_past_the_limit(self, callbacks, settings) -> None:
        """The count inside the session's INSERT is what holds under concurrency: another
        attempt from the IP lands between the first check and the INSERT."""
        settings.WEBSOCKETS = {"rate_limit_max_attempts": 1}

        def concurrent_attempt(sender: Any, instance: Any, **kwargs: Any) -> None:
            if sender is ConnectionRateLimit and instance.successful:
                ConnectionRateLimit.objects.create(ip_address=instance.ip_address)

        pre_save.connect(concurrent_attempt, sender=ConnectionRateLimit)
        try:
            response = callbacks.connect("c1=", token=callbacks.token())
        finally:
            pre_save.disconnect(concurrent_attempt, sender=ConnectionRateLimit)
        assert (response.status_code, response.content.decode()) == (400, TOO_MANY_ATTEMPTS)
        assert not WebSocketSession.objects.exists()
        # The refused attempt's row is gone again: only the concurrent one remains.
        assert list(ConnectionRateLimit.objects.values_list("successful", flat=True)) == [False]

    def test_save_signals_are_sent(self, callbacks) -> None:
        seen: list[tuple[str, bool]] = []

        def receiver(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
            seen.append((instance.connection_id, created))

        post_save.connect(receiver, sender=WebSocketSession)
        try:
            connected(callbacks, "c1=")
        finally:
            post_save.disconnect(receiver, sender=WebSocketSession)
        assert seen == [("c1=", True)]


@pytest.mark.django_db(transaction=True)
class TestAutocommit:
    """As a production site runs: the gateway cache is used on ``$connect`` too."""

    @pytest.fixture
    def callbacks(self) -> GatewayCallbacks:
        gateway = ApiGateway.objects.create(
            api_name="Auto",
            api_id="auto123456",
            target_base_endpoint="https://www.example.com/ws/",
            default_channel_name="lobby",
            secret="auto-secret",
        )
        client = Client()
        client.force_login(get_user_model().objects.create_user("bob"))
        return GatewayCallbacks(client, gateway)

    def test_budgets(self, callbacks, returning) -> None:
        connected(callbacks, "warm=")  # caches the gateway
        counts = {}
        token = callbacks.token()
        with CaptureQueriesContext(connection) as context:
            assert callbacks.connect("c1=", token=token).status_code == 200
        # The IP's attempts, the token, the attempt, the session.
        counts["connect"] = len(statements(context))
        with CaptureQueriesContext(connection) as context:
            assert callbacks.message("c1=", {"handler": "default"}).status_code == 200
        counts["message"] = len(statements(context))
        with CaptureQueriesContext(connection) as context:
            assert callbacks.disconnect("c1=").status_code == 200
        counts["disconnect"] = len(statements(context))
        extra = 0 if returning else 1
        assert counts == {"connect": 4 + extra, "message": 1 + extra, "disconnect": 1 + extra}
        row = WebSocketSession.objects.get(connection_id="c1=")
        assert (row.connected, row.request_count, row.user.get_username()) == (False, 3, "bob")
