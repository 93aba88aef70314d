"""The admin's audit log: one line per object an admin user acted on, and how it ended.

Lines go to the logger ``django_aws_api_gateway_websockets.admin`` (the name projects route to
their audit trail; every module of the ``admin`` package writes to it). A line names the user,
the action, the object and the outcome, never a secret or an AWS error message.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

#: The audit logger's name: the ``admin`` package's, whichever of its modules writes.
AUDIT_LOGGER = "django_aws_api_gateway_websockets.admin"

logger = logging.getLogger(AUDIT_LOGGER)


def _admin_user(request: HttpRequest | None) -> str:
    if request is None:
        return "(no request)"
    user = request.user
    return f"{user.get_username()!r} (pk={user.pk})"


def audit(
    request: HttpRequest | None,
    action: str,
    obj: Any,
    outcome: str,
    level: int = logging.INFO,
) -> None:
    """One audit line: who ran what on which object, and how it ended."""
    logger.log(
        level,
        "admin user %s ran %r on %s %r (pk=%s): %s",
        _admin_user(request),
        action,
        type(obj).__name__,
        str(obj),
        obj.pk,
        outcome,
    )
