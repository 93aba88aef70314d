"""The namespaces of the real-socket tests: those of :mod:`.views`, and ``stream``, with
presence and a history long enough that no recovery of a test is ever trimmed."""

from __future__ import annotations

from typing import Any

from tests.channels.views import NAMESPACES

E2E_NAMESPACES: dict[str, dict[str, Any]] = {
    **NAMESPACES,
    "stream": {"presence": True, "history_size": 5000, "history_ttl_seconds": 3600},
}
