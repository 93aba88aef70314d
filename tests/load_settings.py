"""Settings of the Django server processes the load and fault tests start (see
tests/support/processes.py): the test settings, with the per-IP ``$connect`` limit out of
the way (every client of a load test connects from 127.0.0.1)."""

from __future__ import annotations

from tests.settings import *  # noqa: F403

WEBSOCKETS = {"rate_limit_max_attempts": 1_000_000}
