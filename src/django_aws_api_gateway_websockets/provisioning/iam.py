"""Least-privilege IAM policies for the configured gateways.

- **deploy** (whoever runs ``plan``/``apply``/``teardown``): API Gateway's control plane on the
  gateways' own APIs, their custom domains and tags, and Route 53 record changes limited to the
  gateways' domain names (``A`` records) in their hosted zones.
- **runtime** (the Django site): ``execute-api:ManageConnections`` to post to connections of
  the gateways' stages, and nothing else.

API Gateway's control-plane permissions are HTTP verbs on resource paths
(``arn:aws:apigateway:{region}::/apis/{api_id}/...``). A gateway that has no ``api_id`` yet can
only be granted ``/apis/*``: print the policy again after the first apply for a tighter one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..models import ApiGateway

POLICY_VERSION = "2012-10-17"


def _arn(partition: str, region: str, path: str) -> str:
    return f"arn:{partition}:apigateway:{region}::{path}"


def deploy_policy(
    gateways: Iterable[ApiGateway], *, region: str, partition: str = "aws"
) -> dict[str, Any]:
    """The policy provisioning needs for ``gateways``."""
    gateways = list(gateways)
    api_resources: list[str] = []
    for gateway in gateways:
        if gateway.api_id:
            api_resources += [
                _arn(partition, region, f"/apis/{gateway.api_id}"),
                _arn(partition, region, f"/apis/{gateway.api_id}/*"),
            ]
        else:
            api_resources = [_arn(partition, region, "/apis/*")]
            break
    domains = sorted({g.domain_name.lower().rstrip(".") for g in gateways if g.domain_name})
    statements: list[dict[str, Any]] = [
        {
            # GET lists the APIs, to find one an interrupted run created (by its row tag).
            "Sid": "CreateApis",
            "Effect": "Allow",
            "Action": ["apigateway:GET", "apigateway:POST"],
            "Resource": [_arn(partition, region, "/apis")],
        },
        {
            "Sid": "ManageTheGatewaysApis",
            "Effect": "Allow",
            "Action": [
                "apigateway:GET",
                "apigateway:POST",
                "apigateway:PATCH",
                "apigateway:DELETE",
            ],
            "Resource": sorted(set(api_resources)),
        },
        {
            "Sid": "TagTheGatewaysResources",
            "Effect": "Allow",
            "Action": ["apigateway:GET", "apigateway:POST", "apigateway:DELETE"],
            "Resource": [_arn(partition, region, "/tags/*")],
        },
        {
            # Listing domains finds ones an earlier domain_name left mapped to the API.
            "Sid": "ListCustomDomains",
            "Effect": "Allow",
            "Action": ["apigateway:GET"],
            "Resource": [
                _arn(partition, region, "/domainnames"),
                _arn(partition, region, "/domainnames/*"),
            ],
        },
    ]
    if domains:
        statements.append(
            {
                "Sid": "ManageTheGatewaysDomains",
                "Effect": "Allow",
                "Action": [
                    "apigateway:GET",
                    "apigateway:POST",
                    "apigateway:PATCH",
                    "apigateway:DELETE",
                ],
                "Resource": [_arn(partition, region, "/domainnames")]
                + [
                    arn
                    for domain in domains
                    for arn in (
                        _arn(partition, region, f"/domainnames/{domain}"),
                        _arn(partition, region, f"/domainnames/{domain}/*"),
                    )
                ],
            }
        )
    zones = sorted({g.hosted_zone_id.rsplit("/", 1)[-1] for g in gateways if g.hosted_zone_id})
    if zones:
        statements.append(
            {
                "Sid": "AliasRecordsForTheGatewaysDomains",
                "Effect": "Allow",
                "Action": ["route53:ListResourceRecordSets", "route53:ChangeResourceRecordSets"],
                "Resource": [f"arn:{partition}:route53:::hostedzone/{zone}" for zone in zones],
                "Condition": {
                    "ForAllValues:StringEquals": {
                        "route53:ChangeResourceRecordSetsNormalizedRecordNames": domains,
                        "route53:ChangeResourceRecordSetsRecordTypes": ["A"],
                    }
                },
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def runtime_policy(
    gateways: Iterable[ApiGateway],
    *,
    region: str,
    account_id: str = "*",
    partition: str = "aws",
) -> dict[str, Any]:
    """The policy the Django site needs to send to the connections of ``gateways``."""
    resources = sorted(
        {
            f"arn:{partition}:execute-api:{region}:{account_id}:{g.api_id or '*'}/"
            f"{g.stage_name or 'production'}/POST/@connections/*"
            for g in gateways
        }
    )
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "PostToTheGatewaysConnections",
                "Effect": "Allow",
                "Action": ["execute-api:ManageConnections"],
                "Resource": resources,
            }
        ],
    }
