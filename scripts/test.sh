#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, types, then pytest on SQLite and on PostgreSQL.
# Sets up everything it needs on a fresh machine (virtualenv, packages, PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev]"

if [ -x scripts/fetch-legacy-wheels.sh ]; then
  scripts/fetch-legacy-wheels.sh
fi

echo "== ruff"
.venv/bin/ruff check src tests
echo "== mypy"
.venv/bin/mypy

echo "== pytest on SQLite"
.venv/bin/pytest -p no:cacheprovider --cov --cov-report=term "$@"

echo "== pytest on PostgreSQL"
DATABASE_URL="$(scripts/postgres.sh start)"
export DATABASE_URL
.venv/bin/pytest -p no:cacheprovider "$@"
