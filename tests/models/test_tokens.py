"""WebSocketToken and ConnectionRateLimit class methods, including single use under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import connection, connections
from django.utils import timezone

from django_aws_api_gateway_websockets.models import (
    ConnectionRateLimit,
    WebSocketToken,
    hash_session_key,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(db: None):
    return get_user_model().objects.create_user("bob")


class TestWebSocketToken:
    def test_generate(self, bob) -> None:
        token = WebSocketToken.generate_token(bob, "session-key-1")
        assert len(token.token) == 64 and set(token.token) <= set("0123456789abcdef")
        assert (token.user, token.used) == (bob, False)
        assert token.session_key == hash_session_key("session-key-1")  # never the key itself
        assert str(token) == f"{token.token[:8]}…"

    def test_consumed_once(self, bob) -> None:
        token = WebSocketToken.generate_token(bob, "k1")
        assert WebSocketToken.validate_and_consume(token.token, "k1") == bob
        assert WebSocketToken.validate_and_consume(token.token, "k1") is None
        token.refresh_from_db()
        assert token.used

    def test_bound_to_the_session(self, bob) -> None:
        token = WebSocketToken.generate_token(bob, "k1")
        assert WebSocketToken.validate_and_consume(token.token, "k2") is None
        assert WebSocketToken.validate_and_consume(token.token, "") is None
        assert WebSocketToken.validate_and_consume(token.token, "k1") == bob

    def test_max_age(self, bob) -> None:
        token = WebSocketToken.generate_token(bob, "k1")
        WebSocketToken.objects.update(created_at=timezone.now() - timedelta(seconds=61))
        assert WebSocketToken.validate_and_consume(token.token, "k1") is None
        assert WebSocketToken.validate_and_consume(token.token, "k1", max_age_seconds=120) == bob

    @pytest.mark.parametrize("value", ["", "abc", "G" * 64, None, 123, "a" * 65])
    def test_malformed_values_cost_no_query(self, value, django_assert_num_queries) -> None:
        with django_assert_num_queries(0):
            assert WebSocketToken.validate_and_consume(value, "k1") is None  # type: ignore[arg-type]

    def test_cleanup_expired(self, bob) -> None:
        old = WebSocketToken.generate_token(bob, "k")
        fresh = WebSocketToken.generate_token(bob, "k")
        WebSocketToken.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(seconds=301)
        )
        deleted, _ = WebSocketToken.cleanup_expired()
        assert deleted == 1
        assert list(WebSocketToken.objects.values_list("pk", flat=True)) == [fresh.pk]
        assert WebSocketToken.cleanup_expired(max_age_seconds=0)[0] == 1

    def test_rate_limit(self, bob) -> None:
        for _ in range(3):
            WebSocketToken.generate_token(bob, "k")
        assert WebSocketToken.check_rate_limit(bob, max_tokens_per_minute=4)
        assert not WebSocketToken.check_rate_limit(bob, max_tokens_per_minute=3)
        WebSocketToken.objects.update(created_at=timezone.now() - timedelta(minutes=2))
        assert WebSocketToken.check_rate_limit(bob, max_tokens_per_minute=1)


class TestConnectionRateLimit:
    def test_ip_first_then_user(self, bob) -> None:
        for _ in range(2):
            ConnectionRateLimit.record_attempt("10.0.0.1", bob)
        assert ConnectionRateLimit.check_rate_limit("10.0.0.1", bob, max_attempts=2) == (False, 2)
        # Another IP, same user: the user's count applies.
        assert ConnectionRateLimit.check_rate_limit("10.0.0.2", bob, max_attempts=2) == (False, 2)
        assert ConnectionRateLimit.check_rate_limit("10.0.0.2", None, max_attempts=2) == (True, 0)
        assert ConnectionRateLimit.check_rate_limit("10.0.0.2", bob, max_attempts=3) == (True, 0)

    def test_window(self, bob) -> None:
        ConnectionRateLimit.record_attempt("10.0.0.1")
        ConnectionRateLimit.objects.update(attempt_time=timezone.now() - timedelta(minutes=6))
        assert ConnectionRateLimit.check_rate_limit("10.0.0.1", max_attempts=1) == (True, 0)
        assert (
            ConnectionRateLimit.check_rate_limit("10.0.0.1", max_attempts=1, window_minutes=10)[0]
            is False
        )

    def test_anonymous_stored_as_null(self) -> None:
        ConnectionRateLimit.record_attempt("::1", AnonymousUser(), successful=True)
        row = ConnectionRateLimit.objects.get()
        assert (row.user, row.successful, row.ip_address) == (None, True, "::1")

    def test_cleanup_old_records(self) -> None:
        ConnectionRateLimit.record_attempt("10.0.0.1")
        ConnectionRateLimit.record_attempt("10.0.0.2")
        ConnectionRateLimit.objects.filter(ip_address="10.0.0.1").update(
            attempt_time=timezone.now() - timedelta(days=8)
        )
        assert ConnectionRateLimit.cleanup_old_records()[0] == 1
        assert ConnectionRateLimit.cleanup_old_records(days=0)[0] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_consumption_has_exactly_one_winner() -> None:
    """50 threads, each with its own database connection, race for one token."""
    if connection.vendor not in {"postgresql", "mysql"}:
        pytest.skip("needs PostgreSQL or MariaDB (set DATABASE_URL); SQLite serialises all writers")
    user = get_user_model().objects.create_user("racer")
    token = WebSocketToken.generate_token(user, "k1").token
    start = threading.Barrier(50)
    results: list[object] = []
    lock = threading.Lock()

    def consume() -> None:
        try:
            start.wait()
            result = WebSocketToken.validate_and_consume(token, "k1")
            with lock:
                results.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=consume) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 50
    assert [r for r in results if r is not None] == [user]
