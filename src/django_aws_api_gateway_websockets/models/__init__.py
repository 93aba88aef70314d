"""The models: gateways, their additional routes, connections, tokens, rate-limit rows and
channel permissions.

Public names, fields, tables and defaults are those of the existing package (see the upgrade
notes in the docs). Every name a project imports from ``models`` is importable here.

The patch points: projects patch ``models.get_boto3_client`` (or ``models.boto3``) in their
tests, so both are module attributes of this package; the package gets every AWS client through
:func:`.aws.client`, which looks the factory up here at call time, and the factory calls the
``boto3`` found here at call time.

- :mod:`.gateways`: ``ApiGateway``; :mod:`.additional_routes`: ``ApiGatewayAdditionalRoute``
- :mod:`.aws_sync`: ``ApiGatewaySyncError``, ``run_aws_after_commit`` (release 4.1's sync)
- :mod:`.sessions`: ``WebSocketSession`` and its queryset's sending methods
- :mod:`.tokens`: ``WebSocketToken``, ``ConnectionRateLimit``
- :mod:`.channels`: ``ChannelPermission``, ``ChannelPermissionRule``
- :mod:`.hashes`: ``hash_session_key``, ``hash_user_auth`` (release 4.1's salts)
- :mod:`.subscriptions`: ``ChannelSubscription``, ``ChannelStream``, ``ChannelPublication``

Release 4.1's other module-level names live where they belong and are re-exported here:
``GATEWAY_SECRET_HEADER`` (``wire``), ``serialise_message`` (``messaging.encode``),
``clear_boto3_client_cache`` (the messaging clients),
``validate_integration_host`` (``integration_hosts``).
"""

from __future__ import annotations

import boto3

from ..aws import get_boto3_client, get_region_name
from ..conf import GATEWAY_SECRET_RE as GATEWAY_SECRET_PATTERN
from ..conf import conf
from ..integration_hosts import validate_integration_host
from ..messaging import MAX_MESSAGE_SIZE
from ..messaging import encode as serialise_message
from ..messaging.boto3_transport import clear_client_cache as clear_boto3_client_cache
from ..wire import SETTINGS_SECRET_HEADER as GATEWAY_SECRET_HEADER
from .additional_routes import ApiGatewayAdditionalRoute
from .aws_sync import (
    ApiGatewaySyncError,
    collect_deferred_sync_errors,
    push_enabled,
    run_aws_after_commit,
)
from .channels import ChannelAccess, ChannelPermission, ChannelPermissionRule
from .gateways import (
    API_NAME_RE,
    DOMAIN_NAME_RE,
    ApiGateway,
    ProvisioningHook,
    ProvisioningStatus,
    use_provisioning,
)
from .hashes import hash_session_key, hash_user_auth
from .sessions import (
    WebSocketSession,
    WebSocketSessionManager,
    WebSocketSessionQuerySet,
    broadcast_dispatcher,
    deliver_broadcast,
    management_client,
)
from .subscriptions import ChannelPublication, ChannelStream, ChannelSubscription
from .tokens import TOKEN_RE, ConnectionRateLimit, WebSocketToken


def get_gateway_secrets() -> list[str]:
    """Release 4.1's name: the accepted ``WEBSOCKETS["gateway_secret"]`` values, the one sent
    first (``[]`` when unset or invalid; an invalid setting refuses every callback, check
    ``aws_websockets.E002``)."""
    return list(conf.gateway_secrets)


__all__ = [
    "API_NAME_RE",
    "DOMAIN_NAME_RE",
    "GATEWAY_SECRET_HEADER",
    "GATEWAY_SECRET_PATTERN",
    "MAX_MESSAGE_SIZE",
    "TOKEN_RE",
    "ApiGateway",
    "ApiGatewayAdditionalRoute",
    "ApiGatewaySyncError",
    "ChannelAccess",
    "ChannelPermission",
    "ChannelPermissionRule",
    "ChannelPublication",
    "ChannelStream",
    "ChannelSubscription",
    "ConnectionRateLimit",
    "ProvisioningHook",
    "ProvisioningStatus",
    "WebSocketSession",
    "WebSocketSessionManager",
    "WebSocketSessionQuerySet",
    "WebSocketToken",
    "boto3",
    "broadcast_dispatcher",
    "clear_boto3_client_cache",
    "collect_deferred_sync_errors",
    "deliver_broadcast",
    "get_boto3_client",
    "get_gateway_secrets",
    "get_region_name",
    "hash_session_key",
    "hash_user_auth",
    "management_client",
    "push_enabled",
    "run_aws_after_commit",
    "serialise_message",
    "use_provisioning",
    "validate_integration_host",
]
