"""SigV4 for the lean transport: botocore's own signer, with what is the same for every post of a
broadcast computed once.

The canonical request, string to sign, credential scope and ``Authorization`` header are
botocore's code (:class:`~botocore.auth.SigV4Auth`); :class:`CachedKeySigV4` only caches the
signing key (per secret, day, region and service) and takes the payload hash, the ``host``
header and the (empty) query string as given. :func:`signed_headers` signs one post.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Any, cast

from .botocore_view import SIGNED_HEADERS_BLACKLIST, SigV4Auth

_signing_keys: dict[tuple[str, str, str, str], bytes] = {}
_signing_keys_lock = threading.Lock()
_UNSIGNED = frozenset(SIGNED_HEADERS_BLACKLIST)


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key (as ``SigV4Auth.signature`` derives it on every request)."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


class _HeaderMap(dict[str, str]):
    """The headers to sign, as ``SigV4Auth.canonical_headers`` reads them (``get_all``)."""

    def get_all(self, name: str) -> list[str]:
        return [self[name]]


class _Request:
    """The parts of an ``AWSRequest`` that ``SigV4Auth.add_auth`` reads and writes, without
    the ``email.message`` header machinery (a plain dict, with botocore's header spellings)."""

    __slots__ = ("body", "context", "headers", "method", "params", "url")

    def __init__(self, url: str, body: bytes, context: dict[str, Any]) -> None:
        self.method = "POST"
        self.url = url
        self.body = body
        self.params: dict[str, str] = {}
        self.headers: dict[str, str] = {}
        self.context = context


class CachedKeySigV4(SigV4Auth):
    """botocore's SigV4 signer (``add_auth``, the canonical request, string to sign, scope and
    ``Authorization`` header are botocore's code), with what is the same for every post of a
    broadcast computed once: the signing key (per secret, day, region and service), the payload
    hash, the ``host`` header and the (empty) query string. The methods overridden are
    ``botocore_view.SIGV4_HOOKS``."""

    def __init__(self, credentials: Any, service_name: str, region_name: str, host: str) -> None:
        super().__init__(credentials, service_name, region_name)
        self._lean_scope = (region_name, service_name)
        self._lean_host = host

    def headers_to_sign(self, request: Any) -> Any:
        headers = _HeaderMap()
        for name, value in request.headers.items():
            lower = name.lower()
            if lower not in _UNSIGNED:
                headers[lower] = value
        if "host" not in headers:
            headers["host"] = self._lean_host
        return headers

    def canonical_query_string(self, request: Any) -> str:
        return (
            ""
            if not request.params and "?" not in request.url
            else str(super().canonical_query_string(request))
        )

    def signature(self, string_to_sign: str, request: Any) -> str:
        date = str(request.context["timestamp"][0:8])
        region, service = self._lean_scope
        key = (str(self.credentials.secret_key), date, region, service)
        signing_key = _signing_keys.get(key)
        if signing_key is None:
            signing_key = _derive_signing_key(*key)
            with _signing_keys_lock:
                if len(_signing_keys) > 32:
                    _signing_keys.clear()
                _signing_keys[key] = signing_key
        return hmac.new(signing_key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    def payload(self, request: Any) -> str:
        cached = request.context.get("payload_sha256")
        return str(cached) if cached else str(super().payload(request))


def signed_headers(signer: CachedKeySigV4, url: str, body: bytes, body_sha: str) -> dict[str, str]:
    """The headers ``signer`` adds to a POST of ``body`` (whose SHA-256 is ``body_sha``) to
    ``url``: ``X-Amz-Date``, ``X-Amz-Security-Token`` when the credentials have one, and
    ``Authorization``."""
    request = _Request(url, body, {"payload_sha256": body_sha})
    signer.add_auth(cast(Any, request))
    return request.headers
