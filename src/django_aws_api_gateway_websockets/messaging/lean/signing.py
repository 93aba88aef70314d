"""SigV4 for the lean transport: what is the same for every post of a broadcast computed once.

:class:`PostSigner` signs the one request shape the transport sends (``POST`` of one body to
``<base path>/@connections/<id>``, no query, signing ``host``, ``x-amz-date`` and the session
token when there is one): the canonical request is a template whose only per-post parts are the
connection id and the time, the signing key is derived once per secret, day, region and service.
It is held to botocore's :class:`~botocore.auth.SigV4Auth` byte for byte
(``tests/messaging/test_lean_signing.py``: random ids, tokens, base paths, hosts, fixed times),
and hands the ids botocore's path normalisation would change (``.``, ``..``, empty) to
:class:`CachedKeySigV4`: botocore's own signer, with the same key cache.

Why not botocore's signer for every post: it costs about 25 µs of CPU per post (the URL split
and double quoting of the path, header canonicalisation, logging calls), about a quarter of
the transport's CPU per post; the template costs a third of that (``bench/README.md``).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from typing import Any, cast

from .botocore_view import SIGNED_HEADERS_BLACKLIST, SigV4Auth, canonical_path

_signing_keys: dict[tuple[str, str, str, str], bytes] = {}
_signing_keys_lock = threading.Lock()
_UNSIGNED = frozenset(SIGNED_HEADERS_BLACKLIST)


def _derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key (as ``SigV4Auth.signature`` derives it on every request)."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """:func:`_derive_signing_key`, cached (a few entries: one per secret and day in use)."""
    key = (secret, date, region, service)
    found = _signing_keys.get(key)
    if found is None:
        found = _derive_signing_key(*key)
        with _signing_keys_lock:
            if len(_signing_keys) > 32:
                _signing_keys.clear()
            _signing_keys[key] = found
    return found


_amz_date: tuple[int, str] = (0, "")


def amz_date() -> str:
    """The ``X-Amz-Date`` of now (``20260101T120000Z``), formatted once per second."""
    global _amz_date
    second = int(time.time())
    cached = _amz_date
    if cached[0] != second:
        cached = _amz_date = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
    return cached[1]


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
        key = signing_key(str(self.credentials.secret_key), date, region, service)
        return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

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


class PostSigner:
    """SigV4 headers for ``POST <path_prefix><encoded id>`` of a body whose SHA-256 is
    ``body_sha`` (see the module docstring): :meth:`headers`. ``path_prefix`` ends with ``/``;
    ``encoded`` ids are ``botocore.utils.percent_encode``'s output, as in the request line."""

    def __init__(
        self,
        credentials: Any,
        service_name: str,
        region_name: str,
        host: str,
        path_prefix: str,
        body_sha: str,
    ) -> None:
        self._fallback = CachedKeySigV4(credentials, service_name, region_name, host)
        self._url_prefix = f"https://{host}{path_prefix}"  # only its path is signed
        self._body_sha = body_sha
        self._secret = str(credentials.secret_key)
        self._access_key = str(credentials.access_key)
        self._region, self._service = region_name, service_name
        token = credentials.token
        self._token = str(token) if token else ""
        # The canonical path of the prefix, as botocore makes it (dot segments and repeated
        # slashes removed, then quoted); a plain last segment is appended unchanged by both.
        self._canonical_prefix = canonical_path(self._fallback, f"{path_prefix}x")[:-1]
        names = ["host", "x-amz-date"] + (["x-amz-security-token"] if self._token else [])
        self._signed = ";".join(names)
        token_line = f"\nx-amz-security-token:{' '.join(self._token.split())}" if token else ""
        self._host_line = f"host:{' '.join(host.split())}\nx-amz-date:"
        self._after_date = f"{token_line}\n\n{self._signed}\n{body_sha}"

    def headers(self, encoded: str, timestamp: str | None = None) -> dict[str, str]:
        """``X-Amz-Date``, ``X-Amz-Security-Token`` (with a session token) and
        ``Authorization`` for the post to ``encoded``, signed at ``timestamp`` (now; the
        fallback always signs at botocore's now)."""
        if encoded in ("", ".", ".."):  # botocore's normalisation would change the path
            return signed_headers(self._fallback, self._url_prefix + encoded, b"", self._body_sha)
        stamp = timestamp or amz_date()
        date = stamp[:8]
        canonical = (
            f"POST\n{self._canonical_prefix}{encoded.replace('%', '%25')}\n\n"
            f"{self._host_line}{stamp}{self._after_date}"
        )
        scope = f"{date}/{self._region}/{self._service}/aws4_request"
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        to_sign = f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{digest}"
        key = signing_key(self._secret, date, self._region, self._service)
        signature = hmac.digest(key, to_sign.encode("utf-8"), "sha256").hex()
        headers = {"X-Amz-Date": stamp}
        if self._token:
            headers["X-Amz-Security-Token"] = self._token
        headers["Authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self._access_key}/{scope}, "
            f"SignedHeaders={self._signed}, Signature={signature}"
        )
        return headers
