"""Provisioning that converges: ``plan``, ``apply`` and ``teardown`` of a gateway's AWS resources.

The desired state of a gateway is its description in :mod:`..routes` (the same one the local
gateway serves). ``plan`` reads the live resources with apigatewayv2 (and Route 53) and lists
what ``apply`` would create, update and delete; ``apply`` makes those changes one step at a
time, recording ids on the row as it goes, so running it again after a failure resumes and
converges (no duplicates, no orphans); ``teardown`` deletes the resources in dependency order.

Where things are: :mod:`._order` is the run order, readable top to bottom; then one module per
AWS resource: :mod:`._api`, :mod:`._routes` (integrations, routes, route responses),
:mod:`._stage` (stage, deployments) and :mod:`._domain` (custom domain, API mapping, Route 53
DNS); :mod:`._status` records how far a run got and claims the row; :mod:`._sync` and
:mod:`._pull` are release 4.1's sync (push is ``apply``); :mod:`._run` is the machinery of a
run; :mod:`._legacy` the existing package's entry points; :mod:`.iam` the IAM policies. Every
AWS client comes from ``aws.client`` (so a patched ``models.get_boto3_client`` sees every call).

How the models reach provisioning without importing it. The existing package's model methods
(``ApiGateway.create_gateway()``, ``create_custom_domain()``, ``deploy_api()``,
``ApiGatewayAdditionalRoute.save()``/``create_route()``) still provision, but provisioning
imports ``models``, so ``models`` importing provisioning, even inside a method, would close an
import circle. Instead this package registers itself with ``models.use_provisioning`` when it
is imported (the app's ``ready()`` imports it), and the model methods delegate to what is
registered: dependencies point one way, from provisioning to models. The package module itself
is registered, so a test that patches ``provisioning.create_gateway`` is still obeyed.
"""

from __future__ import annotations

from .. import models as _models
from .. import provisioning as _this_package  # this package, registered at the bottom
from ._compare import ROW_MARKER_TAG
from ._legacy import (
    create_custom_domain,
    create_gateway,
    deploy,
    sync_additional_route,
    upsert_additional_route,
)
from ._order import ALL_PARTS, apply, plan, rotate_secret, teardown
from ._pull import pull_gateway
from ._routes import integration_kwargs, route_kwargs
from ._run import Change, Event, Progress, ProvisioningError, Result
from ._sync import push_gateway, push_route, remove_route

__all__ = [
    "ALL_PARTS",
    "ROW_MARKER_TAG",
    "Change",
    "Event",
    "Progress",
    "ProvisioningError",
    "Result",
    "apply",
    "create_custom_domain",
    "create_gateway",
    "deploy",
    "integration_kwargs",
    "plan",
    "pull_gateway",
    "push_gateway",
    "push_route",
    "remove_route",
    "rotate_secret",
    "route_kwargs",
    "sync_additional_route",
    "teardown",
    "upsert_additional_route",
]

_models.use_provisioning(_this_package)
