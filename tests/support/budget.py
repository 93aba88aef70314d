"""Query budgets: count data statements only (not BEGIN/COMMIT/SAVEPOINT bookkeeping)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import CaptureQueriesContext

_BOOKKEEPING = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def data_statements(context: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in context.captured_queries
        if not q["sql"].lstrip().upper().startswith(_BOOKKEEPING)
    ]


@contextmanager
def query_budget(limit: int) -> Iterator[CaptureQueriesContext]:
    """Fail when the block runs more than ``limit`` data statements."""
    with CaptureQueriesContext(connection) as context:
        yield context
    statements = data_statements(context)
    assert len(statements) <= limit, (
        f"{len(statements)} data statements, budget {limit}:\n" + "\n".join(statements)
    )


def without_returning() -> int:
    """The statements a hot path adds where the database has no ``UPDATE … RETURNING``
    (MariaDB, MySQL: the row is read back by a ``SELECT``)."""
    from django_aws_api_gateway_websockets.models import hot

    return 0 if hot.update_returning(connection) else 1
