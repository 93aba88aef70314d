"""The lean transport's SigV4 (``lean.signing.PostSigner``) against botocore's own signer, byte
for byte: ``botocore.auth.SigV4Auth.add_auth`` on a real ``AWSRequest`` for the same post at
the same (fixed) time, with and without a session token, for random connection ids (every
character a connection id has, and characters one never has), base paths with dot segments and
repeated slashes, hosts with ports. Nothing is mocked but botocore's clock."""

from __future__ import annotations

import datetime
import hashlib
import random
import string
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode

from django_aws_api_gateway_websockets.messaging.lean import signing

BODY = '{"type": "broadcast", "text": "héllo"}'.encode()
SHA = hashlib.sha256(BODY).hexdigest()
MOMENT = datetime.datetime(2026, 3, 9, 23, 59, 58, tzinfo=datetime.UTC)
STAMP = MOMENT.strftime("%Y%m%dT%H%M%SZ")


def botocore_headers(
    credentials: Credentials, host: str, path: str, *, region: str = "eu-west-3"
) -> dict[str, str]:
    request = AWSRequest(method="POST", url=f"https://{host}{path}", data=BODY)
    with mock.patch("botocore.auth.get_current_datetime", return_value=MOMENT):
        SigV4Auth(credentials, "execute-api", region).add_auth(request)
    names = ("X-Amz-Date", "X-Amz-Security-Token", "Authorization")
    return {name: request.headers[name] for name in names if name in request.headers}


def random_ids(count: int) -> list[str]:
    rng = random.Random(14)
    alphabet = string.ascii_letters + string.digits + "_=-"  # wire.CONNECTION_ID_RE's
    odd = "+/%.~ é?#&"  # never in a real id, still signed as botocore does
    ids = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(count)]
    ids += [
        "".join(rng.choice(alphabet + odd) for _ in range(rng.randint(1, 12))) for _ in range(count)
    ]
    return [*ids, "L0SM9cOFvHcCIhw=", "a.b", "...", "~", "%2F", "-_"]


@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE  session/token=="])
@pytest.mark.parametrize(
    ("host", "base_path"),
    [
        ("abc123.execute-api.eu-west-3.amazonaws.com", "/prod"),
        ("ws.example.com", ""),
        ("127.0.0.1:8001", "/fake/prod"),
        ("[::1]:8443", "/a//b/./c/../d"),
    ],
)
def test_same_headers_as_botocore(token, host, base_path) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    prefix = f"{base_path}/@connections/"
    signer = signing.PostSigner(
        credentials.get_frozen_credentials(), "execute-api", "eu-west-3", host, prefix, SHA
    )
    for connection_id in random_ids(60):
        encoded = percent_encode(connection_id)
        expected = botocore_headers(credentials, host, prefix + encoded)
        # (ids botocore would normalise are signed by botocore's code, at its clock's time)
        with mock.patch("botocore.auth.get_current_datetime", return_value=MOMENT):
            assert signer.headers(encoded, STAMP) == expected, connection_id


@pytest.mark.parametrize("encoded", ["", ".", ".."])
def test_ids_botocore_would_normalise_use_botocores_signer(encoded) -> None:
    """A path segment ``.`` or ``..`` (or none) is removed by botocore's normalisation: those
    go through botocore's own code (``CachedKeySigV4``), so they still match."""
    credentials = Credentials("AKID", "secret", None)
    signer = signing.PostSigner(
        credentials.get_frozen_credentials(),
        "execute-api",
        "eu-west-3",
        "h.example",
        "/p/@connections/",
        SHA,
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=MOMENT):
        headers = signer.headers(encoded)
    assert headers == botocore_headers(credentials, "h.example", f"/p/@connections/{encoded}")


def test_the_date_is_now_and_the_signing_key_is_derived_once(monkeypatch) -> None:
    derived: list[tuple[str, ...]] = []
    real = signing._derive_signing_key

    def counting(*args: str) -> bytes:
        derived.append(args)
        return real(*args)

    monkeypatch.setattr(signing, "_derive_signing_key", counting)
    signing._signing_keys.clear()
    credentials = Credentials("AKID", "another-secret", None).get_frozen_credentials()
    signer = signing.PostSigner(credentials, "execute-api", "us-east-1", "h", "/@connections/", SHA)
    before = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    stamps = {signer.headers(f"id{n}")["X-Amz-Date"] for n in range(50)}
    after = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert all(before <= stamp <= after for stamp in stamps)
    assert len(derived) <= 2  # once per day the posts spanned (at most a midnight)


def test_the_request_path_encodes_ids_as_botocore_does() -> None:
    """The request line's id (``send._encoded``: a shortcut for ids shaped as API Gateway
    issues them) is ``percent_encode``'s, for those ids and for any other string."""
    from django_aws_api_gateway_websockets.messaging.lean.send import _encoded

    for connection_id in random_ids(200):
        assert _encoded(connection_id) == percent_encode(connection_id), connection_id
