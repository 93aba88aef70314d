"""The table of the package's settings: each ``WEBSOCKETS`` key (and each channel namespace
option) with its default, its validator and the words a system check uses for a wrong value.

``conf.Settings`` reads values through it and ``checks.py`` validates them against it, so a
default or a rule is written once, here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _bool(value: Any) -> bool:
    return isinstance(value, bool)


def _str_list(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) and v for v in value)


#: A site-wide gateway secret (release 4.1's rule): 32 or more of these characters.
GATEWAY_SECRET_RE = re.compile(r"^[A-Za-z0-9._~+/=-]{32,}$")


def _gateway_secret(value: Any) -> bool:
    """``None``, one secret, or a non-empty list of them (the first is sent, all accepted)."""
    if value is None:
        return True
    values = [value] if isinstance(value, str) else value
    return (
        isinstance(values, list | tuple)
        and bool(values)
        # fullmatch: with match, "$" also matches before a trailing newline (a secret read
        # from a file), which would end up inside API Gateway's quoted mapping value.
        and all(isinstance(v, str) and GATEWAY_SECRET_RE.fullmatch(v) for v in values)
    )


def _hosts(value: Any) -> bool:
    """One host name, or a list of them (``*.example.com``: its sub-domains)."""
    values = [value] if isinstance(value, str) else value
    return isinstance(values, list | tuple) and all(isinstance(v, str) and v for v in values)


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _non_negative_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _one_of(*choices: str) -> Callable[[Any], bool]:
    def valid(value: Any) -> bool:
        return value in choices

    return valid


def _callable_path(value: Any) -> bool:
    """``None``, or the dotted path of a callable that imports."""
    if value is None:
        return True
    if not isinstance(value, str) or "." not in value:
        return False
    from django.utils.module_loading import import_string

    try:
        return callable(import_string(value))
    except ImportError:
        return False


#: A namespace's name: the part of ``"chat:7"`` before the colon ("" for channels without one).
NAMESPACE_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


def _namespace_name(value: Any) -> bool:
    return value == "" or (isinstance(value, str) and bool(NAMESPACE_NAME_RE.match(value)))


def _non_negative_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _namespaces(value: Any) -> bool:
    """A dict of namespace names to dicts (each key is checked against NAMESPACE_OPTIONS by
    ``checks.check_channel_namespaces``, which names the wrong key)."""
    return isinstance(value, dict) and all(
        _namespace_name(name) and isinstance(options, dict) for name, options in value.items()
    )


@dataclass(frozen=True)
class Option:
    """One key of ``settings.WEBSOCKETS``."""

    default: Any
    valid: Callable[[Any], bool]
    expected: str
    legacy: bool = False
    #: What happens while the value is invalid (the check's hint), when not "the default is used".
    on_invalid: str = ""


#: Every key ``settings.WEBSOCKETS`` may hold. The first four are the existing package's.
OPTIONS: Mapping[str, Option] = {
    "token_rate_limit_per_minute": Option(20, _positive_int, "a positive integer"),
    "token_expiry_seconds": Option(60, _positive_int, "a positive integer"),
    "rate_limit_max_attempts": Option(20, _positive_int, "a positive integer"),
    "rate_limit_window_minutes": Option(1, _positive_int, "a positive integer"),
    # Reject callbacks from gateways that have no secret (instead of accepting them on headers).
    "require_gateway_secret": Option(False, _bool, "True or False"),
    # A site-wide secret every gateway sends as X-Ws-Gateway-Secret (release 4.1's setting):
    # one, or a list (the first is sent, all are accepted: rotate by prepending). An invalid
    # value refuses every callback until fixed (check E002), never silently lets them through.
    "gateway_secret": Option(
        None,
        _gateway_secret,
        "None, or a secret (or a list of them) of 32 or more of A-Za-z0-9._~+/=-",
        on_invalid="Every callback is refused until it is fixed (the value is never shown). A "
        "secret read from a file often ends with a newline: strip it.",
    ),
    # After provisioning rotates a gateway's secret, the old one stays accepted this long (while
    # AWS deploys the new one).
    "secret_rotation_window_seconds": Option(3600, _positive_int, "a positive integer"),
    # How long a process may reuse an ApiGateway row it read on $connect (0: never); see
    # gateway_cache.py.
    "gateway_cache_seconds": Option(5, _non_negative_number, "a number of seconds, 0 or more"),
    # Release 4.1's: the hosts integrations may call (a host or a list; "*.example.com" is its
    # sub-domains). Empty: any. Checked when a gateway or route is saved.
    "allowed_integration_hosts": Option((), _hosts, "a host name or a list of them"),
    # Hosts, besides the Host header's, that a $connect Origin may name.
    "allowed_origin_hosts": Option((), _str_list, "a list of host names"),
    # The existing package's substring Host-in-Origin comparison. Weakens the check; warned about.
    "legacy_origin_substring_match": Option(False, _bool, "True or False", legacy=True),
    # Connections posted to at once by send_message on a queryset (threads of the boto3 path).
    "send_concurrency": Option(32, _positive_int, "a positive integer"),
    # Which transport send_message uses: "auto" (the lean one whenever it can be used: the
    # client factory is not replaced and the client's configuration is one it honours),
    # "lean" (the same, but a configuration it cannot honour is logged), or "boto3".
    "send_transport": Option(
        "auto", _one_of("auto", "lean", "boto3"), 'one of "auto", "lean", "boto3"'
    ),
    # Requests in flight at once on the lean transport (it is not limited by threads).
    "lean_in_flight": Option(256, _positive_int, "a positive integer"),
    # Attempts per connection when API Gateway throttles (429) or a connection breaks.
    "send_max_attempts": Option(4, _positive_int, "a positive integer"),
    # Backoff before retry n: a random delay in [0, min(max, base * 2**(n-1))] seconds.
    "send_retry_base_delay": Option(0.05, _positive_number, "a positive number of seconds"),
    "send_retry_max_delay": Option(2.0, _positive_number, "a positive number of seconds"),
    # Dotted path of a callable handed each chunk of send_message_later (a Broadcast), e.g. to
    # enqueue a task; None delivers at once, in the caller's thread.
    "broadcast_dispatcher": Option(None, _callable_path, "None or the dotted path of a callable"),
    # Connections per Broadcast handed to the dispatcher.
    "broadcast_chunk_size": Option(5000, _positive_int, "a positive integer"),
    # The ready task dispatchers (messaging.tasks, messaging.celery) enqueue each chunk when the
    # transaction commits (nothing for a rolled-back write); False enqueues at once.
    "broadcast_on_commit": Option(True, _bool, "True or False"),
    # Channel namespaces ("chat" for "chat:7"; "" for channels without a colon) and their
    # options (NAMESPACE_OPTIONS). A channel of a namespace not listed here is refused, except
    # the "" namespace, which exists with the defaults.
    "channel_namespaces": Option(
        {}, _namespaces, "a dict of namespace names to dicts of namespace options"
    ),
    # Subscriptions one connection may hold (its primary channel not counted).
    "max_subscriptions_per_connection": Option(100, _positive_int, "a positive integer"),
    # A presence member whose connection has sent nothing for this long is no longer counted
    # (API Gateway closes a connection idle for 10 minutes; the JS client's heartbeat keeps
    # live ones fresh). reconcileWebSocketSessions then removes its subscriptions.
    "presence_max_age_seconds": Option(660, _positive_int, "a positive integer"),
    # Release 4.1's: saving a deployed gateway or an additional route (and deleting a route)
    # updates AWS; False changes only the rows (a new route is still created on AWS).
    "push_changes_to_aws": Option(True, _bool, "True or False"),
}

#: The options of one channel namespace (``WEBSOCKETS["channel_namespaces"][name]``).
NAMESPACE_OPTIONS: Mapping[str, Option] = {
    # Publications kept per channel (0: no history, no offsets, no recovery).
    "history_size": Option(0, _non_negative_int, "an integer, 0 or more"),
    # ... and for how long.
    "history_ttl_seconds": Option(300, _positive_int, "a positive integer"),
    # A subscribe with "since" gets at most this many missed publications; more is
    # "recovered": false.
    "recover_max": Option(1000, _positive_int, "a positive integer"),
    # The latest publication is delivered on every subscribe ("latest value" channels, usually
    # with history_size 1).
    "latest_value": Option(False, _bool, "True or False"),
    # Members (users) are tracked: a snapshot on subscribe, join/leave frames, signals.
    "presence": Option(False, _bool, "True or False"),
    # Subscribers get join and leave frames (with presence on).
    "join_leave": Option(True, _bool, "True or False"),
    # The snapshot is a count, and no join/leave frames are sent (big channels).
    "count_only": Option(False, _bool, "True or False"),
    # Members allowed at once (presence on); beyond: refused, or admitted as count-only.
    "max_members": Option(100, _positive_int, "a positive integer"),
    "over_max_members": Option(
        "refuse", _one_of("refuse", "count_only"), 'one of "refuse", "count_only"'
    ),
}
