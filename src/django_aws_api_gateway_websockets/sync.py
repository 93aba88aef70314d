"""Release 4.1's module ``sync``: keep a deployed gateway and AWS in step.

``push_gateway(gateway, client, fields=None)`` makes AWS match the rows (it is provisioning's
``apply``, refusing a gateway whose API was deleted in AWS); ``pull_gateway(gateway, client)``
reads AWS into the rows. Both answer one sentence per change and raise
:class:`ApiGatewaySyncError` when AWS fails. ``ApiGateway.sync_to_aws()``/``sync_from_aws()``
call them; so do the admin actions "Sync to AWS" and "Sync from AWS".
"""

from __future__ import annotations

from .models.aws_sync import (
    ApiGatewaySyncError,
    collect_deferred_sync_errors,
    run_aws_after_commit,
)
from .models.gateways import SYNCED_GATEWAY_FIELDS
from .provisioning._pull import API_FIELDS, pull_gateway
from .provisioning._status import error_text as describe_error
from .provisioning._sync import push_gateway
from .routes import BUILTIN_ROUTES

#: The route keys every gateway has (not additional routes).
DEFAULT_ROUTE_KEYS = tuple(BUILTIN_ROUTES)

__all__ = [
    "API_FIELDS",
    "DEFAULT_ROUTE_KEYS",
    "SYNCED_GATEWAY_FIELDS",
    "ApiGatewaySyncError",
    "collect_deferred_sync_errors",
    "describe_error",
    "pull_gateway",
    "push_gateway",
    "run_aws_after_commit",
]
