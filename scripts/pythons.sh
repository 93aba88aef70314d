#!/usr/bin/env bash
# Print the path of a CPython interpreter of the version given (3.12, 3.13, ...), or fail with
# what to do. Looks at $PYTHON<major><minor> (e.g. PYTHON313=/path/to/python3.13), then
# python3.X on PATH, then pyenv's versions.
#   scripts/pythons.sh 3.13
set -euo pipefail
want="${1:?usage: scripts/pythons.sh 3.X}"
var="PYTHON${want//./}"
candidates=()
if [ -n "${!var:-}" ]; then candidates+=("${!var}"); fi
if command -v "python$want" >/dev/null 2>&1; then candidates+=("$(command -v "python$want")"); fi
root="${PYENV_ROOT:-$HOME/.pyenv}"
if command -v pyenv >/dev/null 2>&1; then root="$(pyenv root)"; fi
for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
  candidates+=("$dir/bin/python$want")
done
for python in "${candidates[@]}"; do
  if [ -x "$python" ] && "$python" -c "import sys, venv; assert sys.version.startswith('$want')" 2>/dev/null; then
    echo "$python"
    exit 0
  fi
done
cat >&2 <<MSG
Python $want was not found (looked at \$$var, python$want on PATH, and $root/versions/$want.*).
The suite runs on Django 6.x with Python $want. Install it, for example with
  pyenv install $want
or point \$$var at an interpreter: $var=/path/to/python$want make test
MSG
exit 1
