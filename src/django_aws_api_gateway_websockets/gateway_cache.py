"""A short-lived, per-process cache of ``ApiGateway`` rows by API id, for every callback.

Every callback names its gateway by API id, and gateway rows change rarely. A hit saves the
view building and running the gateway query (bench/README.md, "Event handling"): a message or a
``$disconnect`` is then one statement. What keeps it safe:

- an entry lives at most ``WEBSOCKETS["gateway_cache_seconds"]`` (default 5; 0 turns the cache
  off), so a change made in another process is seen within that time;
- saving or deleting an ``ApiGateway`` in this process drops its entry at once, and a database
  flush (``post_migrate``, as between transactional tests) empties the cache;
- a callback whose secret does not match a cached row is checked again against the database
  before it is refused, so a rotated or newly set secret is accepted at once, and a forged
  callback costs the same query as without the cache;
- ``$connect`` (which inserts a row referring to the gateway) uses the cache only in autocommit
  mode. Inside a transaction (``ATOMIC_REQUESTS``, or a ``TestCase``) a row deleted since it was
  cached would only fail its foreign key at commit, after the view has answered; in autocommit
  the session ``INSERT`` fails at once and the view answers as for an unknown gateway. Messages
  and ``$disconnect`` insert nothing: they update the connection's row only where it still
  refers to the gateway (a deleted gateway's sessions were set to NULL), so they use the cache in
  any mode.

Entries are copies: a view may change its gateway object without touching other requests'.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models.base import ModelState

from .conf import conf

if TYPE_CHECKING:
    from .models import ApiGateway

_entries: dict[str, tuple[float, ApiGateway]] = {}


def enabled(*, inserting: bool = True) -> bool:
    """The cache may be used here: it is switched on and, when the callback ``inserting`` a
    row that refers to the gateway, the default connection is in autocommit mode."""
    if conf.gateway_cache_seconds <= 0:
        return False
    return not (inserting and transaction.get_connection().in_atomic_block)


def get(api_id: str) -> ApiGateway | None:
    """A copy of the cached row for ``api_id``, or ``None`` when there is none or it expired."""
    entry = _entries.get(api_id)
    if entry is None:
        return None
    expires, gateway = entry
    if time.monotonic() >= expires:
        _entries.pop(api_id, None)
        return None
    return _copy(gateway)


def _copy(gateway: ApiGateway) -> ApiGateway:
    """A copy of a cached row (its concrete fields' values, a fresh state): cheaper than
    ``copy.copy``, which pickles the state of a model instance."""
    clone = gateway.__class__.__new__(gateway.__class__)
    clone.__dict__.update(gateway.__dict__)
    clone._state = ModelState()
    clone._state.db, clone._state.adding = gateway._state.db, False
    return clone


def put(gateway: ApiGateway) -> None:
    """Cache a copy of ``gateway`` (without query annotations) under its API id."""
    if not gateway.api_id:
        return
    stored = copy.copy(gateway)
    for name in set(vars(stored)) - {f.attname for f in stored._meta.concrete_fields} - {"_state"}:
        delattr(stored, name)
    _entries[gateway.api_id] = (time.monotonic() + conf.gateway_cache_seconds, stored)


def forget(api_id: str | None) -> None:
    """Drop the entry for ``api_id``, if any."""
    if api_id:
        _entries.pop(api_id, None)


def clear(**_: Any) -> None:
    """Drop every entry (also a signal receiver)."""
    _entries.clear()


def gateway_changed(sender: type[ApiGateway], instance: ApiGateway, **_: Any) -> None:
    """``post_save``/``post_delete`` receiver: the row's entry is stale. Its API id may just have
    changed, so entries holding the same primary key go too."""
    forget(instance.api_id)
    for api_id, (_expires, cached) in list(_entries.items()):
        if cached.pk == instance.pk:
            _entries.pop(api_id, None)
