"""Building blocks of prebuilt SQL statements (:mod:`.hot`): each statement built once per
database alias, identifiers quoted by the backend, values converted by the fields themselves, and
rows read back into model instances with the fields' own converters."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, cast

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

_built: dict[tuple[str, Hashable], Any] = {}


def built_once(connection: BaseDatabaseWrapper, key: Hashable, build: Callable[[], Any]) -> Any:
    entry = _built.get((connection.alias, key))
    if entry is None:
        entry = _built[connection.alias, key] = build()
    return entry


def quoted(field: Any, connection: BaseDatabaseWrapper) -> str:
    return str(connection.ops.quote_name(cast(str, field.column)))


def column_name(model: type[Model], name: str, connection: BaseDatabaseWrapper) -> str:
    return quoted(model._meta.get_field(name), connection)


def prep(model: type[Model], name: str, value: Any, connection: BaseDatabaseWrapper) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field.get_db_prep_save(value, connection)


class RowReader:
    """Reads a model's concrete columns (in a prebuilt statement's order) into an instance."""

    def __init__(self, model: type[Model], connection: BaseDatabaseWrapper) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self.columns = ", ".join(quoted(f, connection) for f in fields)
        self.attnames = [f.attname for f in fields]
        self.converters = []
        for field in fields:
            col = field.get_col(model._meta.db_table)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            self.converters.append((col, found))

    def load(self, row: Sequence[Any], connection: BaseDatabaseWrapper) -> Any:
        values = []
        for value, (col, converters) in zip(row, self.converters, strict=True):
            for convert in converters:
                value = convert(value, col, connection)
            values.append(value)
        return self.model.from_db(connection.alias, self.attnames, values)
