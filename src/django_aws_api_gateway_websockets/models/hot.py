"""Prebuilt statements for the callback hot paths: one SQL statement where the database allows.

Building a statement with the ORM costs more Python than the round trip to a local PostgreSQL
(≈ 0.3 to 1 ms against ≈ 0.1 ms, bench/README.md "Event handling"), so the statements every
callback runs are written here once per database alias, from the models' own metadata (tables,
columns, each field's conversion to and from the database), and run through Django's cursor:
they are logged and counted like any query (the query-budget tests count them).

- :func:`touch_session`: a message (``request_count + 1``, on a connected row only) or a
  ``$disconnect`` (``connected = false`` too) on the row of a connection *of the calling
  gateway*, read back in the same statement: ``UPDATE … RETURNING`` on PostgreSQL and SQLite
  ≥ 3.35. MariaDB and MySQL have no ``UPDATE … RETURNING`` (MariaDB's ``RETURNING`` is for
  ``INSERT`` and ``DELETE``), nor has older SQLite: there the ``UPDATE`` is followed by a
  ``SELECT`` (two statements).
- :func:`claim_token`: use a one-time token once, returning its user's id (``UPDATE …
  RETURNING``, or ``UPDATE`` + ``SELECT``). One conditional ``UPDATE`` claims it, so concurrent
  claims cannot both win.

``$connect``'s rows (the attempt, the session) are inserted by :mod:`.admission`.

Increments are done by the database (``request_count = request_count + 1``), so concurrent
callbacks lose none. :func:`update_returning` says which form runs; tests switch it off to run
the fallback on every database.
"""

# ruff: noqa: S608 - identifiers come from the models' metadata, quoted by the backend; every
# value is a parameter.
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .gateways import ApiGateway
from .hashes import hash_session_key
from .sessions import WebSocketSession
from .statements import RowReader, built_once, column_name, prep, quoted
from .tokens import WebSocketToken


def update_returning(connection: BaseDatabaseWrapper) -> bool:
    """``UPDATE … RETURNING`` is available: PostgreSQL, and SQLite from 3.35 (the version Django
    checks for ``INSERT … RETURNING``, which came in the same release)."""
    return connection.vendor in ("postgresql", "sqlite") and bool(
        connection.features.can_return_columns_from_insert
    )


def _user_model() -> type[Model]:
    model = WebSocketSession._meta.get_field("user").related_model
    assert isinstance(model, type)
    return model


def _user_columns(
    connection: BaseDatabaseWrapper, model: type[Model], fk_name: str
) -> tuple[str, RowReader]:
    """The user of ``model``'s foreign key ``fk_name``, as one scalar subquery per column of
    the user's table (NULLs when there is no user), to read in the statement that reads the
    row: ``UPDATE … RETURNING`` cannot join, a subquery it can run."""
    users = _user_model()
    reader = RowReader(users, connection)
    table = connection.ops.quote_name(users._meta.db_table)
    pk = quoted(users._meta.pk, connection)
    table_of_model = connection.ops.quote_name(model._meta.db_table)
    outer = f"{table_of_model}.{column_name(model, fk_name, connection)}"
    parts = [
        f"(SELECT {quoted(f, connection)} FROM {table} WHERE {pk} = {outer})"
        for f in users._meta.concrete_fields
    ]
    return ", ".join(parts), reader


def _returning_with_user(
    connection: BaseDatabaseWrapper, update: str, columns: str, model: type[Model], fk_name: str
) -> tuple[str, RowReader]:
    """``update … RETURNING columns``, followed by the columns of the user ``model``'s
    foreign key ``fk_name`` names (NULLs when none), in one statement. On PostgreSQL the
    ``UPDATE`` is a common table expression joined to the user's table: one join to plan,
    where a scalar subquery per user column cost PostgreSQL 50 to 70 µs more CPU per message
    (bench/README.md section 7). SQLite runs no ``UPDATE`` in a ``WITH``: subqueries."""
    if connection.vendor != "postgresql":
        user_columns, reader = _user_columns(connection, model, fk_name)
        return f"{update} RETURNING {columns}, {user_columns}", reader
    users = _user_model()
    reader = RowReader(users, connection)
    table = connection.ops.quote_name(users._meta.db_table)
    pk = quoted(users._meta.pk, connection)
    fk = column_name(model, fk_name, connection)
    user_columns = ", ".join(f"u.{quoted(f, connection)}" for f in users._meta.concrete_fields)
    return (
        f"WITH touched AS ({update} RETURNING {columns}) SELECT touched.*, {user_columns} "
        f"FROM touched LEFT JOIN {table} u ON u.{pk} = touched.{fk}"
    ), reader


def _load_user(reader: RowReader, values: Sequence[Any], connection: BaseDatabaseWrapper) -> Any:
    return None if values[0] is None else reader.load(values, connection)


# -- sessions -------------------------------------------------------------------------------------


def _touch_sql(connection: BaseDatabaseWrapper, disconnect: bool, any_gateway: bool) -> str:
    def col(name: str) -> str:
        return column_name(WebSocketSession, name, connection)

    sets = [f"{col('request_count')} = {col('request_count')} + 1", f"{col('updated_on')} = %s"]
    if disconnect:
        sets.append(f"{col('connected')} = %s")
    where = f"{col('connection_id')} = %s"
    if not disconnect:
        where += f" AND {col('connected')} = %s"  # a message needs an open connection (4.1)
    if not any_gateway:
        # A message needs its connection to be the caller's; a $disconnect also closes a row
        # no gateway owns (its gateway was deleted: the foreign key is SET_NULL). "+ 0" keeps
        # the gateway's index out of the plan: the row is found by its unique connection id.
        # Without it PostgreSQL, its statistics not yet counting a new gateway's rows, chose
        # the gateway's index and read every connection of the gateway on each callback
        # (bench/README.md section 7, "A plan that read the whole gateway").
        unowned = f" OR {col('api_gateway')} IS NULL" if disconnect else ""
        where += f" AND ({col('api_gateway')} + 0 = %s{unowned})"
    table = connection.ops.quote_name(WebSocketSession._meta.db_table)
    return f"UPDATE {table} SET {', '.join(sets)} WHERE {where}"


def touch_session(
    connection_id: str,
    gateway: ApiGateway | None,
    *,
    disconnect: bool = False,
    with_user: bool = False,
) -> WebSocketSession | None:
    """Count a message (or, with ``disconnect``, mark the connection disconnected and count
    that) on the row of ``connection_id`` opened through ``gateway``, and return the row as it
    is now, its ``api_gateway`` set to ``gateway``; ``None`` when there is no such row.
    ``gateway=None`` (a view built without one, as users' tests do) matches any gateway.
    ``with_user``: the row's user is read in the same statement (``session.user`` then needs
    no query)."""
    alias = router.db_for_write(WebSocketSession)
    connection = connections[alias]
    returning = update_returning(connection)
    any_gateway = gateway is None
    key = f"touch:{disconnect}:{any_gateway}:{returning}:{with_user}"

    def build() -> tuple[str, RowReader, RowReader | None]:
        row = RowReader(WebSocketSession, connection)
        sql = _touch_sql(connection, disconnect, any_gateway)
        if not returning:
            return sql, row, (RowReader(_user_model(), connection) if with_user else None)
        if with_user:
            sql, users = _returning_with_user(
                connection, sql, row.columns, WebSocketSession, "user"
            )
            return sql, row, users
        return f"{sql} RETURNING {row.columns}", row, None

    sql, reader, user_reader = built_once(connection, key, build)
    params: list[Any] = [prep(WebSocketSession, "updated_on", timezone.now(), connection)]
    if disconnect:
        params.append(prep(WebSocketSession, "connected", False, connection))
    params.append(connection_id)
    if not disconnect:
        params.append(prep(WebSocketSession, "connected", True, connection))
    if gateway is not None:
        params.append(gateway.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            found = cursor.fetchone()
        elif cursor.rowcount:
            table = connection.ops.quote_name(WebSocketSession._meta.db_table)
            column = column_name(WebSocketSession, "connection_id", connection)
            columns = reader.columns
            if user_reader is not None:
                columns += ", " + _user_columns(connection, WebSocketSession, "user")[0]
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {column} = %s", [connection_id])
            found = cursor.fetchone()
        else:
            found = None
    if found is None:
        return None
    width = len(reader.attnames)
    session: WebSocketSession = reader.load(found[:width], connection)
    if user_reader is not None and session.user_id is not None:
        user = _load_user(user_reader, found[width:], connection)
        if user is not None:
            WebSocketSession.user.field.set_cached_value(session, user)
    if gateway is not None and session.api_gateway_id == gateway.pk:
        session.api_gateway = gateway
    return session


# -- tokens ----------------------------------------------------------------------------------------


@sensitive_variables("token", "session_key")
def claim_token(token: str, session_key: str, max_age_seconds: int) -> Any:
    """Mark the unused token ``token`` of the browser session ``session_key``, issued within
    ``max_age_seconds``, used; the id of its user, or ``None`` when there is no such token."""
    found = _claim(token, session_key, max_age_seconds, with_user=False)
    return None if found is None else found[0]


@sensitive_variables("token", "session_key")
def claim_token_user(token: str, session_key: str, max_age_seconds: int) -> Any:
    """As :func:`claim_token`, returning the token's user itself, read in the same statement;
    ``None`` when there is no such token (or it has no user)."""
    found = _claim(token, session_key, max_age_seconds, with_user=True)
    if found is None or found[0] is None:
        return None
    connection = connections[router.db_for_write(WebSocketToken)]
    _sql, reader = _claim_sql(connection, with_user=True)
    assert reader is not None
    return _load_user(reader, found[1:], connection)


def _claim_sql(connection: BaseDatabaseWrapper, *, with_user: bool) -> tuple[str, RowReader | None]:
    returning = update_returning(connection)

    def build() -> tuple[str, RowReader | None]:
        def col(name: str) -> str:
            return column_name(WebSocketToken, name, connection)

        table = connection.ops.quote_name(WebSocketToken._meta.db_table)
        sql = (
            f"UPDATE {table} SET {col('used')} = %s WHERE {col('token')} = %s "
            f"AND {col('session_key')} = %s AND {col('used')} = %s AND {col('created_at')} >= %s"
        )
        users = RowReader(_user_model(), connection) if with_user else None
        if not returning:
            return sql, users
        columns = f"{table}.{col('user')}"
        if with_user:
            return _returning_with_user(connection, sql, columns, WebSocketToken, "user")
        return f"{sql} RETURNING {columns}", users

    return cast(
        "tuple[str, RowReader | None]",
        built_once(connection, f"claim:{returning}:{with_user}", build),
    )


@sensitive_variables("token", "session_key")
def _claim(
    token: str, session_key: str, max_age_seconds: int, *, with_user: bool
) -> Sequence[Any] | None:
    alias = router.db_for_write(WebSocketToken)
    connection = connections[alias]
    returning = update_returning(connection)
    sql, _reader = _claim_sql(connection, with_user=with_user)
    cutoff = timezone.now() - timedelta(seconds=max_age_seconds)
    params = [
        prep(WebSocketToken, "used", True, connection),
        token,
        hash_session_key(session_key),  # tokens hold the key's keyed hash (release 4.1's)
        prep(WebSocketToken, "used", False, connection),
        prep(WebSocketToken, "created_at", cutoff, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if returning:
            found = cursor.fetchone()
        elif cursor.rowcount:
            table = connection.ops.quote_name(WebSocketToken._meta.db_table)
            columns = f"{table}.{column_name(WebSocketToken, 'user', connection)}"
            if with_user:
                columns += ", " + _user_columns(connection, WebSocketToken, "user")[0]
            token_column = column_name(WebSocketToken, "token", connection)
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {token_column} = %s", [token])
            found = cursor.fetchone()
        else:
            found = None
    return cast("Sequence[Any] | None", found)
