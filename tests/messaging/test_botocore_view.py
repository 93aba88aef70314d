"""The lean transport's reads of botocore internals still hold on the installed botocore.

``messaging/lean/botocore_view.py`` lists every private attribute of a client it reads and
every ``SigV4Auth`` method the lean signer overrides. If a botocore upgrade renames one, these
tests fail here, by name, instead of the lean transport quietly stepping aside (or signing
wrongly)."""

from __future__ import annotations

import inspect
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth

from django_aws_api_gateway_websockets.messaging.lean import botocore_view, signing
from django_aws_api_gateway_websockets.messaging.lean.route import LeanRoute


def real_client(**kwargs: Any) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://abc.execute-api.eu-west-1.amazonaws.com/prod",
        region_name="eu-west-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
        **kwargs,
    )


@pytest.mark.parametrize("path", botocore_view.CLIENT_ATTRIBUTES)
def test_every_private_client_attribute_read_exists(path: str) -> None:
    obj: Any = real_client()
    walked = []
    for name in path.split("."):
        walked.append(name)
        assert hasattr(obj, name), f"botocore changed: client.{'.'.join(walked)} is gone"
        obj = getattr(obj, name)


def test_what_the_view_reads_is_what_the_client_was_given() -> None:
    client = real_client()
    assert botocore_view.credentials_of(client).access_key == "a"
    assert botocore_view.verify_of(real_client(verify=False)) is False
    assert botocore_view.verify_of(real_client(verify="/some/ca.pem")) == "/some/ca.pem"
    assert botocore_view.cert_file_of(client) is None
    assert botocore_view.proxy_for(client, client.meta.endpoint_url) is None
    assert botocore_view.intercepted(client) is False
    assert LeanRoute.from_client(client) is not None


@pytest.mark.parametrize("name", (*botocore_view.SIGV4_HOOKS, *botocore_view.SIGV4_READS))
def test_every_sigv4_method_the_signer_relies_on_exists(name: str) -> None:
    assert callable(getattr(SigV4Auth, name, None)), f"botocore changed: SigV4Auth.{name} is gone"


def test_add_auth_still_calls_the_overridden_methods() -> None:
    """The lean signer's overrides only take effect if ``add_auth`` (through the methods it
    calls) still goes through them."""
    overridden = set(botocore_view.SIGV4_HOOKS) - {"add_auth"}
    assert overridden <= set(vars(signing.CachedKeySigV4))
    source = "".join(
        inspect.getsource(getattr(SigV4Auth, name))
        for name in (
            "add_auth",
            "canonical_request",
            "string_to_sign",
            "_inject_signature_to_request",
        )
        if hasattr(SigV4Auth, name)
    )
    for name in overridden:
        assert f"self.{name}(" in source, f"botocore changed: SigV4Auth no longer calls {name}"
