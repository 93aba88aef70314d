"""boto3 clients, the region, the two URLs of a gateway, and one vocabulary for AWS errors.

The patch points. ``models`` re-exports :func:`get_region_name` and :func:`get_boto3_client`
and holds ``boto3``, and projects' test suites patch ``models.get_boto3_client`` (the existing
package's testing docs teach it) or ``models.boto3`` (to block AWS). So every AWS client the
package makes comes from :func:`client`, which looks the factory up there at call time, and
:func:`get_boto3_client` calls the ``boto3`` found there at call time: a patch made after import
is seen by provisioning, reconcile and messaging alike. This module never imports ``models`` at
import time (``models`` imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote, urlsplit, urlunsplit

import boto3 as _real_boto3
from botocore.exceptions import ClientError
from django.db import transaction

from .conf import conf
from .wire import stage_name


class Gateway(Protocol):
    """What this module reads of a gateway: an ``ApiGateway`` row, or anything with its values
    (``messaging`` passes the values its recipients query read), so no import of ``models``."""

    @property
    def api_name(self) -> str: ...
    @property
    def api_id(self) -> str: ...
    @property
    def api_endpoint(self) -> str: ...
    @property
    def stage_name(self) -> str: ...
    @property
    def domain_name(self) -> str: ...


#: The module whose ``get_boto3_client`` attribute is the factory (see the module docstring).
_PATCH_POINT_MODULE = "django_aws_api_gateway_websockets.models"

#: What a Management API client of a local gateway signs with when no credentials are found:
#: the local gateway checks no signature, so sending to it needs no AWS account or credentials.
LOCAL_ACCESS_KEY_ID = "local-gateway"
LOCAL_SECRET_ACCESS_KEY = "local-gateway"  # noqa: S105 (a placeholder, never a secret)
#: The region such a client uses when the settings name none.
LOCAL_REGION = "us-east-1"


def get_region_name() -> str:
    """The AWS region: ``AWS_GATEWAY_REGION_NAME``, else ``AWS_REGION_NAME``."""
    region = conf.region_name
    if not region:
        raise RuntimeError(
            "AWS_GATEWAY_REGION_NAME or AWS_REGION_NAME must be set within settings.py"
        )
    return region


def _patch_point() -> Any:
    return import_module(_PATCH_POINT_MODULE)


def boto3_module() -> Any:
    """The ``boto3`` in force: ``models.boto3``, patched or not."""
    return _patch_point().boto3


def get_boto3_client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """A boto3 client for ``service``; extra keyword arguments (``endpoint_url``, ``config``)
    pass through to boto3 (``models.boto3``, read at call time).

    ``AWS_IAM_PROFILE`` wins (the region then comes from the profile, or from the settings
    when the profile names none);
    otherwise ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` with the configured region;
    otherwise boto3's default credential chain with the configured region.

    A Management API client of a local gateway (an ``http://`` endpoint: see
    :func:`served_locally`) for which neither the settings nor boto3's default chain give
    credentials signs with placeholder keys and, when no region is configured, ``us-east-1``:
    the local gateway checks no signature, so it never needs AWS credentials.
    """
    name = cast(Any, service)  # boto3-stubs overloads on literal service names
    boto3 = boto3_module()
    has_keys = bool(conf.access_key_id and conf.secret_access_key)
    if (
        not conf.iam_profile
        and not has_keys
        and _local_management_api(service, kwargs)
        and _default_session(boto3).get_credentials() is None
    ):
        return boto3.client(
            name,
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
            region_name=conf.region_name or LOCAL_REGION,
            **kwargs,
        )
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


def _default_session(boto3: Any) -> Any:
    """The default session of ``boto3`` (what ``boto3.client`` uses), made when there is none."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    return boto3.DEFAULT_SESSION


def served_locally(api_endpoint: str) -> bool:
    """Whether a gateway's ``api_endpoint`` is a local gateway's (``ws://``; AWS's are
    ``wss://``)."""
    return (api_endpoint or "").startswith("ws://")


def _local_management_api(service: str, kwargs: dict[str, Any]) -> bool:
    """A Management API client for a local gateway: :func:`management_endpoint` turns its
    ``ws://`` endpoint into ``http://`` (AWS's is always ``https://``)."""
    endpoint = str(kwargs.get("endpoint_url") or "")
    return service == "apigatewaymanagementapi" and endpoint.startswith("http://")


def factory() -> Any:
    """The client factory in force: ``models.get_boto3_client``, patched or not."""
    return _patch_point().get_boto3_client


def factory_is_patched() -> bool:
    """Whether a project (or a test) replaced ``models.get_boto3_client`` or ``models.boto3``:
    the clients are then test doubles, which get every call made exactly as before."""
    return factory() is not get_boto3_client or boto3_module() is not _real_boto3


#: Set on a replacement factory that answers as AWS would (see :func:`behaves_like_aws`).
_LIKE_AWS = "_aws_websockets_behaves_like_aws"

F = TypeVar("F", bound=Callable[..., Any])


def behaves_like_aws(replacement: F) -> F:
    """Mark a replacement factory as faithful to AWS (the package's own
    ``testing.capture_messages``): unlike a project's test double, it is not given the existing
    package's URL for a gateway that was never created (such a row is reported as failed)."""
    setattr(replacement, _LIKE_AWS, True)
    return replacement


def test_double_in_force() -> bool:
    """Whether ``models.get_boto3_client`` or ``models.boto3`` is a project's test double
    (patched, and not marked :func:`behaves_like_aws`)."""
    return factory_is_patched() and getattr(factory(), _LIKE_AWS, False) is not True


def client(service: str = "apigatewayv2", **kwargs: Any) -> Any:
    """A client for ``service`` from the factory in force; the one way the package gets one."""
    return factory()(service, **kwargs)


def run_aws_after_commit(func: Callable[[], Any], using: str | None = None) -> None:
    """Run ``func`` (an AWS call) once the current transaction of ``using`` commits; at once
    outside a transaction (release 4.1's name)."""
    transaction.on_commit(func, using=using)


def error_code(error: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``"ClientError"`` when AWS gave none), else the
    exception's type name."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "") or "ClientError")
    return type(error).__name__


def http_status(error: BaseException) -> int | None:
    """The HTTP status AWS answered with, when ``error`` is a ``ClientError`` that has one."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def describe_error(error: BaseException, *, detail: bool = False) -> str:
    """``error`` in one line: ``AWS error <Code> in <Operation>`` for a ``ClientError``, else the
    exception's type name. Safe to show anyone: no message unless ``detail`` is asked for (AWS's
    message, or the exception's text), which callers redact of secrets before showing it."""
    if isinstance(error, ClientError):
        operation = getattr(error, "operation_name", "") or ""
        text = f"AWS error {error_code(error)}" + (f" in {operation}" if operation else "")
        message = str(error.response.get("Error", {}).get("Message", "") or "") if detail else ""
    else:
        text = type(error).__name__
        message = str(error) if detail else ""
    return f"{text}: {message}" if message else text


def _http_scheme(ws_scheme: str) -> str:
    return {"ws": "http", "wss": "https"}.get(ws_scheme, ws_scheme)


def management_endpoint(gateway: Gateway) -> str:
    """The Management API (``@connections``) endpoint of a gateway's stage.

    When the gateway records an ``api_endpoint`` (AWS returns ``wss://{api_id}.execute-api.
    {region}.amazonaws.com``; the local gateway stores its own ``ws://host:port``) the endpoint is
    that URL over HTTP(S) plus the stage. Otherwise it is AWS's address built from ``api_id``
    and the configured region; without an ``api_id`` that is a ``ValueError``, except for a
    project's test double (see :func:`test_double_in_force`), which gets the address as the
    existing package built it.
    """
    stage = quote(stage_name(gateway), safe="")
    if gateway.api_endpoint:
        parts = urlsplit(gateway.api_endpoint)
        path = parts.path.rstrip("/")
        return urlunsplit((_http_scheme(parts.scheme), parts.netloc, f"{path}/{stage}", "", ""))
    if not gateway.api_id and not test_double_in_force():
        # A patched factory is a test double: it gets the URL the existing package built,
        # even for a gateway that was never created.
        raise ValueError(f"API Gateway {gateway.api_name!r} has no api_id: it was never created")
    return f"https://{gateway.api_id}.execute-api.{get_region_name()}.amazonaws.com/{stage}"


def connect_url(gateway: Gateway, channel_name: str = "") -> str | None:
    """The URL a browser opens to connect, or ``None`` while the gateway has no address.

    A custom domain wins (``wss://domain/``) unless a local gateway serves the row (its
    ``ws://`` endpoint); otherwise the gateway's own endpoint and stage, keeping its scheme
    (``wss://`` on AWS, ``ws://`` for a local gateway).
    """
    if gateway.domain_name and not served_locally(gateway.api_endpoint):
        url = f"wss://{gateway.domain_name}/"
    elif gateway.api_endpoint:
        stage = quote(stage_name(gateway), safe="")
        url = f"{gateway.api_endpoint.rstrip('/')}/{stage}"
    elif gateway.api_id and conf.region_name:
        stage = quote(stage_name(gateway), safe="")
        url = f"wss://{gateway.api_id}.execute-api.{conf.region_name}.amazonaws.com/{stage}"
    else:
        return None
    if channel_name:
        url = f"{url}?channel={quote(channel_name, safe='')}"
    return url
