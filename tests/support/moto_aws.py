"""Test setup shared by the provisioning tests (this module holds no tests itself).

moto 5.2 does not implement some apigatewayv2 operations that provisioning uses. The gaps are
filled HERE, in the test setup, never in the product: :func:`fill_moto_gaps` teaches moto's own
apigatewayv2 backend (so it works both in-process under ``mock_aws`` and through moto's server
mode) the missing calls, with the behaviour AWS documents:

- ``CreateDeployment``/``GetDeployment``/``GetDeployments``/``DeleteDeployment`` (moto answers
  "Not yet implemented"): deployments are kept on moto's API object; ``CreateDeployment`` with a
  ``StageName`` makes that stage serve the new deployment, and ``GetStage(s)`` reports its
  ``DeploymentId``, as AWS does.
- ``GetRouteResponses``, ``UpdateStage``, ``UpdateApiMapping`` and ``UpdateDomainName`` (moto
  raises ``NotImplementedError``).
- In server mode, tagging a custom domain (``TagResource`` on its ARN) is routed.
- ``GetDomainName``/``CreateDomainName`` return each configuration's ``ApiGatewayDomainName``
  and ``HostedZoneId`` (the alias target of the Route 53 record), which moto leaves out.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.apigatewayv2 import models as moto_models
from moto.apigatewayv2 import responses as moto_responses
from moto.apigatewayv2 import urls as moto_urls

from django_aws_api_gateway_websockets import models

REGION = "us-east-1"
#: API Gateway's hosted zone for regional endpoints in us-east-1 (the alias target's zone).
REGIONAL_ZONE_ID = "Z1UJRXOUMOOFQ8"

_EXTRA_PATHS = {
    # Server mode decodes the ARN's %2F before routing; moto routes tags of APIs and VPC links
    # that way, not of domain names.
    "{0}/v2/tags/(?P<resource_arn_pt1>[^/]+)/domainnames/(?P<resource_arn_pt2>[^/]+)$": (
        moto_responses.ApiGatewayV2Response.dispatch
    ),
    "{0}/v2/apis/(?P<api_id>[^/]+)/deployments$": moto_responses.ApiGatewayV2Response.dispatch,
    "{0}/v2/apis/(?P<api_id>[^/]+)/deployments/(?P<deployment_id>[^/]+)$": (
        moto_responses.ApiGatewayV2Response.dispatch
    ),
}


def _deployments(api: Any) -> dict[str, dict[str, Any]]:
    if not hasattr(api, "test_deployments"):
        api.test_deployments = {}
    store: dict[str, dict[str, Any]] = api.test_deployments
    return store


def _random_id() -> str:
    return "".join(random.choice(string.ascii_lowercase + string.digits) for _ in range(6))


def _body(response: Any) -> dict[str, Any]:
    return dict(json.loads(response.body or "{}"))


def _create_deployment(self: Any) -> tuple[int, dict[str, str], str]:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    params = _body(self)
    deployment = {
        "deploymentId": _random_id(),
        "deploymentStatus": "DEPLOYED",
        "description": params.get("description", ""),
        "createdDate": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "autoDeployed": False,
    }
    if params.get("stageName"):
        stage = api.get_stage(params["stageName"])  # NotFound, as AWS, for an unknown stage
        stage.test_deployment_id = deployment["deploymentId"]
    _deployments(api)[deployment["deploymentId"]] = deployment
    return 201, {}, json.dumps(deployment)


def _get_deployments(self: Any) -> tuple[int, dict[str, str], str]:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-2])
    return 200, {}, json.dumps({"items": list(_deployments(api).values())})


def _get_deployment(self: Any) -> tuple[int, dict[str, str], str]:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-3])
    deployment = _deployments(api).get(self.path.split("/")[-1])
    if deployment is None:
        return 404, {}, json.dumps({"message": "Invalid Deployment identifier specified"})
    return 200, {}, json.dumps(deployment)


def _delete_deployment(self: Any) -> tuple[int, dict[str, str], str]:
    api = self.apigatewayv2_backend.get_api(self.path.split("/")[-3])
    deployment_id = self.path.split("/")[-1]
    if any(getattr(s, "test_deployment_id", "") == deployment_id for s in api.stages.values()):
        return 400, {}, json.dumps({"message": "Active stages pointing to this deployment"})
    _deployments(api).pop(deployment_id, None)
    return 204, {}, ""


def _get_route_responses(self: Any) -> tuple[int, dict[str, str], str]:
    parts = self.path.split("/")
    route = self.apigatewayv2_backend.get_route(parts[-4], parts[-2])
    items = [r.to_json() for r in route.route_responses.values()]
    return 200, {}, json.dumps({"items": items})


def _update_stage(self: Any) -> tuple[int, dict[str, str], str]:
    parts = self.path.split("/")
    stage = self.apigatewayv2_backend.get_stage(parts[-3], parts[-1])
    params = _body(self)
    if "description" in params:
        stage.description = params["description"]
    return 200, {}, json.dumps(stage.to_json())


def _update_api_mapping(self: Any) -> tuple[int, dict[str, str], str]:
    parts = self.path.split("/")
    mapping = self.apigatewayv2_backend.get_api_mapping(parts[-1], parts[-3])
    params = _body(self)
    mapping.api_id = params.get("apiId", mapping.api_id)
    mapping.stage = params.get("stage", mapping.stage)
    return 200, {}, json.dumps(mapping.to_json())


def _update_domain_name(self: Any) -> tuple[int, dict[str, str], str]:
    domain = self.apigatewayv2_backend.get_domain_name(self.path.split("/")[-1])
    params = _body(self)
    if "domainNameConfigurations" in params:
        domain.domain_name_configurations = params["domainNameConfigurations"]
    return 200, {}, json.dumps(domain.to_json())


def fill_moto_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Teach moto's apigatewayv2 backend the calls it lacks (see the module docstring)."""
    response = moto_responses.ApiGatewayV2Response
    for name, handler in {
        "create_deployment": _create_deployment,
        "get_deployments": _get_deployments,
        "get_deployment": _get_deployment,
        "delete_deployment": _delete_deployment,
        "get_route_responses": _get_route_responses,
        "update_stage": _update_stage,
        "update_api_mapping": _update_api_mapping,
        "update_domain_name": _update_domain_name,
    }.items():
        monkeypatch.setattr(response, name, handler, raising=False)
    for path, handler in _EXTRA_PATHS.items():
        monkeypatch.setitem(moto_urls.url_paths, path, handler)

    stage_to_json = moto_models.Stage.to_json

    def stage_json(self: Any) -> dict[str, Any]:
        data = dict(stage_to_json(self))
        if getattr(self, "test_deployment_id", ""):
            data["deploymentId"] = self.test_deployment_id
        return data

    monkeypatch.setattr(moto_models.Stage, "to_json", stage_json)

    domain_to_json = moto_models.DomainName.to_json

    def domain_json(self: Any) -> dict[str, Any]:
        data = dict(domain_to_json(self))
        digest = hashlib.sha256(self.domain_name.encode()).hexdigest()[:10]
        data["domainNameConfigurations"] = [
            {
                "apiGatewayDomainName": f"d-{digest}.execute-api.{REGION}.amazonaws.com",
                "hostedZoneId": REGIONAL_ZONE_ID,
                "domainNameStatus": "AVAILABLE",
                **config,
            }
            for config in data["domainNameConfigurations"]
        ]
        return data

    monkeypatch.setattr(moto_models.DomainName, "to_json", domain_json)


# -- clients ---------------------------------------------------------------------------------------


def plain_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


def use_client_factory(
    monkeypatch: pytest.MonkeyPatch,
    *,
    endpoint_url: str | None = None,
    on_client: Callable[[Any], None] | None = None,
) -> list[Any]:
    """Patch ``models.get_boto3_client`` (as users do) and return the list of clients it made.
    ``endpoint_url`` sends every call to a moto server; ``on_client`` sees each new client."""
    made: list[Any] = []

    def factory(service: str = "apigatewayv2", **kwargs: Any) -> Any:
        if endpoint_url is not None:
            kwargs["endpoint_url"] = endpoint_url
        client = plain_client(service, **kwargs)
        if on_client is not None:
            on_client(client)
        made.append(client)
        return client

    monkeypatch.setattr(models, "get_boto3_client", factory)
    return made


def _on_nth_call(when: str, operation: str, nth: int, act: Callable[[], None]) -> Any:
    """An ``on_client`` hook running ``act`` at the ``nth`` call of ``operation``, ``before``
    it leaves the client or ``after`` AWS answered it (botocore's ``before-call`` and
    ``after-call`` events)."""
    calls = {"n": 0}

    def hook(client: Any) -> None:
        service = client.meta.service_model.service_name

        def on_call(**_: Any) -> None:
            calls["n"] += 1
            if calls["n"] == nth:
                act()

        client.meta.events.register(f"{when}-call.{service}.{operation}", on_call)

    return hook


def fail_on_call(operation: str, nth: int = 1, code: str = "TooManyRequestsException") -> Any:
    """An ``on_client`` hook making the ``nth`` call of ``operation`` (e.g. ``CreateRoute``)
    fail with ``code``, as AWS would, before the request leaves the client."""

    def fail() -> None:
        raise ClientError({"Error": {"Code": code, "Message": "Injected failure"}}, operation)

    return _on_nth_call("before", operation, nth, fail)


class Killed(BaseException):
    """The process died here: a BaseException, which no ``except Exception`` of the package
    catches, so nothing runs after the call (see :func:`kill_after_call`)."""


def kill_after_call(operation: str, nth: int = 1) -> Any:
    """An ``on_client`` hook: the ``nth`` ``operation`` reaches AWS and is done, then the
    process "dies" (:class:`Killed` is raised where the answer would be read)."""

    def die() -> None:
        raise Killed(operation)

    return _on_nth_call("after", operation, nth, die)


# -- what exists -----------------------------------------------------------------------------------


def inventory(client: Any, api_id: str) -> dict[str, Any]:
    """Everything that exists under ``api_id``, in a shape easy to assert on."""
    routes = client.get_routes(ApiId=api_id)["Items"]
    integrations = {i["IntegrationId"]: i for i in client.get_integrations(ApiId=api_id)["Items"]}
    by_key = {}
    for route in routes:
        integration_id = route.get("Target", "").split("/", 1)[-1]
        integration = integrations.get(integration_id, {})
        responses = client.get_route_responses(ApiId=api_id, RouteId=route["RouteId"])["Items"]
        by_key[route["RouteKey"]] = {
            "uri": integration.get("IntegrationUri"),
            "params": integration.get("RequestParameters") or {},
            "responses": sorted(r["RouteResponseKey"] for r in responses),
            "selection": route.get("RouteResponseSelectionExpression"),
        }
    stages = client.get_stages(ApiId=api_id)["Items"]
    return {
        "routes": by_key,
        "route_count": len(routes),
        "integration_count": len(integrations),
        "stages": {s["StageName"]: s.get("DeploymentId") for s in stages},
        "deployments": [d["DeploymentId"] for d in client.get_deployments(ApiId=api_id)["Items"]],
        "tags": client.get_api(ApiId=api_id).get("Tags", {}),
    }


def deployed_gateway(api_name: str = "Chat", base: str = "https://www.example.com/ws/") -> Any:
    """A new ``ApiGateway`` row with its API applied (routes, stage, deployment) in whichever
    AWS the test has in force (moto in-process or a patched factory), read back from the row."""
    from django_aws_api_gateway_websockets import provisioning
    from django_aws_api_gateway_websockets.models import ApiGateway

    row = ApiGateway.objects.create(api_name=api_name, target_base_endpoint=base)
    provisioning.apply(row, parts={"api"})
    return ApiGateway.objects.get(pk=row.pk)
