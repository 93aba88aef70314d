"""Which hosts integrations may call: release 4.1's ``WEBSOCKETS["allowed_integration_hosts"]``.

:func:`validate_integration_host` checks a gateway's ``target_base_endpoint`` and a route's
``integration_url``: in the admin's forms (a field error) and on every save
(:func:`check_before_save`, a ``pre_save`` receiver: ``ValidationError``, nothing written).
Unset, any host is allowed. An invalid setting (check ``E002``) allows nothing: it never
silently opens the list.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from .conf import OPTIONS, conf


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """``host`` is listed, or is a sub-domain of a listed ``*.domain``."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        if entry.startswith("*."):
            if host.endswith(entry[1:]) and len(host) > len(entry) - 1:
                return True
        elif host == entry:
            return True
    return False


def validate_integration_host(url: Any) -> None:
    """``ValidationError`` when ``url``'s host is not in ``allowed_integration_hosts``."""
    raw = conf.websockets.get("allowed_integration_hosts")
    if raw is None or raw == () or raw == []:
        return
    if not OPTIONS["allowed_integration_hosts"].valid(raw):
        raise ValidationError(
            'WEBSOCKETS["allowed_integration_hosts"] is invalid (see check E002); fix it first.',
            code="integration_host",
        )
    try:
        host = urlsplit(str(url or "")).hostname or ""
    except ValueError:
        host = ""
    if not host or not host_allowed(host, conf.allowed_integration_hosts):
        raise ValidationError(
            "This host is not in WEBSOCKETS['allowed_integration_hosts'].",
            code="integration_host",
        )


def check_before_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """``pre_save`` of gateways and routes: their integration URL's host is allowed."""
    if raw:  # loading fixtures
        return
    for name in ("target_base_endpoint", "integration_url"):
        if hasattr(instance, name):
            value = getattr(instance, name)
            if value:
                validate_integration_host(value)
