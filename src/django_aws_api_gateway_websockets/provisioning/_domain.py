"""The custom domain, its API mapping to the stage, and its Route 53 DNS alias.

The domain is found by name, the mapping by its key on the domain and the DNS record by name.
A domain another API still uses is never deleted: only this gateway's mappings on it are.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from ..routes import CustomDomain
from ..wire import stage_name
from . import _status
from ._compare import converge_tags, diff
from ._run import NOT_A_RESPONSE, Change, ProvisioningError, Run, as_dict, text


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
        not_a_response=NOT_A_RESPONSE,
    )
    # A test double's answer: create the domain as the existing package did, but keep the ids
    # the row has (nothing says they are gone).
    unanswered = live is NOT_A_RESPONSE
    if unanswered:
        live = None
    if live is None:
        if not unanswered and (gateway.custom_domain_created or gateway.api_mapping_id):
            forget_domain(run)

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
        diffs = diff("certificate", config.get("CertificateArn"), desired.certificate_arn)
        diffs += diff("endpoint type", config.get("EndpointType"), desired.endpoint_type)
        diffs += diff(
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
    target_name = str(target.get("ApiGatewayDomainName") or "")
    if live is not None and target_name and target_name != gateway.api_gateway_domain_name:
        run.record(api_gateway_domain_name=target_name)
    _status.advance(run, "domain_created")
    converge_mapping(run, desired, domain_exists=live is not None)
    if desired.hosted_zone_id:
        converge_dns(run, desired, target)
    if not gateway.custom_domain_created:
        run.record(custom_domain_created=True)


def converge_mapping(run: Run, desired: CustomDomain, domain_exists: bool) -> None:
    gateway = run.gateway
    name = desired.domain_name
    stage = stage_name(gateway)
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
        mapping_id = None if created is None else run.created_id(created, "ApiMappingId", change)
        if mapping_id is not None:
            run.record(api_mapping_id=mapping_id)
        return
    mapping_id = text(root, "ApiMappingId")
    if root.get("Stage") != stage:
        run.change(
            Change("update", "API mapping", name, tuple(diff("stage", root.get("Stage"), stage))),
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
        forget_domain(run)


def forget_domain(run: Run) -> None:
    """Clear the row's record of its custom domain and API mapping."""
    run.record(custom_domain_created=False, api_mapping_id="", api_gateway_domain_name="")
    _status.fall_back(run, "deployed")
