"""boto3 clients, the region, and the two URLs of a gateway.

``models`` re-exports :func:`get_region_name` and :func:`get_boto3_client`; code inside the
package always reaches the client factory through ``models.get_boto3_client`` so that projects
which patch that attribute in their tests see every AWS call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urlsplit, urlunsplit

import boto3

from .conf import conf

if TYPE_CHECKING:
    from .models import ApiGateway

#: The header API Gateway is configured to send with the gateway's secret on every callback.
SECRET_HEADER = "X-Gateway-Secret"  # noqa: S105 - a header name


def get_region_name() -> str:
    """The AWS region: ``AWS_GATEWAY_REGION_NAME``, else ``AWS_REGION_NAME``."""
    region = conf.region_name
    if not region:
        raise RuntimeError(
            "AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must be set within settings.py"
        )
    return region


def get_boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """A boto3 client for ``service``; extra keyword arguments (``endpoint_url``, ``config``)
    pass through to boto3.

    ``AWS_IAM_PROFILE`` wins (the region then comes from the profile, or from the settings
    when the profile names none);
    otherwise ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` with the configured region;
    otherwise boto3's default credential chain with the configured region.
    """
    name = cast(Any, service)  # boto3-stubs overloads on literal service names
    if conf.iam_profile:
        session = boto3.Session(profile_name=conf.iam_profile)
        if not session.region_name and conf.region_name:
            kwargs.setdefault("region_name", conf.region_name)
        return session.client(name, **kwargs)
    region = get_region_name()
    if conf.access_key_id and conf.secret_access_key:
        return boto3.client(
            name,
            aws_access_key_id=conf.access_key_id,
            aws_secret_access_key=conf.secret_access_key,
            region_name=region,
            **kwargs,
        )
    return boto3.client(name, region_name=region, **kwargs)


def _http_scheme(ws_scheme: str) -> str:
    return {"ws": "http", "wss": "https"}.get(ws_scheme, ws_scheme)


def management_endpoint(gateway: ApiGateway) -> str:
    """The Management API (``@connections``) endpoint of a gateway's stage.

    When the gateway records an ``api_endpoint`` (AWS returns ``wss://{api_id}.execute-api.
    {region}.amazonaws.com``; the local gateway stores its own ``ws://host:port``) the endpoint is
    that URL over HTTP(S) plus the stage. Otherwise it is AWS's address built from ``api_id``
    and the configured region.
    """
    stage = quote(gateway.stage_name or "production", safe="")
    if gateway.api_endpoint:
        parts = urlsplit(gateway.api_endpoint)
        path = parts.path.rstrip("/")
        return urlunsplit((_http_scheme(parts.scheme), parts.netloc, f"{path}/{stage}", "", ""))
    if not gateway.api_id:
        raise ValueError(f"API Gateway {gateway.api_name!r} has no api_id: it was never created")
    return f"https://{gateway.api_id}.execute-api.{get_region_name()}.amazonaws.com/{stage}"


def connect_url(gateway: ApiGateway, channel_name: str = "") -> str | None:
    """The URL a browser opens to connect, or ``None`` while the gateway has no address.

    A custom domain wins (``wss://domain/``) unless a local gateway serves the row (its
    ``ws://`` endpoint); otherwise the gateway's own endpoint and stage, keeping its scheme
    (``wss://`` on AWS, ``ws://`` for a local gateway).
    """
    served_locally = (gateway.api_endpoint or "").startswith("ws://")
    if gateway.domain_name and not served_locally:
        url = f"wss://{gateway.domain_name}/"
    elif gateway.api_endpoint:
        stage = quote(gateway.stage_name or "production", safe="")
        url = f"{gateway.api_endpoint.rstrip('/')}/{stage}"
    elif gateway.api_id and conf.region_name:
        stage = quote(gateway.stage_name or "production", safe="")
        url = f"wss://{gateway.api_id}.execute-api.{conf.region_name}.amazonaws.com/{stage}"
    else:
        return None
    if channel_name:
        url = f"{url}?channel={quote(channel_name, safe='')}"
    return url
