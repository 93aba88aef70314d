"""Real databases made by the existing package's own migrations, for
tests/migrations/test_migrations.py.

Two halves:

- the pytest side finds and unpacks the old wheels (fetched by scripts/fetch-legacy-wheels.sh),
  creates throwaway databases (a SQLite file, or a PostgreSQL or MariaDB database on the server
  that ``DATABASE_URL`` names) and runs the driver below in a subprocess;
- the driver (``python -m tests.support.legacy_db ACTIONS.json RESULT.json``) runs with whichever
  ``django_aws_api_gateway_websockets`` comes first on ``PYTHONPATH`` (an unpacked old wheel, or
  ours), performs a list of actions on the database named by ``WS_MIGRATION_DB`` with
  ``tests.legacy_settings`` and writes their results as JSON.

A subprocess per package is the only honest way to run the old package's migrations: both
packages have the same import name.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from tests.support.paths import ROOT

APP = "django_aws_api_gateway_websockets"
WHEEL_DIR = ROOT / ".cache" / "legacy-wheels"
FETCH_SCRIPT = "scripts/fetch-legacy-wheels.sh"
ALLOW_MISSING_ENV = "WEBSOCKETS_ALLOW_NO_LEGACY"
#: The versions tests/migrations/test_migrations.py builds databases with (the script's default
#: list).
LEGACY_VERSIONS = ("4.1.0", "4.0.0", "3.0.3", "3.0.0")
#: Our own package before 4.1's migrations joined it: today's package with its migrations as
#: they were then, 0010-0014 under their old names (the files kept, unchanged, in FROZEN_OURS).
OURS_BEFORE_4_1 = "ours-before-4.1"
FROZEN_OURS = ROOT / "tests" / "support" / "ours_before_4_1"
#: Table names the existing package's 3.0.x releases used for these two models.
LEGACY_TABLES = {
    "websocket_tokens": f"{APP}_websockettoken",
    "connection_rate_limits": f"{APP}_connectionratelimit",
}
LEGACY_INDEXES = (
    "websocket_t_token_b1045e_idx",
    "websocket_t_created_c55db3_idx",
    "connection__ip_addr_636400_idx",
    "connection__user_id_fa2960_idx",
)

#: The driver's settings' SECRET_KEY (tests/legacy_settings.py): keys the session-key hashes.
SECRET_KEY = "tests-only-not-secret"

Action = Mapping[str, Any]


# -- pytest side ----------------------------------------------------------------------------------


class DriverError(AssertionError):
    """The driver subprocess failed; the message carries its output."""


def wheel_for(version: str, wheel_dir: Path = WHEEL_DIR) -> Path | None:
    """The downloaded wheel of the existing package at ``version``, if any."""
    found = sorted(wheel_dir.glob(f"django_aws_api_gateway_websockets-{version}-*.whl"))
    return found[0] if found else None


def missing_wheels_message(
    versions: Sequence[str] = LEGACY_VERSIONS, wheel_dir: Path = WHEEL_DIR
) -> str | None:
    """Why the upgrade tests cannot run (what to do about it), or ``None`` when they can."""
    missing = [version for version in versions if wheel_for(version, wheel_dir) is None]
    if not missing:
        return None
    return (
        f"Wheels of the existing package ({', '.join(missing)}) are missing from {wheel_dir}: "
        f"run {FETCH_SCRIPT} (or set {ALLOW_MISSING_ENV}=1 to skip the tests that need them)."
    )


def unpack_wheel(version: str, dest: Path) -> Path:
    """Unpack the wheel of ``version`` under ``dest``; the directory to put on PYTHONPATH."""
    wheel = wheel_for(version)
    if wheel is None:
        raise FileNotFoundError(f"No wheel for {version} in {WHEEL_DIR}; run {FETCH_SCRIPT}")
    target = dest / version
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    return target


def unpack_ours_before_4_1(dest: Path) -> Path:
    """Our package with the migration files it had before release 4.1's joined (``0010``-``0014``
    under those names); the directory to put on PYTHONPATH.

    Its models are today's, but building a database only migrates and seeds through the
    historical models, which come from the migration files.
    """
    target = dest / OURS_BEFORE_4_1
    package = target / APP
    shutil.copytree(ROOT / "src" / APP, package, ignore=shutil.ignore_patterns("__pycache__"))
    migrations = package / "migrations"
    for path in migrations.glob("0*.py"):
        if path.name[:4] >= "0010":
            path.unlink()
    for path in FROZEN_OURS.glob("0*.py"):
        shutil.copy(path, migrations / path.name)
    return target


def _postgres_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _mysql_server() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("mysql://", "mariadb://")) else None


def backend_name() -> str:
    if _postgres_server():
        return "postgresql"
    return "mysql" if _mysql_server() else "sqlite"


@contextmanager
def _mysql_database(server: str) -> Iterator[str]:
    import MySQLdb

    parts = urlsplit(server)
    name = f"wsmig_{uuid.uuid4().hex[:12]}"

    def execute(statement: str) -> None:
        connection = MySQLdb.connect(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 3306,
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
        )
        try:
            connection.cursor().execute(statement)
        finally:
            connection.close()

    execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield urlunsplit(parts._replace(scheme="mysql", path=f"/{name}"))
    finally:
        execute(f"DROP DATABASE IF EXISTS `{name}`")


@contextmanager
def temporary_database(tmp_dir: Path) -> Iterator[str]:
    """A new empty database (``WS_MIGRATION_DB`` URL), dropped afterwards.

    PostgreSQL or MariaDB when ``DATABASE_URL`` points at such a server (a database created
    there for the test), else a SQLite file in ``tmp_dir``.
    """
    mysql = _mysql_server()
    if mysql is not None:
        with _mysql_database(mysql) as url:
            yield url
        return
    server = _postgres_server()
    if server is None:
        yield f"sqlite://{tmp_dir / 'db.sqlite3'}"
        return
    import psycopg
    from psycopg import sql

    name = f"wsmig_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def run_driver(
    database_url: str, actions: Sequence[Action], package_dir: Path | None, work_dir: Path
) -> dict[str, Any]:
    """Run ``actions`` in a subprocess; ``package_dir`` (an unpacked old wheel) shadows ours.

    Returns ``{"package": <path of the package used>, "results": [one per action]}``.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    stem = uuid.uuid4().hex[:8]
    actions_file = work_dir / f"actions-{stem}.json"
    result_file = work_dir / f"result-{stem}.json"
    actions_file.write_text(json.dumps(list(actions)))
    # Ours from this checkout's src/ (an installed copy elsewhere must not win).
    first = ROOT / "src" if package_dir is None else package_dir
    path = [str(first), str(ROOT)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(path),
        "DJANGO_SETTINGS_MODULE": "tests.legacy_settings",
        "WS_MIGRATION_DB": database_url,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.legacy_db", str(actions_file), str(result_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise DriverError(
            f"driver failed (exit {proc.returncode}) with actions {list(actions)}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    result: dict[str, Any] = json.loads(result_file.read_text())
    return result


# -- driver side (runs in the subprocess, after django.setup()) -------------------------------


def _current_apps() -> Any:
    """Historical models for the migrations applied to the database right now."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    nodes = [key for key in loader.applied_migrations if key in loader.graph.nodes]
    return loader.project_state(nodes).apps


def do_migrate(target: str | None = None, fake: bool = False) -> str:
    """``migrate`` (everything, or our app to ``target``); returns the command's output."""
    from django.core.management import call_command

    out = io.StringIO()
    args = [APP, target] if target else []
    with redirect_stderr(io.StringIO()):
        call_command("migrate", *args, fake=fake, interactive=False, stdout=out, verbosity=1)
    return out.getvalue()


def do_seed() -> dict[str, list[dict[str, Any]]]:
    """Insert users and one of everything the current schema has; returns :func:`do_dump`."""
    apps = _current_apps()
    user_model = apps.get_model("auth", "User")
    alice = user_model.objects.create(username="alice", email="alice@example.com", password="!")
    bob = user_model.objects.create(username="bob", email="bob@example.com", password="!")
    models = {model._meta.model_name: model for model in apps.get_app_config(APP).get_models()}

    def make(model_name: str, **values: Any) -> Any:
        model = models.get(model_name)
        if model is None:
            return None
        names = {field.name for field in model._meta.get_fields()}
        return model.objects.create(**{k: v for k, v in values.items() if k in names})

    gateway = make(
        "apigateway",
        api_name="Legacy Gateway",
        api_description="made by the old package",
        default_channel_name="lobby",
        domain_name="ws.example.com",
        target_base_endpoint="https://www.example.com/ws/",
        api_id="abc123defg",
        api_endpoint="wss://abc123defg.execute-api.us-east-1.amazonaws.com",
        tags={"env": "test", "team": "ws"},
        api_created=True,
        deployment_id="dep42",
        provisioning_status="mapped",
        last_error="ClientError TooManyRequestsException",
    )
    make("apigateway", api_name="Second Gateway")
    make(
        "apigatewayadditionalroute",
        api_gateway=gateway,
        name="Chat",
        route_key="chat",
        integration_url="https://www.example.com/ws/chat",
        deployed=True,
        route_id="rte1234",
        integration_id="int5678",
    )
    for number, (user, connected) in enumerate([(alice, True), (None, False), (bob, True)], 1):
        make(
            "websocketsession",
            connection_id=f"conn-{number}=",
            channel_name="lobby" if number < 3 else "other",
            user=user,
            author=user,
            connected=connected,
            api_gateway=gateway,
            request_count=number * 7,
            session_key_hash=f"{number:064x}" if user else "",
            auth_hash=f"{number * 3:064x}" if user else "",
        )
    make("websockettoken", token="a" * 64, user=alice, session_key="s" * 32, used=True)
    make("websockettoken", token="0123456789abcdef" * 4, user=bob, session_key="t" * 32)
    make("connectionratelimit", ip_address="10.0.0.1", user=alice, successful=True)
    make("connectionratelimit", ip_address="2001:db8::1", user=None)
    make("connectionratelimit", ip_address="10.0.0.1", user=None)
    make("channelpermission", channel_name="open", description="anyone")
    staff = make("channelpermission", channel_name="staff-room", access="permissions")
    rule = make("channelpermissionrule", channel_permission=staff)
    if rule is not None:
        permission = apps.get_model("auth", "Permission").objects.get(codename="change_user")
        rule.permissions.add(permission)
        make("channelpermissionrule", channel_permission=staff)  # a rule without permissions
    return do_dump()


def do_dump() -> dict[str, list[dict[str, Any]]]:
    """Every row of our app's tables (many-to-many ones too) and of ``auth_user``, by model
    label."""
    apps = _current_apps()
    app_models = apps.get_app_config(APP).get_models(include_auto_created=True)
    found = [apps.get_model("auth", "User"), *app_models]
    # A release that considers a table renamed when it is not (3.0.3 then 4.0.0): read it there.
    from django.db import connection

    tables = set(connection.introspection.table_names())
    old_name = {new: old for old, new in LEGACY_TABLES.items()}
    for model in found:
        table = model._meta.db_table
        if table not in tables and old_name.get(table) in tables:
            model._meta.db_table = old_name[table]
    return {model._meta.label_lower: list(model.objects.order_by("pk").values()) for model in found}


def do_insert(name: str = "carol") -> dict[str, int]:
    """One new row per model of ours, as an application would (checks the id sequences of
    renamed tables); returns the new primary keys. ``name`` makes the unique values unique."""
    apps = _current_apps()
    user = apps.get_model("auth", "User").objects.create(username=name, password="!")
    models = {model._meta.model_name: model for model in apps.get_app_config(APP).get_models()}
    gateway = models["apigateway"].objects.create(api_name=f"New Gateway {name}")
    rows = {
        "apigateway": gateway,
        "apigatewayadditionalroute": models["apigatewayadditionalroute"].objects.create(
            api_gateway=gateway, name="New", route_key="new", integration_url="https://e.com/n"
        ),
        "websocketsession": models["websocketsession"].objects.create(
            connection_id=f"conn-{name}=", user=user, api_gateway=gateway
        ),
        "websockettoken": models["websockettoken"].objects.create(
            token=hashlib.sha256(name.encode()).hexdigest(), user=user, session_key="u" * 32
        ),
        "connectionratelimit": models["connectionratelimit"].objects.create(
            ip_address="198.51.100.7", user=user
        ),
    }
    return {name: row.pk for name, row in rows.items()}


def do_report() -> dict[str, Any]:
    """What the tests assert on: schema, applied migrations, pending plan, checks."""
    from django.core import checks
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.migrations.recorder import MigrationRecorder

    introspection = connection.introspection
    schema: dict[str, Any] = {}
    with connection.cursor() as cursor:
        tables = sorted(introspection.table_names(cursor))
        for table in tables:
            if not (table.startswith(APP) or table in LEGACY_TABLES):
                continue
            columns = {
                info.name: {
                    "type": str(info.type_code),
                    # Not display_size: MySQLdb reports the widest value in the sample row.
                    "size": [info.internal_size, info.precision, info.scale],
                    "null": bool(info.null_ok),
                }
                for info in introspection.get_table_description(cursor, table)
            }
            constraints = {
                name: {
                    key: info.get(key)
                    for key in ("columns", "primary_key", "unique", "foreign_key", "check", "index")
                }
                for name, info in introspection.get_constraints(cursor, table).items()
            }
            schema[table] = {"columns": columns, "constraints": constraints}
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    applied = sorted(
        name for app, name in MigrationRecorder(connection).applied_migrations() if app == APP
    )
    showmigrations = io.StringIO()
    call_command("showmigrations", APP, stdout=showmigrations)
    makemigrations = io.StringIO()
    try:
        call_command(
            "makemigrations", APP, check=True, dry_run=True, stdout=makemigrations, verbosity=1
        )
        makemigrations_exit = 0
    except SystemExit as exit_:
        makemigrations_exit = int(exit_.code or 0)
    messages = [m for m in checks.run_checks(databases=["default"]) if not m.is_silenced()]
    return {
        "tables": tables,
        "schema": schema,
        "applied": applied,
        "graph": sorted(name for app, name in executor.loader.graph.nodes if app == APP),
        "plan": [f"{migration.app_label}.{migration.name}" for migration, _ in plan],
        "showmigrations": showmigrations.getvalue(),
        "makemigrations_exit": makemigrations_exit,
        "makemigrations": makemigrations.getvalue(),
        "checks": [{"id": m.id, "level": m.level, "msg": m.msg} for m in messages],
    }


def do_state(node: str, replace: bool = True, db_only: bool = False) -> dict[str, Any]:
    """Our app's migration state after ``node``, serialized as migration source text.

    ``replace=False`` ignores squashed migrations (walks the individual files). ``db_only``
    leaves out the field attributes that never reach the database (``Field.non_db_attrs``:
    help texts, choices' labels, validators...).
    """
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.writer import MigrationWriter

    loader = MigrationLoader(None, ignore_no_migrations=True, replace_migrations=replace)
    state = loader.project_state((APP, node))
    out: dict[str, Any] = {}
    for (app_label, model_name), model_state in state.models.items():
        if app_label != APP:
            continue
        out[model_name] = {
            "fields": {
                name: MigrationWriter.serialize(_db_only(field) if db_only else field)[0]
                for name, field in model_state.fields.items()
            },
            # ``db_table: None`` (left by AlterModelTable(table=None)) means the default name.
            "options": {
                key: MigrationWriter.serialize(value)[0]
                for key, value in sorted(model_state.options.items())
                if value is not None
            },
            "bases": [str(base) for base in model_state.bases],
        }
    return out


def _db_only(field: Any) -> tuple[str, dict[str, Any]]:
    """A field's import path and the keyword arguments that shape its column."""
    _, path, _, kwargs = field.deconstruct()
    return path, {k: v for k, v in sorted(kwargs.items()) if k not in field.non_db_attrs}


def do_sql(statements: Sequence[str]) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def do_count(table: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
        row = cursor.fetchone()
    return int(row[0])


ACTIONS: dict[str, Callable[..., Any]] = {
    "migrate": do_migrate,
    "seed": do_seed,
    "dump": do_dump,
    "report": do_report,
    "insert": do_insert,
    "state": do_state,
    "sql": do_sql,
    "count": do_count,
}


def main(argv: Sequence[str]) -> int:
    import django
    from django.core.serializers.json import DjangoJSONEncoder

    actions: list[dict[str, Any]] = json.loads(Path(argv[1]).read_text())
    django.setup()
    import django_aws_api_gateway_websockets as package

    results = [ACTIONS[action.pop("do")](**action) for action in actions]
    Path(argv[2]).write_text(
        json.dumps({"package": package.__file__, "results": results}, cls=DjangoJSONEncoder)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
