"""The "done when" of release 4.1 parity: a project written for 4.1.0 (tests/project41: its
settings, views with 4.1's attributes and hooks, admin customisations, a template using the
mixin, commands and its own test suite mocking boto3 the 4.1 way) runs on ours unchanged, on a
fresh database and on one the real 4.1.0 wheel built (then migrated by ours). On SQLite, and on
PostgreSQL (or MariaDB) when ``DATABASE_URL`` names a server; each case in throwaway databases.

The project's suite runs in its own pytest process (its own settings and pytest.ini), with this
checkout's ``src`` first on ``PYTHONPATH``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.migrations.test_migrations import require_legacy_wheels
from tests.support import legacy_db
from tests.support.paths import ROOT

PROJECT = ROOT / "tests" / "project41"


def run(args: list[str], database: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "tests.project41.settings",
        "WS_MIGRATION_DB": database,
        **env,
    }
    environment.pop("DATABASE_URL", None)  # the project's settings read WS_MIGRATION_DB only
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def project_suite(database: str, **env: str) -> str:
    done = run(
        [
            "-m",
            "pytest",
            "-c",
            str(PROJECT / "pytest.ini"),
            "--rootdir",
            str(PROJECT),
            "-q",
            str(PROJECT / "project_tests.py"),
        ],
        database,
        **env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and "failed" not in done.stdout, done.stdout
    return done.stdout


def test_the_project_suite_on_a_fresh_database(tmp_path: Path) -> None:
    with legacy_db.temporary_database(tmp_path) as url:
        out = project_suite(url)
    assert "13 passed, 1 skipped" in out


def test_the_project_on_a_database_built_by_4_1_0(tmp_path: Path) -> None:
    require_legacy_wheels(legacy_db.WHEEL_DIR)
    package = legacy_db.unpack_wheel("4.1.0", tmp_path / "wheels")
    with legacy_db.temporary_database(tmp_path) as url:
        built = legacy_db.run_driver(
            url, [{"do": "migrate"}, {"do": "seed"}], package, tmp_path / "driver"
        )
        assert Path(built["package"]).is_relative_to(package)
        seeded = built["results"][1]
        migrated = run(["-m", "django", "migrate", "--no-input"], url)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        checked = run(["-m", "django", "check", "--fail-level", "WARNING"], url)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        out = project_suite(url, PROJECT41_EXISTING_DB="1")
        after = legacy_db.run_driver(url, [{"do": "dump"}], None, tmp_path / "driver")
    assert "14 passed" in out  # with the test of the rows 4.1.0 wrote
    # the 4.1 rows are all still there (the project's tests ran in rolled-back transactions)
    for label, rows in seeded.items():
        assert len(after["results"][0][label]) == len(rows), label
