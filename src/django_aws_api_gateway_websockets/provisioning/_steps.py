"""The steps of plan/apply and of teardown, in dependency order.

Resources are found from what AWS reports rather than from ids we keep: routes by route key,
integrations through their route's target, the stage by name, the custom domain by name, the
API mapping by its key on the domain and the DNS record by name. Only the API's own id is kept
(``api_id``); it is recorded the moment the API is created.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from ..routes import (
    ROUTE_RESPONSE_KEY,
    CustomDomain,
    Gateway,
    Integration,
    Route,
    gateway_description,
)
from ..wire import SECRET_HEADER
from ._run import Change, ProvisioningError, Run, as_dict, text

if TYPE_CHECKING:
    from ..models import ApiGateway

#: Which parts of a gateway a run covers: the API (routes, stage, deployment) and the custom
#: domain (domain name, API mapping, DNS record).
ALL_PARTS = frozenset({"api", "domain"})

#: Stands in for the secret that ``apply`` will generate, in a plan made before it exists.
_PLANNED_SECRET = "(generated-on-apply)"  # noqa: S105 (a placeholder, not a secret)

#: How a deployment's description records what it serves (see ``Gateway.fingerprint``).
_FINGERPRINT_RE = re.compile(r"\[config ([0-9a-f]{16})\]")


def deployment_description(stage_description: str, fingerprint: str) -> str:
    return f"{stage_description} [config {fingerprint}]".strip()


def deployment_fingerprint(description: str | None) -> str:
    match = _FINGERPRINT_RE.search(description or "")
    return match.group(1) if match else ""


def describe(gateway: ApiGateway, *, planned_secret: bool = False) -> Gateway:
    """The gateway's description; in a plan without a secret yet, with a stand-in for it."""
    if planned_secret and not gateway.secret:
        gateway = copy.copy(gateway)
        gateway.secret = _PLANNED_SECRET
    return gateway_description(gateway)


# -- small comparisons -----------------------------------------------------------------------------


def _diff(label: str, live: Any, desired: Any) -> list[str]:
    return [] if live == desired else [f"{label}: {live!r} -> {desired!r}"]


def _header(key: str) -> str:
    return key.rsplit(".", 1)[-1] if key.startswith("integration.request.header.") else key


def _params_diff(live: Mapping[str, str] | None, desired: Mapping[str, str]) -> list[str]:
    """Which request parameters change, by name only (values can hold the secret)."""
    live = dict(live or {})
    added = sorted(_header(k) for k in desired.keys() - live.keys())
    removed = sorted(_header(k) for k in live.keys() - desired.keys())
    changed = sorted(_header(k) for k in desired.keys() & live.keys() if desired[k] != live[k])
    if not (added or removed or changed):
        return []
    parts = [f"+{k}" for k in added] + [f"-{k}" for k in removed] + [f"~{k}" for k in changed]
    return [f"request parameters: {', '.join(parts)}"]


def _tags_diff(
    live: Mapping[str, str], desired: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """(tags to set, tag keys to remove), ignoring keys AWS reserves."""
    live = {k: v for k, v in live.items() if not k.startswith("aws:")}
    to_set = {k: v for k, v in desired.items() if live.get(k) != v}
    to_remove = sorted(live.keys() - desired.keys())
    return to_set, to_remove


def _tag_details(
    to_set: Mapping[str, str], to_remove: list[str], live: Mapping[str, str]
) -> tuple[str, ...]:
    details = [f"{'~' if k in live else '+'}{k}={v}" for k, v in sorted(to_set.items())]
    details += [f"-{k}" for k in to_remove]
    return tuple(details)


def integration_kwargs(integration: Integration) -> dict[str, Any]:
    """The parameters of CreateIntegration/UpdateIntegration for ``integration``."""
    return {
        "ConnectionType": "INTERNET",
        "IntegrationMethod": integration.method,
        "IntegrationType": integration.integration_type,
        "IntegrationUri": integration.uri,
        "PassthroughBehavior": "WHEN_NO_MATCH",
        "PayloadFormatVersion": "1.0",
        "RequestParameters": dict(integration.request_parameters),
        "TimeoutInMillis": integration.timeout_ms,
    }


def _integration_diff(live: Mapping[str, Any], integration: Integration) -> list[str]:
    diffs = _diff("uri", live.get("IntegrationUri"), integration.uri)
    diffs += _diff("method", live.get("IntegrationMethod"), integration.method)
    diffs += _diff("type", live.get("IntegrationType"), integration.integration_type)
    diffs += _diff("timeout", live.get("TimeoutInMillis"), integration.timeout_ms)
    diffs += _diff("connection type", live.get("ConnectionType") or "INTERNET", "INTERNET")
    diffs += _params_diff(live.get("RequestParameters"), integration.request_parameters)
    return diffs


def route_kwargs(route: Route, integration_id: str) -> dict[str, Any]:
    """The parameters of CreateRoute/UpdateRoute for ``route``."""
    kwargs: dict[str, Any] = {
        "ApiKeyRequired": False,
        "AuthorizationType": "NONE",
        "RouteKey": route.route_key,
        "Target": f"integrations/{integration_id}",
    }
    if route.two_way:
        kwargs["RouteResponseSelectionExpression"] = ROUTE_RESPONSE_KEY
    return kwargs


def _route_diff(live: Mapping[str, Any], route: Route, integration_id: str) -> list[str]:
    diffs = _diff("target", live.get("Target"), f"integrations/{integration_id}")
    diffs += _diff("authorization", live.get("AuthorizationType") or "NONE", "NONE")
    if route.two_way:
        diffs += _diff(
            "route response selection",
            live.get("RouteResponseSelectionExpression"),
            ROUTE_RESPONSE_KEY,
        )
    return diffs


# -- the API ---------------------------------------------------------------------------------------


def _api_arn(run: Run) -> str:
    return run.apigateway_arn(f"/apis/{run.gateway.api_id}")


def converge_api(run: Run, desired: Gateway) -> bool:
    """Create or update the API and its tags. ``True`` when the API exists (or, in a plan, will
    exist only after apply: then ``False``)."""
    gateway = run.gateway
    live: dict[str, Any] | None = None
    if gateway.api_id:
        live = run.read("read API", lambda: run.api.get_api(ApiId=gateway.api_id), missing_ok=True)
        if live is None:
            # The recorded API is gone (deleted outside of us): the row must say so.
            run.record(api_id="", api_endpoint="", deployment_id="", api_created=False)
            if not run.dry_run:
                gateway.additional_routes.update(deployed=False)
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
        run.record(api_id=api_id, api_endpoint=text(created, "ApiEndpoint"))
        return True
    diffs = _diff("name", live.get("Name"), desired.name)
    diffs += _diff("description", live.get("Description") or "", desired.description)
    diffs += _diff(
        "route selection",
        live.get("RouteSelectionExpression"),
        desired.route_selection_expression,
    )
    diffs += _diff(
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


def converge_tags(
    run: Run,
    resource: str,
    name: str,
    arn: str,
    live: Mapping[str, str],
    desired: Mapping[str, str],
) -> None:
    to_set, to_remove = _tags_diff(live, desired)
    if not (to_set or to_remove):
        return

    def call() -> None:
        if to_set:
            run.api.tag_resource(ResourceArn=arn, Tags=to_set)
        if to_remove:
            run.api.untag_resource(ResourceArn=arn, TagKeys=to_remove)

    run.change(
        Change("update", f"{resource} tags", name, _tag_details(to_set, to_remove, live)), call
    )


# -- integrations, routes and route responses ------------------------------------------------------


def converge_route(
    run: Run,
    route: Route,
    live_route: dict[str, Any] | None,
    integrations: Mapping[str, dict[str, Any]],
    used: set[str],
) -> bool:
    """Make one route, its integration and (two-way) its route response match. ``True`` when
    anything changed (the stage then needs a new deployment)."""
    api_id = run.gateway.api_id
    key = route.route_key
    changed = False
    target = (live_route or {}).get("Target") or ""
    integration_id = target.split("/", 1)[1] if target.startswith("integrations/") else ""
    live_integration = integrations.get(integration_id)
    kwargs = integration_kwargs(route.integration)
    if live_integration is None:
        change = Change("create", "integration", key, (f"uri {route.integration.uri}",))
        created = run.change(change, lambda: run.api.create_integration(ApiId=api_id, **kwargs))
        integration_id = (
            run.created_id(created, "IntegrationId", change) if created is not None else "(new)"
        )
        changed = True
    else:
        diffs = _integration_diff(live_integration, route.integration)
        if diffs:
            run.change(
                Change("update", "integration", key, tuple(diffs)),
                lambda: run.api.update_integration(
                    ApiId=api_id, IntegrationId=integration_id, **kwargs
                ),
            )
            changed = True
    used.add(integration_id)
    wanted = route_kwargs(route, integration_id)
    route_id = ""
    if live_route is None:
        change = Change("create", "route", key, ("two-way",) if route.two_way else ())
        created = run.change(change, lambda: run.api.create_route(ApiId=api_id, **wanted))
        route_id = run.created_id(created, "RouteId", change) if created is not None else ""
        changed = True
        responses: list[dict[str, Any]] = []
    else:
        route_id = text(live_route, "RouteId")
        diffs = _route_diff(live_route, route, integration_id)
        if diffs:
            run.change(
                Change("update", "route", key, tuple(diffs)),
                lambda: run.api.update_route(ApiId=api_id, RouteId=route_id, **wanted),
            )
            changed = True
        responses = (
            list(
                run.items(
                    f"read route responses of {key}",
                    "get_route_responses",
                    ApiId=api_id,
                    RouteId=route_id,
                )
            )
            if route.two_way
            else []
        )
    if route.two_way and not any(
        r.get("RouteResponseKey") == ROUTE_RESPONSE_KEY for r in responses
    ):
        run.change(
            Change("create", "route response", f"{key} {ROUTE_RESPONSE_KEY}"),
            lambda: run.api.create_route_response(
                ApiId=api_id, RouteId=route_id, RouteResponseKey=ROUTE_RESPONSE_KEY
            ),
        )
        changed = True
    return changed


def _live_routes(run: Run) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    api_id = run.gateway.api_id
    routes = {text(r, "RouteKey"): r for r in run.items("read routes", "get_routes", ApiId=api_id)}
    integrations = {
        text(i, "IntegrationId"): i
        for i in run.items("read integrations", "get_integrations", ApiId=api_id)
    }
    return routes, integrations


def converge_routes(run: Run, desired: Gateway, api_exists: bool) -> bool:
    """Every desired route; then delete routes and integrations the description does not have.
    ``True`` when anything changed."""
    if not api_exists:
        used: set[str] = set()
        for route in desired.routes:
            converge_route(run, route, None, {}, used)
        return True
    api_id = run.gateway.api_id
    live_routes, integrations = _live_routes(run)
    changed = False
    used = set()
    for route in desired.routes:
        changed |= converge_route(run, route, live_routes.get(route.route_key), integrations, used)
    wanted_keys = {route.route_key for route in desired.routes}
    for key, live in sorted(live_routes.items()):
        if key in wanted_keys:
            continue
        route_id = text(live, "RouteId")
        run.change(
            Change("delete", "route", key, ("not in the description",)),
            partial(run.api.delete_route, ApiId=api_id, RouteId=route_id),
        )
        changed = True
    for integration_id, live in sorted(integrations.items()):
        if integration_id in used:
            continue
        run.change(
            Change(
                "delete",
                "integration",
                integration_id,
                (f"uri {live.get('IntegrationUri')}", "no route uses it"),
            ),
            partial(run.api.delete_integration, ApiId=api_id, IntegrationId=integration_id),
        )
        changed = True
    return changed


def upsert_one_route(run: Run, route: Route) -> bool:
    """Create or update one route (and its integration) without touching the others."""
    live_routes, integrations = _live_routes(run)
    return converge_route(run, route, live_routes.get(route.route_key), integrations, set())


# -- stage and deployment --------------------------------------------------------------------------


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
                tuple(_diff("description", live.get("Description") or "", stage.description)),
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


# -- custom domain, API mapping and DNS ------------------------------------------------------------


def _domain_config(live: Mapping[str, Any]) -> dict[str, Any]:
    configs = live.get("DomainNameConfigurations")
    if isinstance(configs, list) and configs and isinstance(configs[0], dict):
        return dict(configs[0])
    return {}


def _domain_arn(run: Run, live: Mapping[str, Any], domain_name: str) -> str:
    return text(dict(live), "DomainNameArn") or run.apigateway_arn(f"/domainnames/{domain_name}")


def _alias_name(name: str) -> str:
    return name.lower().rstrip(".")


def converge_domain(run: Run, desired: CustomDomain) -> None:
    """The custom domain, its tags, the root API mapping to the stage and the DNS alias."""
    gateway = run.gateway
    name = desired.domain_name
    configuration = {
        "CertificateArn": desired.certificate_arn,
        "EndpointType": desired.endpoint_type,
        "SecurityPolicy": desired.security_policy,
    }
    live = run.read(
        "read domain name",
        lambda: run.api.get_domain_name(DomainName=name),
        missing_ok=True,
    )
    if live is None:
        if gateway.custom_domain_created or gateway.api_mapping_id:
            run.record(custom_domain_created=False, api_mapping_id="", api_gateway_domain_name="")

        def create() -> dict[str, Any]:
            created = (
                as_dict(
                    run.api.create_domain_name(
                        DomainName=name, DomainNameConfigurations=[configuration]
                    )
                )
                or {}
            )
            if desired.tags:
                run.api.tag_resource(
                    ResourceArn=_domain_arn(run, created, name), Tags=dict(desired.tags)
                )
            return created

        details = (f"certificate {desired.certificate_arn}", desired.endpoint_type)
        live = run.change(Change("create", "domain name", name, details), create)
    else:
        config = _domain_config(live)
        diffs = _diff("certificate", config.get("CertificateArn"), desired.certificate_arn)
        diffs += _diff("endpoint type", config.get("EndpointType"), desired.endpoint_type)
        diffs += _diff(
            "security policy", config.get("SecurityPolicy") or "TLS_1_2", desired.security_policy
        )
        if diffs:
            updated = run.change(
                Change("update", "domain name", name, tuple(diffs)),
                lambda: run.api.update_domain_name(
                    DomainName=name, DomainNameConfigurations=[configuration]
                ),
            )
            live = updated or live
        arn = _domain_arn(run, live, name)
        tags = run.read("read domain name tags", lambda: run.api.get_tags(ResourceArn=arn))
        converge_tags(run, "domain name", name, arn, (tags or {}).get("Tags") or {}, desired.tags)
    target = _domain_config(live or {})
    if live is not None and target.get("ApiGatewayDomainName") != gateway.api_gateway_domain_name:
        run.record(api_gateway_domain_name=str(target.get("ApiGatewayDomainName") or ""))
    converge_mapping(run, desired, domain_exists=live is not None)
    if desired.hosted_zone_id:
        converge_dns(run, desired, target)
    if not gateway.custom_domain_created:
        run.record(custom_domain_created=True)


def converge_mapping(run: Run, desired: CustomDomain, domain_exists: bool) -> None:
    gateway = run.gateway
    name = desired.domain_name
    stage = gateway.stage_name or "production"
    mappings: list[dict[str, Any]] = []
    if domain_exists:
        mappings = list(run.items("read API mappings", "get_api_mappings", DomainName=name))
    root = next(
        (m for m in mappings if (m.get("ApiMappingKey") or "") == desired.mapping_key), None
    )
    if root is not None and root.get("ApiId") != gateway.api_id:
        raise ProvisioningError(
            f"update API mapping {name}",
            f"{name} is already mapped to another API ({root.get('ApiId')}); remove that "
            "mapping or choose another domain name",
            list(run.changes),
        )
    if root is None:
        change = Change("create", "API mapping", name, (f"stage {stage}",))
        created = run.change(
            change,
            lambda: run.api.create_api_mapping(
                ApiId=gateway.api_id,
                ApiMappingKey=desired.mapping_key,
                DomainName=name,
                Stage=stage,
            ),
        )
        if created is not None:
            run.record(api_mapping_id=run.created_id(created, "ApiMappingId", change))
        return
    mapping_id = text(root, "ApiMappingId")
    if root.get("Stage") != stage:
        run.change(
            Change("update", "API mapping", name, tuple(_diff("stage", root.get("Stage"), stage))),
            lambda: run.api.update_api_mapping(
                ApiId=gateway.api_id, ApiMappingId=mapping_id, DomainName=name, Stage=stage
            ),
        )
    if mapping_id != gateway.api_mapping_id:
        run.record(api_mapping_id=mapping_id)


def _find_record(run: Run, zone_id: str, name: str) -> dict[str, Any] | None:
    found = run.read(
        "read DNS records",
        lambda: run.route53.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=name, StartRecordType="A", MaxItems="1"
        ),
    )
    records = (found or {}).get("ResourceRecordSets")
    for record in records if isinstance(records, list) else []:
        if _alias_name(text(record, "Name")) == name and record.get("Type") == "A":
            return dict(record)
    return None


def converge_dns(run: Run, desired: CustomDomain, target: Mapping[str, Any]) -> None:
    """An alias ``A`` record for the domain pointing at API Gateway's name for it."""
    name = desired.domain_name
    zone_id = desired.hosted_zone_id
    dns_name = str(target.get("ApiGatewayDomainName") or "")
    target_zone = str(target.get("HostedZoneId") or "")
    if not run.dry_run and not (dns_name and target_zone):
        raise ProvisioningError(
            f"upsert DNS record {name}",
            "API Gateway did not report the domain's target name and hosted zone "
            "(ApiGatewayDomainName, HostedZoneId); run apply again in a minute",
            list(run.changes),
        )
    live = _find_record(run, zone_id, name)
    alias = (live or {}).get("AliasTarget") or {}
    same = (
        live is not None
        and bool(dns_name)
        and _alias_name(alias.get("DNSName", "")) == _alias_name(dns_name)
        and alias.get("HostedZoneId") == target_zone
    )
    if same:
        return
    action: Any = "create" if live is None else "update"
    run.change(
        Change(action, "DNS record", f"{name} A", (f"alias to {dns_name or '(the new domain)'}",)),
        lambda: run.route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={
                "Comment": "django-aws-api-gateway-websockets",
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": name,
                            "Type": "A",
                            "AliasTarget": {
                                "HostedZoneId": target_zone,
                                "DNSName": dns_name,
                                "EvaluateTargetHealth": False,
                            },
                        },
                    }
                ],
            },
        ),
    )


def delete_dns(run: Run, zone_id: str, name: str, dns_name: str) -> None:
    """Delete the alias record for ``name`` when it points at ``dns_name``."""
    if not dns_name:
        return
    live = _find_record(run, zone_id, name)
    alias = (live or {}).get("AliasTarget") or {}
    if live is None or _alias_name(alias.get("DNSName", "")) != _alias_name(dns_name):
        return
    run.change(
        Change("delete", "DNS record", f"{name} A"),
        lambda: run.route53.change_resource_record_sets(
            HostedZoneId=zone_id,
            ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": live}]},
        ),
    )


def delete_domain(run: Run, name: str, *, hosted_zone_id: str) -> None:
    """Remove this gateway's API mappings from domain ``name``; then, when no other API uses it,
    its DNS alias and the domain itself."""
    gateway = run.gateway
    live = run.read(
        f"read domain name {name}",
        lambda: run.api.get_domain_name(DomainName=name),
        missing_ok=True,
    )
    if live is None:
        return
    mappings = list(run.items(f"read API mappings of {name}", "get_api_mappings", DomainName=name))
    others = [m for m in mappings if not gateway.api_id or m.get("ApiId") != gateway.api_id]
    for mapping in mappings:
        if mapping in others:
            continue
        mapping_id = text(mapping, "ApiMappingId")
        run.change(
            Change("delete", "API mapping", name, (f"stage {mapping.get('Stage')}",)),
            partial(run.api.delete_api_mapping, ApiMappingId=mapping_id, DomainName=name),
        )
    if others:
        return
    if hosted_zone_id:
        delete_dns(
            run, hosted_zone_id, name, str(_domain_config(live).get("ApiGatewayDomainName") or "")
        )
    run.change(
        Change("delete", "domain name", name),
        lambda: run.api.delete_domain_name(DomainName=name),
    )


def remove_stale_domains(run: Run, keep: str) -> None:
    """Domains other than ``keep`` that still map to this gateway's API, left over from an
    earlier ``domain_name``: their mappings go, and the domains nothing else uses."""
    api_id = run.gateway.api_id
    for domain in run.items("read domain names", "get_domain_names"):
        name = str(domain.get("DomainName") or "")
        if not name or name == keep:
            continue
        mappings = list(
            run.items(f"read API mappings of {name}", "get_api_mappings", DomainName=name)
        )
        if any(m.get("ApiId") == api_id for m in mappings):
            delete_domain(run, name, hosted_zone_id=run.gateway.hosted_zone_id)
    if not keep and (run.gateway.custom_domain_created or run.gateway.api_mapping_id):
        run.record(custom_domain_created=False, api_mapping_id="", api_gateway_domain_name="")


# -- the whole gateway -----------------------------------------------------------------------------


def ensure_secret(run: Run) -> None:
    if run.gateway.secret:
        return
    run.change(
        Change("create", "secret", SECRET_HEADER, ("stored in the database, sent by API Gateway",)),
        lambda: None,
    )
    run.record(secret=run.gateway.generate_secret())


def rotate_secret(run: Run) -> None:
    """A new secret; the current one becomes ``previous_secret``, accepted by the view for
    ``WEBSOCKETS["secret_rotation_window_seconds"]`` while AWS deploys the new one."""
    from django.utils import timezone

    from ..conf import conf

    window = conf.secret_rotation_window_seconds
    run.change(
        Change(
            "update",
            "secret",
            SECRET_HEADER,
            (f"the previous value stays accepted for {window}s",),
        ),
        lambda: None,
    )
    run.record(
        secret=run.gateway.generate_secret(),
        previous_secret=run.gateway.secret,
        secret_rotated_at=timezone.now(),
    )


def validate(run: Run, parts: frozenset[str]) -> None:
    from django.core.exceptions import ValidationError

    gateway = run.gateway
    try:
        gateway.full_clean(validate_unique=False)
    except ValidationError as error:
        raise ProvisioningError("validate gateway", "; ".join(error.messages)) from error
    if "api" in parts and not gateway.target_base_endpoint:
        raise ProvisioningError(
            "validate gateway",
            "target_base_endpoint is empty: set it to the URL the routes are served under "
            "(e.g. https://www.example.com/ws/)",
        )
    if "domain" in parts and gateway.domain_name and not gateway.certificate_arn:
        raise ProvisioningError(
            "validate gateway", f"domain_name {gateway.domain_name} needs a certificate_arn"
        )


def converge(run: Run, parts: frozenset[str] = ALL_PARTS) -> None:
    """Plan (dry run) or apply: make AWS match the gateway's description."""
    validate(run, parts)
    gateway = run.gateway
    if "api" in parts:
        ensure_secret(run)
    elif not gateway.api_id:
        raise ProvisioningError(
            "read API", "the API is not created yet: apply the API first", list(run.changes)
        )
    desired = describe(gateway, planned_secret=run.dry_run)
    if parts == {"domain"} and desired.domain is None:
        raise ProvisioningError(
            "validate gateway", "a custom domain needs both domain_name and certificate_arn"
        )
    serving: dict[str, str] = {}
    if "api" in parts:
        api_exists = converge_api(run, desired)
        routes_changed = converge_routes(run, desired, api_exists)
        serving = converge_stage(run, desired, api_exists, routes_changed)
    else:
        # The domain alone: the API is taken as recorded (if it is gone, creating the mapping
        # fails with AWS's NotFoundException, naming that step).
        api_exists = True
    if "domain" in parts:
        if desired.domain is not None:
            converge_domain(run, desired.domain)
        if api_exists:
            remove_stale_domains(run, desired.domain.domain_name if desired.domain else "")
    if "api" in parts and api_exists:
        remove_extra_stages(run, desired, serving)
        prune_deployments(run, serving)


def teardown(run: Run) -> None:
    """Delete the gateway's resources in dependency order: DNS alias, API mapping, custom
    domain, then the API (which takes its routes, integrations, stages and deployments)."""
    gateway = run.gateway
    api_exists = False
    current = gateway.domain_name.lower().rstrip(".")
    if current:
        delete_domain(run, current, hosted_zone_id=gateway.hosted_zone_id)
    if gateway.api_id:
        api_exists = (
            run.read("read API", lambda: run.api.get_api(ApiId=gateway.api_id), missing_ok=True)
            is not None
        )
        if api_exists:
            remove_stale_domains(run, current)
    run.record(custom_domain_created=False, api_mapping_id="", api_gateway_domain_name="")
    if gateway.api_id and api_exists:
        run.change(
            Change("delete", "API", gateway.api_name, (gateway.api_id,)),
            lambda: run.api.delete_api(ApiId=gateway.api_id),
        )
    run.record(api_id="", api_endpoint="", deployment_id="", api_created=False)
    if not run.dry_run:
        gateway.additional_routes.update(deployed=False)
