#!/usr/bin/env bash
# Refresh the demo's screenshots in docs/images from a run of its browser tests (the demo
# through runserver and runwsgateway, in Chromium): the chat, rooms with their members, a
# recovery after a gateway restart, the page at phone width. Look at them before committing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/chromium.sh
SCREENSHOT_DIR="$PWD/docs/images" .venv/bin/pytest -q -p no:cacheprovider \
  tests/client/test_browser_demo.py tests/client/test_browser_channels.py \
  -k "chat or injected or member or disconnected or phone" "$@"
ls -l docs/images
