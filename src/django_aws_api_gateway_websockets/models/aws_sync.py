"""Keeping AWS in step with saved rows: when to push, when the push runs, what a failure is.

Release 4.1's names, importable from ``models`` and ``sync``:

- :class:`ApiGatewaySyncError`: AWS refused a change to a deployed gateway, could not be reached,
  or the gateway no longer exists there. The rows are kept; the message says what to do.
- :func:`push_enabled`: ``push_to_aws`` when given, else ``WEBSOCKETS["push_changes_to_aws"]``.
- :func:`run_aws_after_commit`: an AWS call made for a saved row runs when the transaction commits
  (at once when there is none), so it neither holds row locks while AWS answers nor changes AWS
  for a row that was rolled back.
- :func:`collect_deferred_sync_errors`: while active, the errors of calls run at commit are
  collected (the admin shows them as messages) instead of raised from the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

from ..conf import conf


class ApiGatewaySyncError(Exception):
    """A change to a deployed gateway did not reach AWS (or AWS could not be read); the rows are
    kept as they are."""


_deferred: ContextVar[list[ApiGatewaySyncError] | None] = ContextVar(
    "deferred_sync_errors", default=None
)


def push_enabled(push_to_aws: bool | None) -> bool:
    """Whether a save or delete updates AWS: ``push_to_aws`` when given, else the setting."""
    return conf.push_changes_to_aws if push_to_aws is None else bool(push_to_aws)


@contextmanager
def collect_deferred_sync_errors() -> Iterator[list[ApiGatewaySyncError]]:
    """Collect, instead of raising, the :class:`ApiGatewaySyncError` of calls run at commit."""
    errors: list[ApiGatewaySyncError] = []
    token = _deferred.set(errors)
    try:
        yield errors
    finally:
        _deferred.reset(token)


def run_aws_after_commit(operation: Callable[[], object], using: str | None = None) -> None:
    """Run ``operation`` when the transaction on ``using`` commits, or now when none is open.
    Outside a transaction its :class:`ApiGatewaySyncError` reaches the caller; at commit it is
    collected by :func:`collect_deferred_sync_errors` when that is active, else raised."""
    if not transaction.get_connection(using).in_atomic_block:
        operation()
        return

    def at_commit() -> None:
        try:
            operation()
        except ApiGatewaySyncError as error:
            collected = _deferred.get()
            if collected is None:
                raise
            collected.append(error)

    transaction.on_commit(at_commit, using=using)
