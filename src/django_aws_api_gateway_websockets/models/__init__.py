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
``validate_integration_host`` (``integration_hosts``), ``get_allowed_integration_hosts``,
``get_boolean_setting``, ``get_websockets_config`` (``conf``), ``delete_route_from_aws``
(:mod:`.additional_routes`), and 4.1's tuning constants (:mod:`.legacy_names`). Four more are
imported on first use (see :func:`__getattr__`): ``sync``, ``integration_request_parameters``,
``close_sessions_on_logout`` and ``disconnect_sessions_of_deleted_gateway``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from ..aws import get_boto3_client, get_region_name
from ..conf import GATEWAY_SECRET_RE as GATEWAY_SECRET_PATTERN
from ..conf import conf, get_allowed_integration_hosts, get_boolean_setting, get_websockets_config
from ..integration_hosts import validate_integration_host
from ..messaging import MAX_MESSAGE_SIZE
from ..messaging import encode as serialise_message
from ..messaging.boto3_transport import clear_client_cache as clear_boto3_client_cache
from ..wire import SETTINGS_SECRET_HEADER as GATEWAY_SECRET_HEADER
from .additional_routes import ApiGatewayAdditionalRoute, delete_route_from_aws
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
from .legacy_names import (
    AWS_CONNECT_TIMEOUT,
    AWS_MAX_ATTEMPTS,
    AWS_READ_TIMEOUT,
    BROADCAST_CONNECT_TIMEOUT,
    BROADCAST_MAX_ATTEMPTS,
    BROADCAST_MAX_WORKERS,
    BROADCAST_READ_TIMEOUT,
    RATE_LIMIT_PURGE_BATCH,
    RATE_LIMIT_PURGE_ONE_IN,
)
from .sessions import (
    WebSocketSession,
    WebSocketSessionManager,
    WebSocketSessionQuerySet,
    broadcast_dispatcher,
    deliver_broadcast,
    management_client,
)
from .subscriptions import ChannelPublication, ChannelStream, ChannelSubscription
from .tokens import RATE_LIMIT_RETENTION_DAYS, TOKEN_RE, ConnectionRateLimit, WebSocketToken

#: Release 4.1's ``models.logger``: the logger named after this package; the models' modules log
#: under its children (``...models.sessions``), so configuring it by name covers them as in 4.1.
logger = logging.getLogger(__name__)


def get_gateway_secrets() -> list[str]:
    """Release 4.1's name: the accepted ``WEBSOCKETS["gateway_secret"]`` values, the one sent
    first (``[]`` when unset or invalid; an invalid setting refuses every callback, check
    ``aws_websockets.E002``)."""
    return list(conf.gateway_secrets)


#: Release 4.1's names whose modules import this one: importing them here would be an import
#: circle (``sync`` and ``login_binding`` import the models; ``routes`` names ``ApiGateway`` in
#: its annotations). So they are looked up on first use (PEP 562) with importlib, after every
#: module has loaded: ``{name: (module, attribute or None for the module itself)}``.
_ON_FIRST_USE: dict[str, tuple[str, str | None]] = {
    "sync": ("django_aws_api_gateway_websockets.sync", None),
    "integration_request_parameters": (
        "django_aws_api_gateway_websockets.routes",
        "integration_request_parameters",
    ),
    # The receivers ours connects in AppConfig.ready(), under 4.1's names, so that
    # ``user_logged_out.disconnect(close_sessions_on_logout)`` and
    # ``pre_delete.disconnect(disconnect_sessions_of_deleted_gateway, sender=ApiGateway)`` work.
    "close_sessions_on_logout": (
        "django_aws_api_gateway_websockets.login_binding",
        "on_user_logged_out",
    ),
    "disconnect_sessions_of_deleted_gateway": (
        "django_aws_api_gateway_websockets.login_binding",
        "on_gateway_deleted",
    ),
}


if TYPE_CHECKING:
    # Declared (not imported) for type checkers, so that a module ``__getattr__`` does not make
    # every misspelt name of this module pass as ``Any``.
    sync: ModuleType
    integration_request_parameters: Callable[..., dict[str, str]]
    close_sessions_on_logout: Callable[..., None]
    disconnect_sessions_of_deleted_gateway: Callable[..., None]
else:

    def __getattr__(name: str) -> Any:
        try:
            module_name, attribute = _ON_FIRST_USE[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        module = import_module(module_name)
        return module if attribute is None else getattr(module, attribute)


def __dir__() -> list[str]:
    return sorted([*globals(), *_ON_FIRST_USE])


__all__ = [
    "API_NAME_RE",
    "AWS_CONNECT_TIMEOUT",
    "AWS_MAX_ATTEMPTS",
    "AWS_READ_TIMEOUT",
    "BROADCAST_CONNECT_TIMEOUT",
    "BROADCAST_MAX_ATTEMPTS",
    "BROADCAST_MAX_WORKERS",
    "BROADCAST_READ_TIMEOUT",
    "DOMAIN_NAME_RE",
    "GATEWAY_SECRET_HEADER",
    "GATEWAY_SECRET_PATTERN",
    "MAX_MESSAGE_SIZE",
    "RATE_LIMIT_PURGE_BATCH",
    "RATE_LIMIT_PURGE_ONE_IN",
    "RATE_LIMIT_RETENTION_DAYS",
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
    "close_sessions_on_logout",
    "collect_deferred_sync_errors",
    "delete_route_from_aws",
    "deliver_broadcast",
    "disconnect_sessions_of_deleted_gateway",
    "get_allowed_integration_hosts",
    "get_boolean_setting",
    "get_boto3_client",
    "get_gateway_secrets",
    "get_region_name",
    "get_websockets_config",
    "hash_session_key",
    "hash_user_auth",
    "integration_request_parameters",
    "logger",
    "management_client",
    "push_enabled",
    "run_aws_after_commit",
    "serialise_message",
    "sync",
    "use_provisioning",
    "validate_integration_host",
]
