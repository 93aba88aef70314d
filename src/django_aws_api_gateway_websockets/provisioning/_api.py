"""The WebSocket API itself: create it, bring its settings and tags up to date, delete it.

The API is the one resource known by an id we keep (``api_id``, recorded the moment it is
created); everything under it is found from what AWS reports.
"""

from __future__ import annotations

from typing import Any

from ..routes import Gateway
from ._compare import converge_tags, diff
from ._run import NOT_A_RESPONSE, Change, Run, text


def _api_arn(run: Run) -> str:
    return run.apigateway_arn(f"/apis/{run.gateway.api_id}")


def converge_api(run: Run, desired: Gateway) -> bool:
    """Create or update the API and its tags. ``True`` when the API exists (or, in a plan, will
    exist only after apply: then ``False``)."""
    gateway = run.gateway
    live: dict[str, Any] | None = None
    if gateway.api_id:
        live = run.read(
            "read API",
            lambda: run.api.get_api(ApiId=gateway.api_id),
            missing_ok=True,
            not_a_response=NOT_A_RESPONSE,  # a test double's answer: the row keeps its API
        )
        if live is None:
            forget_api(run)  # deleted outside of us: the row must say so
    if live is None:
        change = Change(
            "create",
            "API",
            desired.name,
            ("WEBSOCKET", f"route selection {desired.route_selection_expression}"),
        )
        created = run.change(
            change,
            lambda: run.api.create_api(
                ApiKeySelectionExpression=desired.api_key_selection_expression,
                Description=desired.description,
                DisableSchemaValidation=True,
                Name=desired.name,
                ProtocolType="WEBSOCKET",
                RouteSelectionExpression=desired.route_selection_expression,
                Tags=dict(desired.tags),
            ),
        )
        if created is None:
            return False
        api_id = run.created_id(created, "ApiId", change)
        if api_id is not None:
            run.record(api_id=api_id, api_endpoint=text(created, "ApiEndpoint"))
        return True
    diffs = diff("name", live.get("Name"), desired.name)
    diffs += diff("description", live.get("Description") or "", desired.description)
    diffs += diff(
        "route selection",
        live.get("RouteSelectionExpression"),
        desired.route_selection_expression,
    )
    diffs += diff(
        "API key selection",
        live.get("ApiKeySelectionExpression"),
        desired.api_key_selection_expression,
    )
    if diffs:
        run.change(
            Change("update", "API", desired.name, tuple(diffs)),
            lambda: run.api.update_api(
                ApiId=gateway.api_id,
                ApiKeySelectionExpression=desired.api_key_selection_expression,
                Description=desired.description,
                Name=desired.name,
                RouteSelectionExpression=desired.route_selection_expression,
            ),
        )
    if live.get("ApiEndpoint") and live["ApiEndpoint"] != gateway.api_endpoint:
        run.record(api_endpoint=live["ApiEndpoint"])
    converge_tags(run, "API", desired.name, _api_arn(run), live.get("Tags") or {}, desired.tags)
    return True


def exists(run: Run) -> bool:
    """Whether the recorded API still exists on AWS (``False`` when none is recorded)."""
    api_id = run.gateway.api_id
    if not api_id:
        return False
    return run.read("read API", lambda: run.api.get_api(ApiId=api_id), missing_ok=True) is not None


def delete_api(run: Run) -> None:
    """Delete the API (AWS deletes its routes, integrations, stages and deployments with it)."""
    gateway = run.gateway
    run.change(
        Change("delete", "API", gateway.api_name, (gateway.api_id,)),
        lambda: run.api.delete_api(ApiId=gateway.api_id),
    )


def forget_api(run: Run) -> None:
    """Clear the row's record of the API; its additional routes are no longer deployed."""
    run.record(api_id="", api_endpoint="", deployment_id="", api_created=False)
    if not run.dry_run:
        run.gateway.additional_routes.update(deployed=False)
