"""Pull: read a deployed gateway from AWS into its rows (release 4.1's ``sync_from_aws``).

What is read: the API's attributes (name, description, selection expressions, endpoint, tags
other than ours), the base URL (from the ``$default`` route's integration URI), the deployment
the stage serves and its description, and the additional routes. A route only AWS has is added
as a row (marked deployed: its AWS state is trusted, nothing is pushed back); a row whose route
AWS no longer has is marked not deployed, so the next push or ``apply`` creates it again.
Nothing is deleted and nothing in AWS is changed. The answer is one sentence per change.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from ..routes import BUILTIN_ROUTES, RESERVED_TAG_PREFIX
from ..wire import stage_name
from ._compare import ROW_MARKER_TAG
from ._routes import live_routes
from ._run import Run, integration_id_of, text
from ._sync import NOT_DEPLOYED_FROM, require_api, sync_errors

if TYPE_CHECKING:
    from ..models import ApiGateway

#: The gateway's fields held on the API, and AWS's names for them.
API_FIELDS = {
    "api_name": "Name",
    "api_description": "Description",
    "api_key_selection_expression": "ApiKeySelectionExpression",
    "route_selection_expression": "RouteSelectionExpression",
}
_DEFAULT_SLUG = BUILTIN_ROUTES["$default"]


def _is_url(value: str) -> bool:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return False
    return True


def _gateway_values(
    run: Run, api: dict[str, Any], routes: dict[str, dict[str, Any]], integrations: dict[str, Any]
) -> dict[str, Any]:
    values: dict[str, Any] = {name: api.get(key) for name, key in API_FIELDS.items()}
    if "Name" in api:  # a real answer (AWS leaves out an empty description)
        values["api_description"] = text(api, "Description")
    values["api_endpoint"] = api.get("ApiEndpoint")
    tags = api.get("Tags")
    if isinstance(tags, dict):
        values["tags"] = {
            k: v
            for k, v in tags.items()
            if k != ROW_MARKER_TAG and not k.startswith(RESERVED_TAG_PREFIX)
        }
    default = routes.get("$default")
    if default is not None:
        uri = text(integrations.get(integration_id_of(default)), "IntegrationUri")
        if uri.endswith(_DEFAULT_SLUG):
            values["target_base_endpoint"] = uri[: -len(_DEFAULT_SLUG)]
    gateway = run.gateway
    stage = run.read(
        "read stage",
        partial(run.api.get_stage, ApiId=gateway.api_id, StageName=stage_name(gateway)),
        missing_ok=True,
    )
    if stage is not None:
        values["deployment_id"] = stage.get("DeploymentId")
        values["stage_description"] = text(stage, "Description")
    return {
        name: value
        for name, value in values.items()
        if isinstance(value, str | dict) and getattr(gateway, name) != value
    }


def _pull_routes(
    gateway: ApiGateway, routes: dict[str, dict[str, Any]], integrations: dict[str, Any]
) -> list[str]:
    sentences: list[str] = []
    model = gateway.additional_routes.model
    remote = {key: r for key, r in routes.items() if key not in BUILTIN_ROUTES}
    by_id = {text(r, "RouteId"): r for r in remote.values()}
    for local in gateway.additional_routes.all():
        live = by_id.get(local.route_id) or remote.pop(local.route_key, None)
        if live is None:
            if local.deployed or local.route_id:
                model.objects.filter(pk=local.pk).update(
                    deployed=False, route_id="", integration_id=""
                )
                sentences.append(
                    f"Marked the {local.route_key} route not deployed: AWS has no such route"
                )
            continue
        remote.pop(text(live, "RouteKey"), None)
        integration_id = integration_id_of(live)
        uri = text(integrations.get(integration_id), "IntegrationUri")
        values = {
            "route_key": text(live, "RouteKey"),
            "integration_url": uri if _is_url(uri) else local.integration_url,
            "route_id": text(live, "RouteId"),
            "integration_id": integration_id,
            "deployed": True,
        }
        changed = sorted(name for name, value in values.items() if getattr(local, name) != value)
        if changed:
            model.objects.filter(pk=local.pk).update(**values)
            sentences.append(f"Updated the {values['route_key']} route ({', '.join(changed)})")
    for key, live in sorted(remote.items()):
        integration_id = integration_id_of(live)
        uri = text(integrations.get(integration_id), "IntegrationUri")
        if not _is_url(uri) or len(key) > (model._meta.get_field("route_key").max_length or 0):
            sentences.append(f"Not added the {key} route: its integration is not an HTTP URL")
            continue
        model.objects.create(
            api_gateway=gateway,
            name=key[:63],
            route_key=key,
            integration_url=uri,
            deployed=True,  # as AWS has it: a deployed row is inserted without a push
            route_id=text(live, "RouteId"),
            integration_id=integration_id,
        )
        sentences.append(f"Added the {key} route, found only in AWS")
    return sentences


def pull_gateway(gateway: ApiGateway, client: Any = None) -> list[str]:
    """Read the deployed gateway from AWS into its rows (see the module docstring)."""
    if not gateway.is_deployed:
        raise ValueError(NOT_DEPLOYED_FROM)
    run = Run(gateway, operation="pull", dry_run=False, client=client)
    with sync_errors(gateway, "from"):
        api = require_api(run, "from")
        routes, integrations = live_routes(run)
        values = _gateway_values(run, api, routes, integrations)
        if values:
            run.record(**values)
        sentences = [f"Updated {name}" for name in values]
        sentences += _pull_routes(gateway, routes, integrations)
    if gateway.last_error:
        run.record(last_error="")
    return sentences
