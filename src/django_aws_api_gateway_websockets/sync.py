"""Release 4.1's module ``sync``: keep a deployed gateway and AWS in step.

``push_gateway(gateway, client, fields=None)`` makes AWS match the rows (it is provisioning's
``apply``, refusing a gateway whose API was deleted in AWS); ``pull_gateway(gateway, client)``
reads AWS into the rows. Both answer one sentence per change and raise
:class:`ApiGatewaySyncError` when AWS fails. ``ApiGateway.sync_to_aws()``/``sync_from_aws()``
call them; so do the admin actions "Sync to AWS" and "Sync from AWS".

4.1's helpers for code of its own that reads an API: ``list_routes(client, api_id)`` (every
route, all pages), ``list_integrations(client, api_id)`` (every integration, by id),
``integration_id_of(route)`` and ``is_not_found(error)``; they are provisioning's own readers.
AWS errors reach the caller as boto3 raised them.
"""

from __future__ import annotations

from typing import Any

from .models.aws_sync import (
    ApiGatewaySyncError,
    collect_deferred_sync_errors,
    run_aws_after_commit,
)
from .models.gateways import SYNCED_GATEWAY_FIELDS
from .provisioning._pull import API_FIELDS, pull_gateway
from .provisioning._run import as_dict, integration_id_of, is_not_found, paginate, text
from .provisioning._status import error_text as describe_error
from .provisioning._sync import push_gateway
from .routes import BUILTIN_ROUTES

#: The route keys every gateway has (not additional routes).
DEFAULT_ROUTE_KEYS = tuple(BUILTIN_ROUTES)


def list_routes(client: Any, api_id: str) -> list[dict[str, Any]]:
    """Every route of the API ``api_id`` (``client``: a boto3 ``apigatewayv2`` client)."""
    return list(paginate(lambda extra: as_dict(client.get_routes(ApiId=api_id, **extra))))


def list_integrations(client: Any, api_id: str) -> dict[str, dict[str, Any]]:
    """Every integration of the API ``api_id``, by ``IntegrationId``."""
    items = paginate(lambda extra: as_dict(client.get_integrations(ApiId=api_id, **extra)))
    return {text(item, "IntegrationId"): item for item in items}


__all__ = [
    "API_FIELDS",
    "DEFAULT_ROUTE_KEYS",
    "SYNCED_GATEWAY_FIELDS",
    "ApiGatewaySyncError",
    "collect_deferred_sync_errors",
    "describe_error",
    "integration_id_of",
    "is_not_found",
    "list_integrations",
    "list_routes",
    "pull_gateway",
    "push_gateway",
    "run_aws_after_commit",
]
