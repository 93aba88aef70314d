"""The measured pass of ``scripts/test.sh`` starts coverage before pytest imports the package
(its pytest plugin is an entry point, imported before pytest-cov's ``--cov`` starts): no
``CoverageWarning: Module ... was previously imported, but not measured``, and the package's
``__init__`` counts as run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def coverage_command() -> list[str]:
    script = (ROOT / "scripts" / "test.sh").read_text()
    match = re.search(r"^coverage_pytest=\((.*)\)$", script, re.M)
    assert match, "scripts/test.sh defines no coverage_pytest=(...) runner"
    assert 'runner=("${coverage_pytest[@]}")' in script and "MEASURE=1 run_pass" in script
    return shlex.split(match.group(1))


def python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_measured_pass_measures_the_package_from_its_first_import(tmp_path: Path) -> None:
    data = tmp_path / "coverage-data"
    env = {**os.environ, "COVERAGE_FILE": str(data), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}"}
    test = "tests/commands/test_runwsgateway_help.py::test_help_shows_the_defaults"
    run = python(*coverage_command(), "-p", "no:cacheprovider", "-q", test, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "CoverageWarning" not in output and "previously imported" not in output, output
    report = python(
        "-m", "coverage", "report", "--include=*/__init__.py", "--skip-covered", env=env
    ).stdout
    # The package's __init__ ran under measurement: fully covered, so skipped by the report.
    assert "django_aws_api_gateway_websockets/__init__.py" not in report, report
