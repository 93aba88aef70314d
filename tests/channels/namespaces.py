"""The namespaces of the channels tests (``WEBSOCKETS["channel_namespaces"]``), in a module of
their own so that settings modules can import them (the views cannot be imported before Django
is set up). ``stream`` is for the real-socket tests: presence, and a history long enough that
none of their recoveries is ever trimmed."""

from __future__ import annotations

from typing import Any

NAMESPACES: dict[str, dict[str, Any]] = {
    "chat": {"presence": True, "history_size": 50, "history_ttl_seconds": 600},
    "news": {"history_size": 5, "history_ttl_seconds": 600, "recover_max": 3},
    "state": {"history_size": 1, "latest_value": True},
    "big": {"presence": True, "max_members": 2, "over_max_members": "count_only"},
    "count": {"presence": True, "count_only": True},
    "stream": {"presence": True, "history_size": 5000, "history_ttl_seconds": 3600},
}
