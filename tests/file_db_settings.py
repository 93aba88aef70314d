"""The test settings with a SQLite database in a file (``WEBSOCKETS_TEST_SQLITE``), for commands
run in a subprocess that a test kills (the in-memory test database cannot be shared)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["WEBSOCKETS_TEST_SQLITE"],
    }
}

if os.environ.get("WEBSOCKETS_TEST_LOG_STDERR"):
    # Every record, of every logger, on stderr: what a developer running the command sees.
    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"stderr": {"class": "logging.StreamHandler", "level": "DEBUG"}},
        "root": {"handlers": ["stderr"], "level": "DEBUG"},
    }
