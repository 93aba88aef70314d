"""Fixtures of the browser tests: the fake site of the JS client's tests (``site``, one Chromium
per module: ``test_js_client.py``, ``test_js_channels.py``), and for the tests that run the
demo (``test_browser_demo.py``, ``test_browser_channels.py``) one demo (Django and the local
gateway) and one Chromium per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import SCREENSHOT_ENV, chromium
from tests.support.demo_site import PASSWORD, USERS, Demo
from tests.support.js_site import FakeSite, fake_site
from tests.support.ports import free_port


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "DEMO_DB": str(directory / "demo.sqlite3"),
        "DJANGO_SETTINGS_MODULE": "demo.settings",
        "PYTHONUNBUFFERED": "1",
    }
    running = Demo(directory, free_port(), free_port(), env)
    backend = running.base
    running.manage("migrate", "--noinput", "-v", "0")
    running.manage("setup_demo", "--backend", backend)
    users = "; ".join(f"User.objects.create_user({u!r}, password={PASSWORD!r})" for u in USERS)
    running.manage("shell", "-c", f"from django.contrib.auth.models import User; {users}")
    try:
        running.start_django()
        running.start_gateway()
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def demo_chromium(demo: Demo) -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def fresh(demo: Demo) -> Demo:
    demo.forget_rate_limits()
    return demo


@pytest.fixture
def browser(demo_chromium: Any) -> Iterator[Any]:
    """The browser, with every context a test opened closed when it ends (closing the pages'
    sockets)."""
    contexts: list[Any] = []
    original = demo_chromium.new_context

    class Tracking:
        def new_context(self, **kwargs: Any) -> Any:
            context = original(**kwargs)
            contexts.append(context)
            return context

    yield Tracking()
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    directory = Path(os.environ.get(SCREENSHOT_ENV) or tmp_path)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def site(chromium_browser: Any) -> Iterator[FakeSite]:
    with fake_site(chromium_browser) as fake:
        yield fake
