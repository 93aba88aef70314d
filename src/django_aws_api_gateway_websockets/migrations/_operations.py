"""Migration operations that adapt to the schema actually found in the database.

Databases created by the existing package differ by release: its 3.0.x releases created the
token and rate-limit tables as ``websocket_tokens`` / ``connection_rate_limits`` (3.0.3 only the
latter), with index names that later releases renamed, and later releases do not always
repair that. These operations inspect the database and only do what is missing, so every
history ends with the same schema. They change no migration state except ``AddIndexIfMissing``
(which has ``AddIndex``'s state effect).

The module name starts with ``_`` so Django's loader does not take it for a migration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState

#: Index names (-> fields) that the existing package's 0007 created (``websocket_t_*`` only in
#: 3.0.0-3.0.2) and that its 0008 replaced by ``idx_websocket_tokens_used``,
#: ``idx_ip_attempt_time`` and ``idx_user_attempt_time`` (3.0.3's 0008 only the first).
TOKEN_LEGACY_INDEXES: dict[str, list[str]] = {
    "websocket_t_token_b1045e_idx": ["token", "used"],
    "websocket_t_created_c55db3_idx": ["created_at"],
}
RATE_LIMIT_LEGACY_INDEXES: dict[str, list[str]] = {
    "connection__ip_addr_636400_idx": ["ip_address", "attempt_time"],
    "connection__user_id_fa2960_idx": ["user", "attempt_time"],
}


def _table_names(schema_editor: BaseDatabaseSchemaEditor) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _constraint_names(schema_editor: BaseDatabaseSchemaEditor, table: str) -> set[str]:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, table))


class AdoptLegacySchema(migrations.operations.base.Operation):
    """Bring a model's table to its default name and index names, whatever release made it.

    - When the default-named table is absent and ``legacy_table`` exists, rename the latter
      (rows, columns and foreign keys are kept). When both exist nothing is touched: merging is
      the owner's decision (system check ``aws_websockets.E007`` reports it).
    - Drop the ``legacy_indexes`` (name -> fields) present on the table.
    - Create the indexes the migration state declares for the model that are missing.

    Database-only and idempotent; reversing it is a no-op (the legacy layout is not restored).
    """

    reduces_to_sql = False
    reversible = True

    def __init__(
        self,
        model_name: str,
        legacy_table: str,
        legacy_indexes: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.model_name = model_name
        self.legacy_table = legacy_table
        self.legacy_indexes = dict(legacy_indexes or {})

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"model_name": self.model_name, "legacy_table": self.legacy_table}
        if self.legacy_indexes:
            kwargs["legacy_indexes"] = self.legacy_indexes
        return self.__class__.__qualname__, [], kwargs

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        """No state change: the state always names the default table."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        table = model._meta.db_table
        tables = _table_names(schema_editor)
        if table not in tables:
            if self.legacy_table not in tables:
                return
            schema_editor.alter_db_table(model, self.legacy_table, table)
        present = _constraint_names(schema_editor, table)
        for name, fields in self.legacy_indexes.items():
            if name in present:
                schema_editor.remove_index(model, models.Index(fields=list(fields), name=name))
        for index in model._meta.indexes:
            if index.name not in present:
                schema_editor.add_index(model, index)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        """Nothing to undo that anyone needs back."""

    def describe(self) -> str:
        return f"Adopt legacy table {self.legacy_table} and indexes for {self.model_name}"

    @property
    def migration_name_fragment(self) -> str:
        return f"adopt_{self.legacy_table}"


class AddIndexIfMissing(migrations.AddIndex):
    """``AddIndex`` that skips creating an index the database already has (same name)."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if self.index.name not in _constraint_names(schema_editor, model._meta.db_table):
            schema_editor.add_index(model, self.index)

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        model = from_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if self.index.name in _constraint_names(schema_editor, model._meta.db_table):
            schema_editor.remove_index(model, self.index)
