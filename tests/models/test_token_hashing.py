"""Tokens store a keyed hash of the session key with release 4.1's salt, so tokens and session
rows written by 4.1 stay valid after switching packages (and the reverse)."""

from __future__ import annotations

import hashlib
import hmac
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from django_aws_api_gateway_websockets.models import (
    WebSocketToken,
    hash_session_key,
    hash_user_auth,
)


def release_4_1_hash(salt: str, value: str) -> str:
    """Django's salted_hmac spelt out (sha256 of salt + SECRET_KEY as the HMAC key), with the
    salts release 4.1 uses: an independent computation, not a call of ours."""
    key = hashlib.sha256((salt + settings.SECRET_KEY).encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def test_session_key_hash_is_release_4_1s() -> None:
    salt = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
    assert hash_session_key("abc123") == release_4_1_hash(salt, "abc123")


def test_auth_hash_is_release_4_1s() -> None:
    salt = "django_aws_api_gateway_websockets.WebSocketSession.auth_hash"
    user = SimpleNamespace(get_session_auth_hash=lambda: "the-auth-hash")
    assert hash_user_auth(user) == release_4_1_hash(salt, "the-auth-hash")
    assert hash_user_auth(SimpleNamespace()) == ""  # a user model without the method


@pytest.mark.django_db
def test_a_token_written_by_release_4_1_is_accepted() -> None:
    user = get_user_model().objects.create_user("dora")
    salt = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
    row = WebSocketToken.objects.create(
        token="c" * 64, user=user, session_key=release_4_1_hash(salt, "browser-session")
    )
    assert WebSocketToken.validate_and_consume(row.token, "wrong-session") is None
    assert WebSocketToken.validate_and_consume(row.token, "browser-session") == user


@pytest.mark.django_db
def test_the_connect_path_claims_a_release_4_1_token() -> None:
    """``$connect`` claims tokens with one prebuilt UPDATE (models.hot): it compares the hash."""
    from django_aws_api_gateway_websockets.models import hot

    user = get_user_model().objects.create_user("erin")
    salt = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
    WebSocketToken.objects.create(
        token="d" * 64, user=user, session_key=release_4_1_hash(salt, "erin-session")
    )
    assert hot.claim_token("d" * 64, "other-session", 60) is None
    assert hot.claim_token("d" * 64, "erin-session", 60) == user.pk
    assert hot.claim_token("d" * 64, "erin-session", 60) is None  # spent
