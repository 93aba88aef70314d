"""Everything the lean transport reads of botocore beyond its documented API, in one file.

The lean transport reproduces what a boto3 client would do, so it has to read how that client
was configured: its credentials, TLS verification, proxy and client certificate (private
attributes of the client and its HTTP session), the ``before-send`` handlers registered on it
(private attributes of its event system), and it reuses botocore's SigV4 signer by overriding
the methods ``SigV4Auth.add_auth`` calls. Those names are listed here once:
:data:`CLIENT_ATTRIBUTES` and :data:`SIGV4_HOOKS`.
``tests/messaging/test_botocore_view.py`` asserts that each exists on the installed botocore,
so an upgrade that renames one fails there, loudly, instead of quietly sending everything
through boto3 (or signing wrongly).
"""

from __future__ import annotations

from typing import Any

from botocore.auth import SIGNED_HEADERS_BLACKLIST, SigV4Auth
from botocore.client import BaseClient
from botocore.httpsession import ProxyConfiguration, get_cert_path
from botocore.utils import get_environ_proxies, percent_encode

__all__ = [
    "CLIENT_ATTRIBUTES",
    "SIGNED_HEADERS_BLACKLIST",
    "SIGV4_HOOKS",
    "SIGV4_READS",
    "BaseClient",
    "SigV4Auth",
    "canonical_path",
    "cert_file_of",
    "credentials_of",
    "get_cert_path",
    "intercepted",
    "percent_encode",
    "proxy_for",
    "verify_of",
]

#: The operation the lean transport performs (its ``before-send`` event name).
OPERATION = "PostToConnection"

# Private attributes read, as paths from a client.
_CREDENTIALS_GETTER = "_get_credentials"  # botocore >= 1.34: the client's credentials
_SIGNER_CREDENTIALS = "_request_signer._credentials"  # older botocore: the same, from its signer
_HTTP_SESSION = "_endpoint.http_session"
_VERIFY = f"{_HTTP_SESSION}._verify"
_PROXY_CONFIG = f"{_HTTP_SESSION}._proxy_config"
_CERT_FILE = f"{_HTTP_SESSION}._cert_file"
_EVENT_HANDLERS = "meta.events._emitter._handlers"

#: Every private attribute path read from a client; each exists on a client of the installed
#: botocore (tested). ``_request_signer._credentials`` is only the fallback of older versions.
CLIENT_ATTRIBUTES = (_CREDENTIALS_GETTER, _VERIFY, _PROXY_CONFIG, _CERT_FILE, _EVENT_HANDLERS)

#: The methods of ``SigV4Auth`` the lean signer overrides, relying on ``add_auth`` calling them.
SIGV4_HOOKS = ("add_auth", "headers_to_sign", "canonical_query_string", "signature", "payload")
#: The method of ``SigV4Auth`` that makes a request path canonical (normalised, then quoted),
#: which the lean signer calls once per broadcast for the prefix of its paths.
_CANONICAL_PATH = "_normalize_url_path"
#: The methods of ``SigV4Auth`` the lean signer calls without overriding them.
SIGV4_READS = (_CANONICAL_PATH,)

_MISSING = object()


def _read(obj: Any, path: str, default: Any = None) -> Any:
    for name in path.split("."):
        obj = getattr(obj, name, _MISSING)
        if obj is _MISSING:
            return default
    return obj


def credentials_of(client: BaseClient) -> Any:
    """The client's credentials object (refreshable ones included), or ``None``."""
    getter = _read(client, _CREDENTIALS_GETTER)
    if callable(getter):
        return getter()
    return _read(client, _SIGNER_CREDENTIALS)


def verify_of(client: BaseClient) -> Any:
    """The ``verify`` value the client's HTTP session uses (``True``, ``False`` or a CA path:
    ``AWS_CA_BUNDLE`` / a profile's ``ca_bundle`` end up here)."""
    return _read(client, _VERIFY, True)


def cert_file_of(client: BaseClient) -> Any:
    """The client certificate the client's HTTP session presents, if any."""
    return _read(client, _CERT_FILE)


def proxy_for(client: BaseClient, url: str) -> str | None:
    """The proxy the client's HTTP session would use for ``url``: from its config, else from the
    environment as botocore read it when the client was made."""
    proxy_config = _read(client, _PROXY_CONFIG)
    if proxy_config is None:
        config = client.meta.config
        proxies = getattr(config, "proxies", None)
        proxy_config = ProxyConfiguration(
            proxies=get_environ_proxies(url) if proxies is None else proxies,
            proxies_settings=getattr(config, "proxies_config", None),
        )
    proxy = proxy_config.proxy_url_for(url)
    return str(proxy) if proxy else None


def canonical_path(signer: SigV4Auth, path: str) -> str:
    """``path`` as ``signer`` puts it in the canonical request."""
    return str(getattr(signer, _CANONICAL_PATH)(path))


def intercepted(client: BaseClient) -> bool:
    """Whether a botocore ``before-send`` handler could answer instead of the network (moto's
    ``mock_aws``, a recorder...). Then only the boto3 transport goes through it."""
    try:
        trie = _read(client, _EVENT_HANDLERS, _MISSING)
        handlers = list(trie.prefix_search(f"before-send.apigatewaymanagementapi.{OPERATION}"))
    except AttributeError:
        return True  # cannot tell: stay on the path every interceptor sees
    # moto registers its stubber on every session and switches it on and off with `enabled`.
    return any(getattr(handler, "enabled", True) is not False for handler in handlers)
