"""The WebSocket API itself: create it, bring its settings and tags up to date, delete it.

The API is the one resource known by an id we keep (``api_id``, recorded the moment it is
created); everything under it is found from what AWS reports.

An API whose creation answer never arrived (the run was killed while ``CreateApi`` was in
flight, or botocore sent the request again after a read timeout) is not lost: before creating,
the row is claimed (see :mod:`._status`) and gets a ``provisioning_token``, and the API is
created with the tag
``ROW_MARKER_TAG = "<pk>:<token>"``. The next run (and a retried request) looks for that tag and
adopts the API instead of creating another; teardown deletes every API carrying it. APIs are
never matched by name: names are not unique, and another API of the same name is not ours.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from ..routes import Gateway
from . import _status
from ._compare import ROW_MARKER_TAG, converge_tags, diff
from ._run import NOT_A_RESPONSE, Change, Run, text

#: The botocore event fired before each HTTP attempt of CreateApi (retries included).
_BEFORE_CREATE_SEND = "before-send.apigatewayv2.CreateApi"


def row_marker(run: Run) -> str:
    """The value of :data:`ROW_MARKER_TAG` on the API created for this row ("" before any)."""
    token = run.gateway.provisioning_token
    return f"{run.gateway.pk}:{token}" if token else ""


def marked_apis(run: Run) -> list[dict[str, Any]]:
    """The APIs tagged as created for this row, oldest first (none when it never created one)."""
    marker = row_marker(run)
    if not marker:
        return []
    found = [
        item
        for item in run.items("find API created for this row", "get_apis")
        if (item.get("Tags") or {}).get(ROW_MARKER_TAG) == marker and text(item, "ApiId")
    ]
    return sorted(found, key=lambda item: (str(item.get("CreatedDate", "")), item["ApiId"]))


class _FoundOnRetryError(Exception):
    """Raised from botocore's ``before-send`` hook: a retried CreateApi found the API that the
    attempt it repeats had created, so no second request is sent."""

    def __init__(self, api: dict[str, Any]) -> None:
        super().__init__(api.get("ApiId"))
        self.api = api


def _create(run: Run, desired: Gateway) -> tuple[dict[str, Any], bool]:
    """CreateApi, tagged with the row's marker; a retry of the request adopts the API an
    earlier attempt created. Returns the API and whether botocore retried."""
    attempts = 0

    def before_send(**_: Any) -> None:
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            found = marked_apis(run)
            if found:
                raise _FoundOnRetryError(found[0])

    events = run.api.meta.events
    events.register(_BEFORE_CREATE_SEND, before_send)
    try:
        created = run.api.create_api(
            ApiKeySelectionExpression=desired.api_key_selection_expression,
            Description=desired.description,
            DisableSchemaValidation=True,
            Name=desired.name,
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression=desired.route_selection_expression,
            Tags={**desired.tags, ROW_MARKER_TAG: row_marker(run)},
        )
    except _FoundOnRetryError as found:
        created = found.api
    finally:
        events.unregister(_BEFORE_CREATE_SEND, before_send)
    return created, attempts > 1


def _delete_duplicates(run: Run, name: str, keep: str, found: list[dict[str, Any]]) -> None:
    for api_id in [str(api["ApiId"]) for api in found if api["ApiId"] != keep]:
        run.change(
            Change("delete", "API", name, (api_id, "tagged for this row, not recorded")),
            partial(run.api.delete_api, ApiId=api_id),
        )


def _adopt(run: Run, desired: Gateway) -> dict[str, Any] | None:
    """Adopt the API an interrupted run created for this row (found by its marker tag)."""
    found = marked_apis(run)
    if not found:
        return None
    api = found[0]
    run.change(
        Change(
            "update", "API", desired.name, (f"adopt {api['ApiId']}, created by an earlier run",)
        ),
        lambda: None,
    )
    run.record(api_id=api["ApiId"], api_endpoint=text(api, "ApiEndpoint"))
    _status.advance(run, "api_created")
    _delete_duplicates(run, desired.name, api["ApiId"], found)
    return api


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
        live = _adopt(run, desired)
        if live is not None and run.dry_run:
            return False  # adopted by apply; what changes under it is planned then
    if live is None:
        change = Change(
            "create",
            "API",
            desired.name,
            ("WEBSOCKET", f"route selection {desired.route_selection_expression}"),
        )
        _status.claim(run)  # before CreateApi, writes the token it is tagged with (see above)
        retried: list[bool] = []

        def create() -> dict[str, Any]:
            api, was_retried = _create(run, desired)
            retried.append(was_retried)
            return api

        created = run.change(change, create)
        if created is None:
            return False
        api_id = run.created_id(created, "ApiId", change)
        if api_id is not None:
            run.record(api_id=api_id, api_endpoint=text(created, "ApiEndpoint"))
            _status.advance(run, "api_created")
            if any(retried):
                # A retried request may have been answered before the first attempt's API was
                # visible: keep the one recorded, delete any other tagged for this row.
                _delete_duplicates(run, desired.name, api_id, marked_apis(run))
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


def delete_api(run: Run, *, recorded: bool) -> None:
    """Delete the API (AWS deletes its routes, integrations, stages and deployments with it),
    when ``recorded`` exists, and any other API tagged as created for this row (an interrupted
    run's, never adopted)."""
    gateway = run.gateway
    if recorded:
        run.change(
            Change("delete", "API", gateway.api_name, (gateway.api_id,)),
            lambda: run.api.delete_api(ApiId=gateway.api_id),
        )
    _delete_duplicates(run, gateway.api_name, gateway.api_id if recorded else "", marked_apis(run))


def forget_api(run: Run) -> None:
    """Clear the row's record of the API; its additional routes are no longer deployed."""
    run.record(api_id="", api_endpoint="", deployment_id="", api_created=False)
    _status.fall_back(run, "pending")
    if not run.dry_run:
        run.gateway.additional_routes.update(deployed=False)
