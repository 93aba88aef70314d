"""The Django admin of the package (Django's autodiscovery imports this package).

- :mod:`.gateways`: gateways and their additional routes (``ApiGatewayAdmin``,
  ``ApiGatewayAdditionalRouteAdmin``, the routes inline; saving a route updates AWS).
- :mod:`.gateway_actions`: the gateway actions ("Create API Gateway", "Create Custom Domain",
  "Plan AWS changes", "Apply to AWS", "Tear down AWS resources").
- :mod:`.actions`: the one runner of those actions (:func:`run_action`, and
  :func:`admin_action` to make a step an action): a message and an audit line per object.
- :mod:`.audit`: the audit log (logger ``django_aws_api_gateway_websockets.admin``).
- :mod:`.channels`: channel permissions, their rules inline (``ChannelPermissionAdmin``).
- :mod:`.sessions`: rows the package writes itself (connections, tokens, rate-limit attempts).

Messages never carry secrets, AWS error texts or tracebacks: a failure names the object and the
error type or AWS error code (with the AWS operation that failed), and the details stay in the
server's log (the existing package's two actions keep its texts). Messages go through this
package's ``messages`` attribute (``django.contrib.messages``), which projects' tests patch.
Secrets are never displayed: a gateway's ``secret`` shows as "set"/"not set", a
token only as its first characters, and a token's browser session key not at all.
"""

from __future__ import annotations

from django.contrib import messages

from .actions import (
    AWS_ERRORS,
    ActionRefusedError,
    ActionStoppedError,
    AdminAction,
    NothingToDoError,
    Outcome,
    Step,
    Wording,
    admin_action,
    describe_error,
    run_action,
)
from .audit import AUDIT_LOGGER, audit, logger
from .channels import ChannelPermissionAdmin, ChannelPermissionRuleInline, rules_summary
from .gateway_actions import (
    GATEWAY_ACTIONS,
    PROVISIONING_ACTIONS,
    LegacyWording,
    apply_gateways,
    create_api_gateway,
    create_api_gateway_step,
    create_custom_domain,
    create_custom_domain_step,
    plan_gateways,
    teardown_gateways,
)
from .gateways import (
    URL_FIELD_OVERRIDES,
    ApiGatewayAdditionalRouteAdmin,
    ApiGatewayAdditionalRouteInline,
    ApiGatewayAdmin,
    save_route,
)
from .sessions import (
    TOKEN_PREFIX_LENGTH,
    ConnectionRateLimitAdmin,
    ReadOnlyAdminMixin,
    WebSocketSessionAdmin,
    WebSocketTokenAdmin,
)
from .sync import SYNC_ACTIONS, SyncErrorMessages, sync_from_aws, sync_to_aws

#: Release 4.1's name for the mixin that turns failed AWS pushes of saves/deletes into messages.
SyncErrorMessageMixin = SyncErrorMessages

__all__ = [
    "AUDIT_LOGGER",
    "AWS_ERRORS",
    "GATEWAY_ACTIONS",
    "PROVISIONING_ACTIONS",
    "SYNC_ACTIONS",
    "TOKEN_PREFIX_LENGTH",
    "URL_FIELD_OVERRIDES",
    "ActionRefusedError",
    "ActionStoppedError",
    "AdminAction",
    "ApiGatewayAdditionalRouteAdmin",
    "ApiGatewayAdditionalRouteInline",
    "ApiGatewayAdmin",
    "ChannelPermissionAdmin",
    "ChannelPermissionRuleInline",
    "ConnectionRateLimitAdmin",
    "LegacyWording",
    "NothingToDoError",
    "Outcome",
    "ReadOnlyAdminMixin",
    "Step",
    "SyncErrorMessageMixin",
    "SyncErrorMessages",
    "WebSocketSessionAdmin",
    "WebSocketTokenAdmin",
    "Wording",
    "admin_action",
    "apply_gateways",
    "audit",
    "create_api_gateway",
    "create_api_gateway_step",
    "create_custom_domain",
    "create_custom_domain_step",
    "describe_error",
    "logger",
    "messages",
    "plan_gateways",
    "rules_summary",
    "run_action",
    "save_route",
    "sync_from_aws",
    "sync_to_aws",
    "teardown_gateways",
]
