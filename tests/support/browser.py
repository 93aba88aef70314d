"""A real browser for the tests: Debian's Chromium (``/usr/bin/chromium``) driven by Playwright.

``scripts/chromium.sh`` installs Chromium (``scripts/test.sh`` runs it first); Playwright for
Python comes with the ``test`` extra and never downloads a browser of its own here. Without
Chromium the browser tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.paths import ROOT

PACKAGE = ROOT / "src" / "django_aws_api_gateway_websockets"
CLIENT_JS = PACKAGE / "static" / "django_aws_api_gateway_websockets" / "client.js"

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: As this machine needs them: no sandbox as root, no network of its own (none is reachable).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Where the demo's screenshots go: ``SCREENSHOT_DIR`` (``scripts/screenshots.sh`` sets it to
#: ``docs/images``), else a temporary directory of the test run.
SCREENSHOT_ENV = "SCREENSHOT_DIR"


#: The browser tests use no test database of their own (the demo runs on its own SQLite), so
#: they run once: in the SQLite run of scripts/test.sh, not again with DATABASE_URL set.
ONCE_PER_SUITE = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")),
    reason="browser tests use no test database: they run in the SQLite run",
)


def require_chromium() -> None:
    """Skip (fail under CI) when Chromium or Playwright is missing."""
    problems = []
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"no Chromium at {CHROMIUM} (scripts/chromium.sh installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("Playwright for Python is not installed (the test extra)")
    if problems:
        message = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium with a fresh profile (Playwright's ``launch`` makes a new one)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    downloads = tempfile.mkdtemp(prefix="chromium-downloads-")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_ARGS,
                downloads_path=downloads,
                env={**os.environ, "HOME": downloads},
            )
            try:
                yield browser
            finally:
                browser.close()
    finally:
        shutil.rmtree(downloads, ignore_errors=True)


def watch_page_errors(page: Any) -> list[str]:
    """Collect uncaught exceptions and dialogs (``alert`` of an injected script) of ``page``."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))

    def on_dialog(dialog: Any) -> None:
        errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return errors
