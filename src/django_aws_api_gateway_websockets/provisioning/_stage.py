"""The stage and its deployments.

A deployment's description records the fingerprint of the configuration it serves (see
``Gateway.fingerprint`` in :mod:`..routes`), so a plan can tell when the stage serves an older
configuration and needs a new deployment. Deployments no stage serves are deleted.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from ..routes import Gateway
from ._compare import diff
from ._run import Change, Run, text

#: How a deployment's description records what it serves (see ``Gateway.fingerprint``).
_FINGERPRINT_RE = re.compile(r"\[config ([0-9a-f]{16})\]")


def deployment_description(stage_description: str, fingerprint: str) -> str:
    return f"{stage_description} [config {fingerprint}]".strip()


def deployment_fingerprint(description: str | None) -> str:
    match = _FINGERPRINT_RE.search(description or "")
    return match.group(1) if match else ""


def deploy(run: Run, desired: Gateway) -> str:
    """Create a deployment of the stage (its description records the fingerprint); record and
    return its id."""
    change = Change(
        "create", "deployment", desired.stage.name, (f"config {desired.fingerprint()}",)
    )
    created = run.change(
        change,
        lambda: run.api.create_deployment(
            ApiId=run.gateway.api_id,
            Description=deployment_description(desired.stage.description, desired.fingerprint()),
            StageName=desired.stage.name,
        ),
    )
    if created is None:
        return ""
    deployment_id = run.created_id(created, "DeploymentId", change)
    if deployment_id is None:  # a test double's answer: the row keeps its id
        return run.gateway.deployment_id
    run.record(deployment_id=deployment_id)
    return deployment_id


def converge_stage(
    run: Run, desired: Gateway, api_exists: bool, routes_changed: bool
) -> dict[str, str]:
    """Create or update the stage and deploy it when it does not serve the description.
    Returns ``{stage name: deployment id}`` for the stages that exist afterwards."""
    stage = desired.stage
    api_id = run.gateway.api_id
    stages: dict[str, dict[str, Any]] = {}
    if api_exists:
        stages = {
            text(s, "StageName"): s for s in run.items("read stages", "get_stages", ApiId=api_id)
        }
    live = stages.get(stage.name)
    if live is None:
        run.change(
            Change("create", "stage", stage.name),
            lambda: run.api.create_stage(
                ApiId=api_id, StageName=stage.name, Description=stage.description
            ),
        )
    elif (live.get("Description") or "") != stage.description:
        run.change(
            Change(
                "update",
                "stage",
                stage.name,
                tuple(diff("description", live.get("Description") or "", stage.description)),
            ),
            lambda: run.api.update_stage(
                ApiId=api_id, StageName=stage.name, Description=stage.description
            ),
        )
    serving = {name: str(s.get("DeploymentId") or "") for name, s in stages.items()}
    current = serving.get(stage.name, "")
    reason = ""
    if routes_changed:
        reason = "routes changed"
    elif not current:
        reason = "the stage has no deployment"
    else:
        deployment = run.read(
            "read deployment",
            lambda: run.api.get_deployment(ApiId=api_id, DeploymentId=current),
            missing_ok=True,
        )
        if deployment is None:
            reason = "the stage's deployment is missing"
        elif deployment_fingerprint(deployment.get("Description")) != desired.fingerprint():
            reason = "the stage serves an older configuration"
    if reason:
        deployment_id = deploy(run, desired)
        serving[stage.name] = deployment_id or "(new)"
        if not run.dry_run:
            run.gateway.additional_routes.update(deployed=True)
    else:
        if current != run.gateway.deployment_id:
            run.record(deployment_id=current)
        if not run.dry_run:  # the stage serves every described route
            run.gateway.additional_routes.filter(deployed=False).update(deployed=True)
    if not run.gateway.api_created:
        run.record(api_created=True)
    return serving


def remove_extra_stages(run: Run, desired: Gateway, serving: dict[str, str]) -> None:
    api_id = run.gateway.api_id
    for name in sorted(serving):
        if name == desired.stage.name:
            continue
        run.change(
            Change("delete", "stage", name, ("not in the description",)),
            partial(run.api.delete_stage, ApiId=api_id, StageName=name),
        )
        del serving[name]


def prune_deployments(run: Run, serving: dict[str, str]) -> None:
    """Delete the deployments no stage serves (the ones earlier applies replaced)."""
    api_id = run.gateway.api_id
    in_use = set(serving.values())
    for deployment in run.items("read deployments", "get_deployments", ApiId=api_id):
        deployment_id = str(deployment.get("DeploymentId"))
        if deployment_id in in_use:
            continue
        run.change(
            Change("delete", "deployment", deployment_id, ("no stage serves it",)),
            partial(run.api.delete_deployment, ApiId=api_id, DeploymentId=deployment_id),
        )
