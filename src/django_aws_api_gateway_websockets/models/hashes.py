"""Keyed hashes stored instead of login secrets (the salts are release 4.1's, so rows and tokens
written by either package stay valid for the other)."""

from __future__ import annotations

from typing import Any

from django.utils.crypto import salted_hmac

SESSION_KEY_SALT = "django_aws_api_gateway_websockets.WebSocketToken.session_key"
AUTH_HASH_SALT = "django_aws_api_gateway_websockets.WebSocketSession.auth_hash"


def _keyed(salt: str, value: str) -> str:
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()


def hash_session_key(session_key: str) -> str:
    """A keyed hash (64 hex characters, keyed by ``SECRET_KEY``) of a Django session key: what
    ``WebSocketToken.session_key`` and ``WebSocketSession.session_key_hash`` hold."""
    return _keyed(SESSION_KEY_SALT, session_key)


def hash_user_auth(user: Any) -> str:
    """A keyed hash of ``user.get_session_auth_hash()``, which changes with the password; ``""``
    for a user model without that method."""
    get_auth_hash = getattr(user, "get_session_auth_hash", None)
    if get_auth_hash is None:
        return ""
    return _keyed(AUTH_HASH_SALT, get_auth_hash())
