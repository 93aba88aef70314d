"""``$connect``'s admission, in prebuilt statements (see :mod:`.hot` for why prebuilt): the
attempt's and the session's rows, each inserted only while a condition holds.

- :func:`recent_attempts`, :func:`attempts_guard`: an IP's (and a user's) ``$connect`` attempts
  in a window: a count, or a condition for :func:`insert`;
- :func:`channel_guard`: the channel is open to everyone without asking who joins;
- :func:`all_of`: conditions joined;
- :func:`insert`: a row (pre_save/post_save sent as ``Model.save()`` does), optionally only when
  a condition holds (``INSERT … SELECT … WHERE``), returning whether it was inserted.
"""

# ruff: noqa: S608 - identifiers come from the models' metadata, quoted by the backend; every
# value is a parameter.
from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model, signals
from django.db.models.expressions import DatabaseDefault
from django.utils import timezone

from .channels import ChannelAccess, ChannelPermission
from .sessions import WebSocketSession
from .statements import built_once, column_name, prep, quoted
from .tokens import ConnectionRateLimit

M = TypeVar("M", bound=Model)


def _insert_returning(connection: BaseDatabaseWrapper) -> bool:
    # MariaDB >= 10.5 could too; its cursor's lastrowid is as good and one form fewer.
    return connection.vendor in ("postgresql", "sqlite") and bool(
        connection.features.can_return_columns_from_insert
    )


def _count_sql(connection: BaseDatabaseWrapper, by: str) -> str:
    def col(name: str) -> str:
        return column_name(ConnectionRateLimit, name, connection)

    table = connection.ops.quote_name(ConnectionRateLimit._meta.db_table)
    return f"SELECT COUNT(*) FROM {table} WHERE {col(by)} = %s AND {col('attempt_time')} >= %s"


def _since(window_minutes: int, connection: BaseDatabaseWrapper) -> Any:
    since: datetime = timezone.now() - timedelta(minutes=window_minutes)
    return prep(ConnectionRateLimit, "attempt_time", since, connection)


def recent_attempts(ip_address: str, window_minutes: int) -> int:
    """The ``$connect`` attempts from ``ip_address`` in the last ``window_minutes``."""
    connection = connections[router.db_for_read(ConnectionRateLimit)]
    sql = built_once(connection, "count:ip", lambda: _count_sql(connection, "ip_address"))
    params = [
        prep(ConnectionRateLimit, "ip_address", ip_address, connection),
        _since(window_minutes, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def attempts_guard(
    ip_address: str, user_id: Any, *, max_attempts: int, window_minutes: int
) -> tuple[str, list[Any]]:
    """A condition for :func:`insert`: at most ``max_attempts`` attempts from ``ip_address``
    (and, when ``user_id`` is given, by that user) in the last ``window_minutes``."""
    connection = connections[router.db_for_write(WebSocketSession)]
    by_ip = built_once(connection, "count:ip", lambda: _count_sql(connection, "ip_address"))
    since = _since(window_minutes, connection)
    ip = prep(ConnectionRateLimit, "ip_address", ip_address, connection)
    sql, params = f"({by_ip}) <= %s", [ip, since, max_attempts]
    if user_id is not None:
        by_user = built_once(connection, "count:user", lambda: _count_sql(connection, "user"))
        sql += f" AND ({by_user}) <= %s"
        params += [user_id, since, max_attempts]
    return sql, params


def channel_guard(channel_name: str, *, allow_unlisted: bool) -> tuple[str, list[Any]]:
    """A condition for :func:`insert`: ``channel_name`` is open to everyone without asking who
    is joining: it has no ``ChannelPermission`` row other than ``allow_all`` (and, unless
    ``allow_unlisted``, it has one). When it fails, the caller asks ``allows(user)``."""
    connection = connections[router.db_for_write(WebSocketSession)]

    def build() -> str:
        table = connection.ops.quote_name(ChannelPermission._meta.db_table)
        name = column_name(ChannelPermission, "channel_name", connection)
        access = column_name(ChannelPermission, "access", connection)
        return f"SELECT 1 FROM {table} WHERE {name} = %s AND {access} {{}} %s"

    sql = built_once(connection, "channel", build)
    if allow_unlisted:
        return f"NOT EXISTS ({sql.format('<>')})", [channel_name, ChannelAccess.ALLOW_ALL.value]
    return f"EXISTS ({sql.format('=')})", [channel_name, ChannelAccess.ALLOW_ALL.value]


def all_of(*conditions: tuple[str, list[Any]] | None) -> tuple[str, list[Any]] | None:
    """The conditions given (``None`` ones left out) joined by ``AND``; ``None`` for none."""
    given = [c for c in conditions if c is not None]
    if not given:
        return None
    return " AND ".join(f"({sql})" for sql, _ in given), [p for _, ps in given for p in ps]


@functools.cache
def _insert_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    """The fields an ``INSERT`` of ``model`` writes: its local concrete fields but the
    auto-incremented key and generated columns (worked out once per model)."""
    meta = model._meta
    return tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )


def insert(instance: M, condition: tuple[str, list[Any]] | None = None) -> bool:
    """Insert ``instance`` (``Model.save()``'s signals and field defaults, without building a
    query), only when ``condition`` (SQL, params) holds if one is given. ``True`` when the row
    was inserted; ``instance.pk`` is then set. Raises ``IntegrityError`` as ``save()`` does."""
    model = type(instance)
    alias = router.db_for_write(model, instance=instance)
    connection = connections[alias]
    signals.pre_save.send(
        sender=model, instance=instance, raw=False, using=alias, update_fields=None
    )
    meta = model._meta
    fields, values = [], []
    for field in _insert_fields(model):
        value = field.pre_save(instance, True)
        if isinstance(value, DatabaseDefault):
            continue  # the database fills it in
        fields.append(field)
        values.append(field.get_db_prep_save(value, connection))
    returning = _insert_returning(connection)
    where = None if condition is None else condition[0]

    def build() -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(quoted(f, connection) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) "
        if where is None:
            sql += f"VALUES ({marks})"
        else:
            dual = " FROM DUAL" if connection.vendor == "mysql" else ""
            sql += f"SELECT {marks}{dual} WHERE {where}"
        if returning and meta.pk is not None:
            sql += f" RETURNING {quoted(meta.pk, connection)}"
        return sql

    sql = built_once(connection, ("insert", model, *fields, where), build)
    if condition is not None:
        values += condition[1]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        if returning:
            found = cursor.fetchone()
            pk = None if found is None else found[0]
        else:
            pk = cursor.lastrowid if cursor.rowcount else None
    if pk is None:
        return False
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = alias
    signals.post_save.send(
        sender=model, instance=instance, created=True, update_fields=None, raw=False, using=alias
    )
    return True
