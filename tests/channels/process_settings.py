"""Settings of the Django server process of tests/channels/test_e2e_django_restart.py: the load
tests' (no per-IP ``$connect`` limit), with the publishing view and the channels namespaces."""

from __future__ import annotations

from tests.channels.namespaces import NAMESPACES
from tests.load_settings import *  # noqa: F403

ROOT_URLCONF = "tests.channels.e2e_urls"
WEBSOCKETS = {**WEBSOCKETS, "channel_namespaces": NAMESPACES}  # noqa: F405
