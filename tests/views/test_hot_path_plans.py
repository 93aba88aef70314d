"""The plan PostgreSQL chooses for a message's statement (``hot.touch_session``): the row is
found through its unique connection id, never by reading the calling gateway's connections.

The case that went wrong: the table's statistics were gathered before a gateway existed, so the
planner estimated one row for that gateway and chose the gateway's index (smaller than the
connection id's); each message then read every connection of the gateway (bench/README.md
section 7). Reproduced here: statistics taken with one gateway's rows, then a new gateway with
many connections, not yet analysed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_aws_api_gateway_websockets.models import ApiGateway, WebSocketSession, hot

pytestmark = pytest.mark.django_db

SESSIONS = 2000


def _sessions(gateway: ApiGateway, prefix: str) -> None:
    WebSocketSession.objects.bulk_create(
        WebSocketSession(connection_id=f"{prefix}{n:06d}=", channel_name="c", api_gateway=gateway)
        for n in range(SESSIONS)
    )


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.parametrize("disconnect", [False, True], ids=["message", "disconnect"])
def test_a_new_gateways_message_is_found_by_its_connection_id(disconnect: bool) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner; SQLite and MariaDB look unique keys up first")
    old = ApiGateway.objects.create(api_name="old", api_id="oldapi0001")
    _sessions(old, "old")
    table = WebSocketSession._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{table}"')
    new = ApiGateway.objects.create(api_name="new", api_id="newapi0001")
    _sessions(new, "new")  # the statistics know nothing of these

    with CaptureQueriesContext(connection) as queries:
        session = hot.touch_session("new000042=", new, disconnect=disconnect)
    assert session is not None and session.request_count == 2

    plan = _plan(queries.captured_queries[-1]["sql"])
    gateway_column = WebSocketSession._meta.get_field("api_gateway").column
    assert "Index Cond: ((connection_id)" in plan, plan
    assert f"Index Cond: ({gateway_column}" not in plan, plan
