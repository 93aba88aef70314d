"""The benchmark site for ``bench/channels.py``: ``bench_site.settings`` with the channels view
(subscribe/unsubscribe, users from the session cookie) and two namespaces whose history holds
every publication of a run."""

from __future__ import annotations

from bench_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench_site.channels_urls"
WEBSOCKETS = {
    **WEBSOCKETS,  # noqa: F405
    "rate_limit_max_attempts": 1_000_000,
    "channel_namespaces": {
        "feed": {"history_size": 2000, "history_ttl_seconds": 3600, "recover_max": 1000},
        "room": {"presence": True, "max_members": 1000, "history_size": 100},
    },
}
