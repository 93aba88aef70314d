"""Which migrations of this app a database has applied that this package does not know.

A database migrated by another release (a future upstream one, or a newer one of ours) has
columns this package's migration state does not describe; migrating on top of it would leave them
unfilled, or drop them where SQLite rebuilds a table. Names this package knows are its files'
names and the names they replace (0100-0104 replace our earlier 0010-0014, the squash replaces
0001-0009). System check E008 reports the unknown ones, and :func:`refuse_unknown_history` stops
``migrate`` on them even under ``--skip-checks``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django.db import DatabaseError, connections

APP_LABEL = "django_aws_api_gateway_websockets"
UPGRADE_NOTES = "docs/upgrading.md, 'Databases from another release'"


def unknown_applied(alias: str) -> list[str]:
    """Applied migrations of this app on database ``alias`` that this package neither has nor
    replaces (sorted); empty when the database cannot be read."""
    from django.db.migrations.loader import MigrationLoader

    try:
        loader = MigrationLoader(connections[alias], ignore_no_migrations=True)
    except DatabaseError:
        return []
    known: set[str] = set()
    for (app, name), migration in loader.disk_migrations.items():
        if app == APP_LABEL:
            known.add(name)
            known.update(n for a, n in migration.replaces if a == APP_LABEL)
    applied = {name for app, name in loader.applied_migrations if app == APP_LABEL}
    return sorted(applied - known)


def describe(alias: str, unknown: list[str]) -> str:
    return (
        f"Database {alias!r} has migrations of {APP_LABEL} applied that this package does not "
        f"have: {', '.join(unknown)}."
    )


HINT = (
    "They come from a release of the package newer than this one: install that release (or a "
    f"later one of this package) instead. See {UPGRADE_NOTES}."
)


def refuse_unknown_history(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """``pre_migrate`` receiver: no ``migrate`` (checks skipped or not) on an unknown history."""
    unknown = unknown_applied(using)
    if unknown:
        raise CommandError(f"{describe(using, unknown)} {HINT}")
