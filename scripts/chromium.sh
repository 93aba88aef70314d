#!/usr/bin/env bash
# Debian's Chromium for the browser tests (driven by Playwright for Python, from the test extra).
# Nothing to do when /usr/bin/chromium exists; otherwise installs the `chromium` package with
# apt-get (as root, or through sudo). Playwright never downloads a browser of its own here.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1; then
  sudo="sudo"
else
  echo "scripts/chromium.sh: Chromium is missing and this user cannot install it" \
    "(apt-get install chromium as root); the browser tests will be skipped." >&2
  exit 0
fi
echo "Installing Debian's chromium (for the browser tests)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version 2>/dev/null | grep -i chromium
