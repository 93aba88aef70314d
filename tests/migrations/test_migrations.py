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
from django.utils.crypto import salted_hmac

from django_aws_api_gateway_websockets.models.hashes import SESSION_KEY_SALT
from tests.support import legacy_db
from tests.support.legacy_db import (
    ALLOW_MISSING_ENV,
    APP,
    FETCH_SCRIPT,
    LEGACY_INDEXES,
    LEGACY_TABLES,
    LEGACY_VERSIONS,
    OURS_BEFORE_4_1,
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
    # Release 4.1's, on the trunk.
    "0010_hash_websockettoken_session_key",
    "0011_channelpermission_channelpermissionrule",
    "0012_apigateway_provisioning_status",
    "0013_apigatewayadditionalroute_aws_ids",
    "0014_websocketsession_auth_hash_and_more",
    "0015_alter_apigateway_provisioning_status",
    # Ours, on a branch from 0009 (each replacing the name it was released under), and the merge.
    "0100_adopt_legacy_token_tables",
    "0101_apigateway_secret",
    "0102_apigateway_secret_rotation",
    "0103_case_sensitive_connection_ids",
    "0104_apigateway_provisioning_token",
    "0105_merge_release_4_1",
    # After the merge: ours again.
    "0106_channels_subscriptions_history_presence",
}
RELEASE_4_1_LEAF = "0015_alter_apigateway_provisioning_status"
#: The rollback target for going back to release 4.1 (see docs/upgrading.md).
ROLLBACK_TO_4_1 = "0100_adopt_legacy_token_tables"
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
E008 = "aws_websockets.E008"


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
    packages = {version: legacy_db.unpack_wheel(version, dest) for version in LEGACY_VERSIONS}
    packages[OURS_BEFORE_4_1] = legacy_db.unpack_ours_before_4_1(dest)
    return packages


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
    """Run the old packages' migrations, seeding where a step says so; every row of the database
    as the last package sees it (an old migration may change rows: 4.1's 0010 deletes tokens)."""
    assert any(step.seed for step in steps), "nothing would be seeded"
    results: list[Any] = []
    for number, step in enumerate(steps, 1):
        actions: list[dict[str, Any]] = [
            {"do": "migrate", "target": step.target, "fake": step.fake}
        ]
        if step.seed:
            actions.append({"do": "seed"})
        if number == len(steps):
            actions.append({"do": "dump"})
        results = run_old(database, step.version, actions, packages, work_dir)
    rows: dict[str, list[dict[str, Any]]] = results[-1]
    return rows


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
    assert not {E007, E008} & {check["id"] for check in report["checks"]}
    for model, pk in upgrade.inserted.items():  # new rows get new ids, also in renamed tables
        assert pk not in {row["id"] for row in upgrade.rows[f"{APP}.{model}"]}, model


def legacy_hash(session_key: str) -> str:
    """The keyed hash the driver's settings give a session key (release 4.1's salt)."""
    return salted_hmac(
        SESSION_KEY_SALT, session_key, secret=legacy_db.SECRET_KEY, algorithm="sha256"
    ).hexdigest()


def hashes_tokens(steps: Sequence[Step]) -> bool:
    """Whether our migrate runs release 4.1's 0010 (which hashes the tokens' session keys)."""
    return not any(step.version == "4.1.0" and step.target[:4] >= "0010" for step in steps)


def assert_rows_kept(
    before: dict[str, list[dict[str, Any]]],
    after: dict[str, list[dict[str, Any]]],
    hashed_tokens: bool = False,
) -> None:
    """Every row seeded by the old package is still there with the same values (a token's
    session key as its keyed hash when ``hashed_tokens``)."""
    assert before, "nothing was seeded"
    for label, rows in before.items():
        kept = {row["id"]: row for row in after[label]}
        assert {row["id"] for row in rows} <= set(kept), label
        for row in rows:
            if hashed_tokens and label == f"{APP}.websockettoken":
                row = row | {"session_key": legacy_hash(row["session_key"])}
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
    after_0009 = {name for name in OUR_MIGRATIONS if name[:4] >= "0010"}
    assert set(fresh.report["graph"]) == after_0009 | {"0001_squashed_0009_v4_schema"}
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
    # Release 4.1, complete and part way (its trunk only).
    "4.1.0-complete": [Step("4.1.0", RELEASE_4_1_LEAF, seed=True)],
    "4.1.0-at-0012": [Step("4.1.0", "0012_apigateway_provisioning_status", seed=True)],
    # 4.0.0 then 4.1.0, rows seeded before 4.1's token hashing (which deletes them).
    "4.0.0-then-4.1.0": [
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more"),
        Step("4.1.0", RELEASE_4_1_LEAF, seed=True),
    ],
    # Ours before the rename (0010-0014 under their old names): at 0013 and 0014, over 4.0.0.
    "ours-at-0013": [Step(OURS_BEFORE_4_1, "0013_case_sensitive_connection_ids", seed=True)],
    "ours-at-0014": [Step(OURS_BEFORE_4_1, "0014_apigateway_provisioning_token", seed=True)],
    "4.0.0-then-ours-at-0013": [
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more", seed=True),
        Step(OURS_BEFORE_4_1, "0013_case_sensitive_connection_ids"),
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
    # The same, then release 4.1 on top (which renames nothing either).
    "3.0.3-then-4.0.0-then-4.1.0": [
        Step(
            "3.0.3", "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more", seed=True
        ),
        Step("4.0.0", "0009_alter_connectionratelimit_table_and_more"),
        Step("4.1.0", RELEASE_4_1_LEAF),
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
    assert_rows_kept(before, upgrade.rows, hashed_tokens=hashes_tokens(steps))
    assert not set(upgrade.report["tables"]) & set(LEGACY_TABLES)
    gateways = upgrade.rows[f"{APP}.apigateway"]
    assert gateways and all(gateway["secret"] == "" for gateway in gateways)
    if steps[-1].version == OURS_BEFORE_4_1:  # ours under the old names: counted as applied
        assert "0100_adopt_legacy_token_tables..." not in upgrade.first_output
        assert "0010_hash_websockettoken_session_key... OK" in upgrade.first_output


@pytest.mark.parametrize("steps", LEFTOVER_CASES.values(), ids=LEFTOVER_CASES.keys())
def test_leftover_tables_at_0009_are_renamed_by_0010(
    steps: list[Step],
    legacy_packages: dict[str, Path],
    database: str,
    tmp_path: Path,
    fresh: Upgrade,
) -> None:
    before = build_legacy(database, steps, legacy_packages, tmp_path)
    last = steps[-1].version
    [legacy] = run_old(database, last, [{"do": "report"}], legacy_packages, tmp_path)
    # The old package considers this database complete...
    assert not [name for name in legacy["plan"] if name.startswith(f"{APP}.")]
    assert "connection_rate_limits" in legacy["tables"]  # ...with a table it never renamed
    upgrade = Upgrade.run(database, tmp_path)
    assert "0100_adopt_legacy_token_tables... OK" in upgrade.first_output
    assert_complete(upgrade, fresh)
    assert_rows_kept(before, upgrade.rows, hashed_tokens=hashes_tokens(steps))
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
    assert_rows_kept(before, rows, hashed_tokens=True)
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


def test_release_4_1_migrations_match_its_database_shape(
    legacy_packages: dict[str, Path], tmp_path: Path
) -> None:
    """Our trunk 0010-0015 leaves the state 4.1.0's own files leave, attribute for attribute as
    far as the database sees them (help texts and labels are ours), step by step and through the
    squash."""
    unused = f"sqlite://{tmp_path / 'unused.sqlite3'}"
    nodes = ["0010_hash_websockettoken_session_key", "0012_apigateway_provisioning_status"]
    nodes.append(RELEASE_4_1_LEAF)
    actions = [{"do": "state", "node": node, "replace": False, "db_only": True} for node in nodes]
    theirs = run_old(unused, "4.1.0", actions, legacy_packages, tmp_path)
    ours = run_ours(unused, actions, tmp_path)
    squashed = run_ours(unused, [{**actions[-1], "replace": True}], tmp_path)
    assert ours == theirs
    assert squashed == [theirs[-1]]
    assert {"channelpermission", "channelpermissionrule"} <= set(theirs[-1])


def test_our_renamed_migrations_are_the_released_ones(
    legacy_packages: dict[str, Path], tmp_path: Path
) -> None:
    """0100-0104 leave the state our old 0010-0014 left (one-to-one ``replaces``)."""
    unused = f"sqlite://{tmp_path / 'unused.sqlite3'}"
    [old] = run_old(
        unused,
        OURS_BEFORE_4_1,
        [{"do": "state", "node": "0014_apigateway_provisioning_token"}],
        legacy_packages,
        tmp_path,
    )
    [new] = run_ours(
        unused, [{"do": "state", "node": "0104_apigateway_provisioning_token"}], tmp_path
    )
    assert new == old
    assert {"secret", "provisioning_token"} <= set(new["apigateway"]["fields"])


ROLLBACK = [
    {"do": "migrate"},
    {"do": "insert", "name": "erin"},
    {"do": "migrate", "target": ROLLBACK_TO_4_1},
    {"do": "report"},
]


def test_rolling_back_to_release_4_1(
    legacy_packages: dict[str, Path], database: str, tmp_path: Path
) -> None:
    """A 4.1.0 database upgraded to ours goes back with ``migrate <app> 0100_…``: our columns
    go, 4.1.0 reinstalled finds its history complete, its own schema, every row, and can write;
    upgrading again works."""
    seeded = build_legacy(
        database, [Step("4.1.0", RELEASE_4_1_LEAF, seed=True)], legacy_packages, tmp_path
    )
    (tmp_path / "reference").mkdir()
    with legacy_db.temporary_database(tmp_path / "reference") as reference_url:
        [reference] = run_old(
            reference_url, "4.1.0", [{"do": "migrate"}, {"do": "report"}], legacy_packages, tmp_path
        )[1:]
    _, inserted, rollback_output, ours_after = run_ours(database, ROLLBACK, tmp_path)
    assert "Unapplying django_aws_api_gateway_websockets.0105_merge_release_4_1... OK" in (
        rollback_output
    )
    assert "0101_apigateway_secret... OK" in rollback_output
    assert RELEASE_4_1_LEAF in ours_after["applied"]
    assert not {"0101_apigateway_secret", "0011_apigateway_secret"} & set(ours_after["applied"])

    report, rows, new_rows = run_old(
        database,
        "4.1.0",
        [{"do": "report"}, {"do": "dump"}, {"do": "insert", "name": "dave"}],
        legacy_packages,
        tmp_path,
    )
    assert [name for name in report["plan"] if name.startswith(f"{APP}.")] == []
    assert report["makemigrations_exit"] == 0, report["makemigrations"]
    assert signature(report) == signature(reference)
    assert "secret" not in report["schema"][f"{APP}_apigateway"]["columns"]
    assert_rows_kept(seeded, rows)
    assert {row["id"] for row in rows[f"{APP}.apigateway"]} >= {inserted["apigateway"]}
    assert new_rows["apigateway"] not in {row["id"] for row in rows[f"{APP}.apigateway"]}

    again = Upgrade.run(database, tmp_path)
    assert again.report["plan"] == []
    assert "0101_apigateway_secret... OK" in again.first_output
    assert not {E007, E008} & {check["id"] for check in again.report["checks"]}
