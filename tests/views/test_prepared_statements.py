"""The callbacks' statements with Django's server-side binding and psycopg's prepared
statements (``OPTIONS = {"server_side_binding": True, "prepare_threshold": 5}``, which
docs/scaling.md suggests): they run, and PostgreSQL really prepares them.

Only in a PostgreSQL run with ``DATABASE_SERVER_SIDE_BINDING=1`` (tests/settings.py; the
Django 6.1 PostgreSQL pass of scripts/test.sh). psycopg prepares a statement once a
connection has run it ``prepare_threshold`` times; the statement then appears in
``pg_prepared_statements`` and runs without PostgreSQL parsing or planning it again.
"""

from __future__ import annotations

import os

import pytest
from django.db import connection

from django_aws_api_gateway_websockets.models import ConnectionRateLimit, WebSocketSession
from django_aws_api_gateway_websockets.testing import GatewayCallbacks

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE_SERVER_SIDE_BINDING") != "1"
    or not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="needs PostgreSQL with DATABASE_SERVER_SIDE_BINDING=1 (scripts/test.sh's 6.1 pass)",
)

ROUNDS = 8  # over psycopg's prepare_threshold (5)


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_site_runs_with_prepared_statements() -> None:
    options = connection.settings_dict["OPTIONS"]
    assert options == {"server_side_binding": True, "prepare_threshold": 5}
    with connection.cursor() as cursor:
        assert type(cursor.cursor).__name__ == "ServerBindingCursor"


@pytest.mark.django_db
def test_callbacks_are_prepared_and_stay_correct(callbacks: GatewayCallbacks) -> None:
    session_table = WebSocketSession._meta.db_table
    attempt_table = ConnectionRateLimit._meta.db_table
    for n in range(ROUNDS):
        connection_id = f"conn-{n}="
        assert callbacks.connect(connection_id, token=callbacks.token()).status_code == 200
        for _ in range(ROUNDS):
            response = callbacks.message(connection_id, {"handler": "echo", "text": str(n)})
            assert response.status_code == 200
            assert response.json()["echo"] == str(n)
        assert callbacks.disconnect(connection_id).status_code == 200
    statements = prepared()
    inserts = [s for s in statements if s.startswith("INSERT")]
    touches = [s for s in statements if s.startswith(("UPDATE", "WITH")) and session_table in s]
    assert any(session_table in s for s in inserts), statements
    assert any(attempt_table in s for s in inserts), statements
    assert touches, statements  # a message's and a $disconnect's UPDATE
    sessions = WebSocketSession.objects.order_by("connection_id")
    # each callback counted once: $connect, the messages, $disconnect
    assert [(s.connected, s.request_count) for s in sessions] == [(False, ROUNDS + 2)] * ROUNDS
    assert ConnectionRateLimit.objects.count() == ROUNDS
