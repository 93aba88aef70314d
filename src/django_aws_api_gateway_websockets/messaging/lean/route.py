"""Where and as whom the lean transport posts: a :class:`LeanRoute` read off a real client.

Everything that decides *where* and *as whom* a request goes comes from a client made by the
real ``get_boto3_client`` (:meth:`LeanRoute.from_client`): its endpoint URL, region, signing
name, credentials (refreshable ones are refreshed as botocore would), TLS verification setting
and timeouts. When that client is configured in a way the lean transport does not reproduce (a
proxy, a client certificate, a signature version other than SigV4, no credentials)
:meth:`LeanRoute.from_client` says so and the boto3 transport takes over.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import weakref
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .botocore_view import (
    BaseClient,
    cert_file_of,
    credentials_of,
    get_cert_path,
    proxy_for,
    verify_of,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LeanRoute:
    """One Management API endpoint as the boto3 client made for it would reach it."""

    endpoint_url: str
    scheme: str
    host: str
    port: int
    host_header: str
    base_path: str
    region: str
    signing_name: str
    credentials: Any
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    read_timeout: float

    @property
    def origin(self) -> tuple[str, str, int, int]:
        return (self.scheme, self.host, self.port, id(self.ssl_context))

    @classmethod
    def from_client(cls, client: Any, *, explain: bool = False) -> LeanRoute | None:
        """The route of a real ``apigatewaymanagementapi`` client, or ``None`` when the lean
        transport cannot do what that client would (the reason is logged)."""
        reason = cls._unsupported(client)
        if reason:
            (logger.info if explain else logger.debug)("Lean transport not used: %s", reason)
            return None
        meta = client.meta
        url = str(meta.endpoint_url)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        default_port = 443 if scheme == "https" else 80
        port = parts.port or default_port
        host = parts.hostname or ""
        # botocore signs the Host it sends: the netloc without a default port.
        host_header = host if parts.port in (None, default_port) else f"{host}:{port}"
        if ":" in host and not host.startswith("["):
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        config = meta.config
        return cls(
            endpoint_url=url,
            scheme=scheme,
            host=host,
            port=port,
            host_header=host_header,
            base_path=parts.path.rstrip("/"),
            region=str(meta.region_name),
            signing_name=str(meta.service_model.signing_name or "execute-api"),
            credentials=credentials_of(client),
            ssl_context=_ssl_context(verify_of(client)) if scheme == "https" else None,
            connect_timeout=float(config.connect_timeout or 60),
            read_timeout=float(config.read_timeout or 60),
        )

    @staticmethod
    def _unsupported(client: Any) -> str:
        if not isinstance(client, BaseClient):
            return f"the client is a {type(client).__name__}, not a botocore client"
        meta = client.meta
        if meta.service_model.service_name != "apigatewaymanagementapi":
            return f"not a Management API client ({meta.service_model.service_name})"
        url = str(meta.endpoint_url or "")
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return f"endpoint {url!r} is not an http(s) URL"
        if parts.query or parts.fragment:
            return f"endpoint {url!r} has a query or fragment"
        config = meta.config
        signature_version = getattr(config, "signature_version", None)
        if signature_version not in (None, "v4"):
            return f"signature version {signature_version!r}"
        if getattr(config, "client_cert", None) or cert_file_of(client):
            return "a client certificate is configured"
        if proxy_for(client, url):
            return "a proxy applies to the endpoint"
        if not meta.region_name:
            return "no region"
        if credentials_of(client) is None:
            return "no credentials"
        return ""


def _ssl_context(verify: Any) -> ssl.SSLContext:
    """A TLS context that verifies as botocore's HTTP session does for ``verify``."""
    context = ssl.create_default_context()
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        path = get_cert_path(verify)
        if path and os.path.isdir(path):
            context.load_verify_locations(capath=path)
        elif path:
            context.load_verify_locations(cafile=path)
    context.set_alpn_protocols(["http/1.1"])
    return context


# The route of each shared client, kept as long as the client lives.
_routes: weakref.WeakKeyDictionary[Any, LeanRoute | None] = weakref.WeakKeyDictionary()
_routes_lock = threading.Lock()


def route_of(client: Any, *, explain: bool = False) -> LeanRoute | None:
    """:meth:`LeanRoute.from_client`, worked out once per client."""
    with _routes_lock:
        if client in _routes:
            return _routes[client]
    route = LeanRoute.from_client(client, explain=explain)
    with _routes_lock:
        _routes[client] = route
    return route
