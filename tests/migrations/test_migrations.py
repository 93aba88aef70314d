"""Existing databases migrate onto ours: built for real with the old package's own migrations.

Each case runs the existing package (an unpacked wheel from .cache/legacy-wheels, first on
PYTHONPATH) in a subprocess to migrate a new database to some point of its history and insert
rows, then runs ``migrate`` with our package in another subprocess and checks that nothing was
lost and that the schema is exactly the one a fresh database gets. Uses PostgreSQL or MariaDB
when ``DATABASE_URL`` points at such a server (a database is created per case), else SQLite
files; ``scripts/test.sh`` runs it on all three.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import legacy_db
from tests.support.legacy_db import (
    ALLOW_MISSING_ENV,
    APP,
    FETCH_SCRIPT,
    LEGACY_INDEXES,
    LEGACY_TABLES,
    LEGACY_VERSIONS,
)

OUR_MIGRATIONS = {
    "0001_initial",
    "0002_rename_author_websocketsession_user",
    "0003_auto_20220706_1018",
    "0004_auto_20221208_1227",
    "0005_apigatewayadditionalroute_deployed",
    "0006_auto_20221215_0847",
    "0007_connectionratelimit_websockettoken",
    "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more",
    "0009_alter_connectionratelimit_table_and_more",
    "0001_squashed_0009_v4_schema",
    "0010_adopt_legacy_token_tables",
    "0011_apigateway_secret",
    "0012_apigateway_secret_rotation",
    "0013_case_sensitive_connection_ids",
    "0014_apigateway_provisioning_token",
}
NAMED_INDEXES = {
    f"{APP}_apigateway": {
        "django_aws__api_id_0da7ec_idx",
        "django_aws__domain__3b4423_idx",
        "django_aws__custom__5e8390_idx",
        "django_aws__api_cre_376add_idx",
        "django_aws__created_32cf2a_idx",
    },
    f"{APP}_websocketsession": {
        "django_aws__connect_fee1eb_idx",
        "django_aws__channel_dd10fa_idx",
        "django_aws__channel_1de026_idx",
    },
    f"{APP}_websockettoken": {"idx_websocket_tokens_used"},
    f"{APP}_connectionratelimit": {"idx_ip_attempt_time", "idx_user_attempt_time"},
}
E007 = "aws_websockets.E007"


@dataclass(frozen=True)
class Step:
    """Migrate with the old package ``version`` to ``target`` (and seed rows there)."""

    version: str
    target: str
    seed: bool = False
    fake: bool = False


def require_legacy_wheels(wheel_dir: Path) -> None:
    """Fail, telling what to run, when the wheels are missing (skip if the env var allows)."""
    message = legacy_db.missing_wheels_message(LEGACY_VERSIONS, wheel_dir)
    if message is None:
        return
    if os.environ.get(ALLOW_MISSING_ENV) == "1":
        pytest.skip(message)
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def legacy_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The old releases, unpacked; fails (or skips, when allowed) without the wheels."""
    require_legacy_wheels(legacy_db.WHEEL_DIR)
    dest = tmp_path_factory.mktemp("legacy-packages")
    return {version: legacy_db.unpack_wheel(version, dest) for version in LEGACY_VERSIONS}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with legacy_db.temporary_database(tmp_path) as url:
        yield url


def run_ours(database: str, actions: Sequence[dict[str, Any]], work_dir: Path) -> list[Any]:
    out = legacy_db.run_driver(database, actions, None, work_dir)
    assert Path(out["package"]).is_relative_to(legacy_db.ROOT / "src"), out["package"]
    results: list[Any] = out["results"]
    return results


def run_old(
    database: str,
    version: str,
    actions: Sequence[dict[str, Any]],
    packages: dict[str, Path],
    work_dir: Path,
) -> list[Any]:
    out = legacy_db.run_driver(database, actions, packages[version], work_dir)
    assert Path(out["package"]).is_relative_to(packages[version]), out["package"]
    results: list[Any] = out["results"]
    return results


UPGRADE = [
    {"do": "migrate"},
    {"do": "report"},
    {"do": "dump"},
    {"do": "migrate"},
    {"do": "report"},
    {"do": "insert"},
]


@dataclass
class Upgrade:
    """What our ``migrate`` did to a database (see ``UPGRADE``)."""

    first_output: str
    report: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    second_output: str
    second_report: dict[str, Any]
    inserted: dict[str, int]

    @classmethod
    def run(cls, database: str, work_dir: Path) -> Upgrade:
        return cls(*run_ours(database, UPGRADE, work_dir))


def build_legacy(
    database: str, steps: Sequence[Step], packages: dict[str, Path], work_dir: Path
) -> dict[str, list[dict[str, Any]]]:
    """Run the old package's migrations; the rows seeded on the way."""
    seeded: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        actions: list[dict[str, Any]] = [
            {"do": "migrate", "target": step.target, "fake": step.fake}
        ]
        if step.seed:
            actions.append({"do": "seed"})
        results = run_old(database, step.version, actions, packages, work_dir)
        if step.seed:
            seeded = results[-1]
    return seeded


def _mysql_fk_index(constraint: dict[str, Any], foreign_keys: set[tuple[str, ...]]) -> bool:
    """A plain one-column index on a foreign key column, on MySQL/MariaDB.

    InnoDB needs an index for every foreign key. When a migration removes a composite index
    that a foreign key was using (the existing package's 0008 drops ``(user, attempt_time)``
    indexes), Django's MySQL schema editor first adds a plain index on the key's column, which
    stays; a fresh database lets the key use the composite index instead. Same constraints,
    one redundant index: not a difference that matters, so it is left out of the comparison.
    """
    return (
        bool(constraint.get("index"))
        and not constraint.get("unique")
        and not constraint.get("primary_key")
        and not constraint.get("foreign_key")
        and tuple(constraint.get("columns") or ()) in foreign_keys
    )


def signature(report: dict[str, Any]) -> dict[str, Any]:
    """The schema of our tables, without the names of unnamed indexes and constraints.

    Names Django derives from the table name differ after a table was renamed; the names we
    declare are checked separately.
    """
    mysql = legacy_db.backend_name() == "mysql"
    out: dict[str, Any] = {}
    for table, info in report["schema"].items():
        found = list(info["constraints"].values())
        if mysql:
            keys = {tuple(c["columns"]) for c in found if c.get("foreign_key")}
            found = [c for c in found if not _mysql_fk_index(c, keys)]
        constraints = sorted(json.dumps(c, sort_keys=True) for c in found)
        out[table] = {"columns": info["columns"], "constraints": constraints}
    return out


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Upgrade:
    """Our migrations on an empty database: the reference schema."""
    work_dir = tmp_path_factory.mktemp("fresh")
    with legacy_db.temporary_database(work_dir) as url:
        return Upgrade.run(url, work_dir)


def assert_complete(upgrade: Upgrade, fresh: Upgrade) -> None:
    """Ours fully applied, the schema a fresh database gets, and a second migrate does nothing."""
    report = upgrade.report
    assert report["plan"] == []
    assert set(report["applied"]) >= OUR_MIGRATIONS
    shown = [line for line in report["showmigrations"].splitlines()[1:] if line.strip()]
    assert shown and all(line.startswith(" [X] ") for line in shown), report["showmigrations"]
    assert report["makemigrations_exit"] == 0, report["makemigrations"]
    assert signature(report) == signature(fresh.report)
    for table, names in NAMED_INDEXES.items():
        assert names <= set(report["schema"][table]["constraints"]), table
    every_name = {name for info in report["schema"].values() for name in info["constraints"]}
    assert every_name.isdisjoint(LEGACY_INDEXES)
    assert "No migrations to apply." in upgrade.second_output
    assert upgrade.second_report["schema"] == report["schema"]
    assert upgrade.second_report["applied"] == report["applied"]
    assert E007 not in {check["id"] for check in report["checks"]}
    for model, pk in upgrade.inserted.items():  # new rows get new ids, also in renamed tables
        assert pk not in {row["id"] for row in upgrade.rows[f"{APP}.{model}"]}, model


def assert_rows_kept(
    before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]
) -> None:
    """Every row seeded by the old package is still there with the same values."""
    assert before, "nothing was seeded"
    for label, rows in before.items():
        kept = {row["id"]: row for row in after[label]}
        assert len(kept) == len(rows), label
        for row in rows:
            assert kept[row["id"]] | row == kept[row["id"]], (label, row, kept[row["id"]])


# -- cases ----------------------------------------------------------------------------------------


def test_missing_wheels_fail_with_instructions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ALLOW_MISSING_ENV, raising=False)
    with pytest.raises(pytest.fail.Exception, match=FETCH_SCRIPT):
        require_legacy_wheels(tmp_path)


def test_missing_wheels_skip_when_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_MISSING_ENV, "1")
    with pytest.raises(pytest.skip.Exception, match=FETCH_SCRIPT):
        require_legacy_wheels(tmp_path)


def test_fetch_script_fetches_every_version_the_tests_use() -> None:
    # CI runs the script with no arguments on a fresh clone: its default list must be ours.
    script = (legacy_db.ROOT / FETCH_SCRIPT).read_text()
    defaults = re.search(r"^\s+versions=\(([\d. ]*)\)$", script, re.MULTILINE)
    assert defaults is not None, FETCH_SCRIPT
    assert sorted(defaults.group(1).split()) == sorted(LEGACY_VERSIONS)


def test_fresh_database(fresh: Upgrade) -> None:
    assert_complete(fresh, fresh)
    assert "0001_squashed_0009_v4_schema" in fresh.first_output
    assert f"{APP}.0001_initial" not in fresh.first_output  # the squash, not the nine steps
    assert set(fresh.report["tables"]) >= set(NAMED_INDEXES)
    assert fresh.report["tables"] == fresh.second_report["tables"]
    assert not {check["id"] for check in fresh.report["checks"]} & {E007}


def test_fresh_database_migrates_back_to_zero(database: str, tmp_path: Path) -> None:
    """Every migration of ours can be reversed (0010 as a no-op)."""
    results = run_ours(
        database,
        [
            {"do": "migrate"},
            {"do": "migrate", "target": "zero"},
            {"do": "report"},
            {"do": "migrate"},
            {"do": "report"},
        ],
        tmp_path,
    )
    assert not any(table.startswith(APP) for table in results[2]["tables"])
    assert results[2]["applied"] == []
    assert results[4]["plan"] == []


UPGRADE_CASES = {
    # The latest release of the old package, complete.
    "4.0.0-complete": [Step("4.0.0", "0009_alter_connectionratelimit_table_and_more", seed=True)],
    # Older releases part way through the same history.
    "4.0.0-at-0004": [Step("4.0.0", "0004_auto_20221208_1227", seed=True)],
    "4.0.0-at-0006": [Step("4.0.0", "0006_auto_20221215_0847", seed=True)],
    "4.0.0-at-0007": [Step("4.0.0", "0007_connectionratelimit_websockettoken", seed=True)],
    # 3.0.0's 0007: both tables under old names, with the early index names.
    "3.0.0-at-0007": [Step("3.0.0", "0007_connectionratelimit_websockettoken", seed=True)],
    # 3.0.3's 0007/0008: tokens under the default name, rate limits under the old one.
    "3.0.3-at-0007": [Step("3.0.3", "0007_connectionratelimit_websockettoken", seed=True)],
    "3.0.3-at-0008": [
        Step(
            "3.0.3", "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more", seed=True
        )
    ],
    # 3.0.0 then 4.0.0: default names, but 3.0.0's token indexes survive 4.0.0's 0008.
    "3.0.0-then-4.0.0": [
        Step("3.0.0", "0007_connectionratelimit_websockettoken", seed=True),
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more"),
    ],
}

LEFTOVER_CASES = {
    # 3.0.3's 0008, then 4.0.0's 0009 (a no-op there): complete, yet `connection_rate_limits`.
    "3.0.3-then-4.0.0": [
        Step(
            "3.0.3", "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more", seed=True
        ),
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more"),
    ],
    # 3.0.0's 0007, 3.0.3's 0008 faked (it fails on that schema), then 4.0.0: both old names.
    "3.0.0-faked-3.0.3-then-4.0.0": [
        Step("3.0.0", "0007_connectionratelimit_websockettoken", seed=True),
        Step(
            "3.0.3",
            "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more",
            fake=True,
        ),
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more"),
    ],
}


@pytest.mark.parametrize("steps", UPGRADE_CASES.values(), ids=UPGRADE_CASES.keys())
def test_upgrade_keeps_everything(
    steps: list[Step],
    legacy_packages: dict[str, Path],
    database: str,
    tmp_path: Path,
    fresh: Upgrade,
) -> None:
    before = build_legacy(database, steps, legacy_packages, tmp_path)
    upgrade = Upgrade.run(database, tmp_path)
    assert_complete(upgrade, fresh)
    assert_rows_kept(before, upgrade.rows)
    assert not set(upgrade.report["tables"]) & set(LEGACY_TABLES)
    gateways = upgrade.rows[f"{APP}.apigateway"]
    assert gateways and all(gateway["secret"] == "" for gateway in gateways)


@pytest.mark.parametrize("steps", LEFTOVER_CASES.values(), ids=LEFTOVER_CASES.keys())
def test_leftover_tables_at_0009_are_renamed_by_0010(
    steps: list[Step],
    legacy_packages: dict[str, Path],
    database: str,
    tmp_path: Path,
    fresh: Upgrade,
) -> None:
    before = build_legacy(database, steps, legacy_packages, tmp_path)
    [legacy] = run_old(database, "4.0.0", [{"do": "report"}], legacy_packages, tmp_path)
    # The old package considers this database complete...
    assert not [name for name in legacy["plan"] if name.startswith(f"{APP}.")]
    assert "connection_rate_limits" in legacy["tables"]  # ...with a table it never renamed
    upgrade = Upgrade.run(database, tmp_path)
    assert "0010_adopt_legacy_token_tables... OK" in upgrade.first_output
    assert_complete(upgrade, fresh)
    assert_rows_kept(before, upgrade.rows)
    assert not set(upgrade.report["tables"]) & set(LEGACY_TABLES)


def test_old_and_default_tables_both_present_are_kept_and_reported(
    legacy_packages: dict[str, Path], database: str, tmp_path: Path
) -> None:
    """Nothing is dropped or merged; system check E007 tells the owner what to do."""
    before = build_legacy(
        database,
        [Step("4.0.0", "0009_alter_connectionratelimit_table_and_more", seed=True)],
        legacy_packages,
        tmp_path,
    )
    ddl = [
        "CREATE TABLE connection_rate_limits (id integer PRIMARY KEY, ip_address varchar(39))",
        "INSERT INTO connection_rate_limits (id, ip_address) VALUES (1, '192.0.2.1')",
        "INSERT INTO connection_rate_limits (id, ip_address) VALUES (2, '192.0.2.2')",
    ]
    run_old(database, "4.0.0", [{"do": "sql", "statements": ddl}], legacy_packages, tmp_path)
    _, report, rows, legacy_count = run_ours(
        database,
        [
            {"do": "migrate"},
            {"do": "report"},
            {"do": "dump"},
            {"do": "count", "table": "connection_rate_limits"},
        ],
        tmp_path,
    )
    assert report["plan"] == []
    assert legacy_count == 2
    assert_rows_kept(before, rows)
    assert {"connection_rate_limits", f"{APP}_connectionratelimit"} <= set(report["tables"])
    assert E007 in {check["id"] for check in report["checks"]}


def test_migration_state_matches_the_existing_package(
    legacy_packages: dict[str, Path], tmp_path: Path
) -> None:
    """Our 0009 (the nine files, and the squash) leave exactly the old package's 0009 state."""
    unused = f"sqlite://{tmp_path / 'unused.sqlite3'}"
    node = "0009_alter_connectionratelimit_table_and_more"
    [theirs] = run_old(
        unused,
        "4.0.0",
        [{"do": "state", "node": node, "replace": False}],
        legacy_packages,
        tmp_path,
    )
    ours_steps, ours_squash = run_ours(
        unused,
        [
            {"do": "state", "node": node, "replace": False},
            {"do": "state", "node": "0001_squashed_0009_v4_schema"},
        ],
        tmp_path,
    )
    assert set(theirs) == {
        "apigateway",
        "apigatewayadditionalroute",
        "websocketsession",
        "websockettoken",
        "connectionratelimit",
    }
    assert ours_steps == theirs
    assert ours_squash == theirs
