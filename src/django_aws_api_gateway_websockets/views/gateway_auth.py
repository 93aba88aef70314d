"""Which gateway is calling: the callback view's gateway authentication.

Every callback names its API in the ``X-Amzn-Apigateway-Api-Id`` header and carries the
gateway's secret in :data:`~django_aws_api_gateway_websockets.wire.SECRET_HEADER`. Before any
of this, with ``WEBSOCKETS["gateway_secret"]`` set (release 4.1's site-wide secret), the
``X-Ws-Gateway-Secret`` header must carry one of its secrets (:func:`site_secret_matches`, no
query); the two work alone or together.
:func:`identify` decides who the caller is, in this order:

1. the pinned API id: a view with ``aws_api_gateway_id`` set knows no other gateway;
2. the process's cached row for the API id (``gateway_cache.py``), unless the secret differs
   from it (perhaps just rotated: then the database decides);
3. otherwise the registered ``ApiGateway`` row for the API id (on ``$connect`` the rate limit's
   first count rides on this query), which is then cached;
4. the secret, compared in constant time with the gateway's current one and, within the rotation
   window after provisioning rotated it, the previous one (``ApiGateway.accepted_secrets``).

Messages and ``$disconnect`` then touch the connection's row only if it belongs to this gateway
(``models.hot.touch_session``: the gateway's primary key is in the ``UPDATE``'s ``WHERE``), so
with a cached gateway they cost one statement, and a session of another gateway counts as
unknown.

The view turns the answer into its responses: an unknown or unpinned gateway is ``400 Invalid
request headers``, a wrong secret ``403 Gateway authentication failed``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.views.decorators.debug import sensitive_variables

from .. import gateway_cache
from ..conf import conf
from ..models import ApiGateway, ConnectionRateLimit


@dataclass(slots=True)
class Caller:
    """What :func:`identify` learned about a callback's sender."""

    #: The registered gateway the callback names (``None``: unknown, or not the pinned one).
    gateway: ApiGateway | None = None
    #: The callback carried one of the gateway's accepted secrets.
    authentic: bool = False
    #: ``gateway`` came from this process's cache.
    from_cache: bool = False
    #: ``$connect`` with a rate limit: the IP's attempts in the window, counted by the gateway
    #: query (``None`` when that query did not run).
    recent_ip_attempts: int | None = None


@sensitive_variables("provided")
def identify(
    api_id: str,
    provided: str | None,
    *,
    pinned_id: str | None = None,
    inserting: bool = False,
    count_attempts_of: str | None = None,
    window_minutes: int = 0,
) -> Caller:
    """Who sent a callback naming ``api_id`` with the secret ``provided``.

    ``inserting``: the callback will insert a row referring to the gateway (``$connect``),
    which limits the cache to autocommit mode (``gateway_cache.enabled``). ``count_attempts_of``, an
    IP, adds that IP's recent ``$connect`` attempts (in ``window_minutes``) to the gateway query.
    """
    if pinned_id and api_id != pinned_id:
        return Caller()
    gateway = None
    use_cache = gateway_cache.enabled(inserting=inserting)
    from_cache = False
    if use_cache:
        gateway = gateway_cache.get(api_id)
        if gateway is not None and not secret_matches(gateway, provided):
            gateway = None
        from_cache = gateway is not None
    recent_ip_attempts = None
    if gateway is None:
        gateway = _read_gateway(api_id, count_attempts_of, window_minutes)
        recent_ip_attempts = getattr(gateway, "recent_ip_attempts", None)
        if gateway is not None and use_cache:
            gateway_cache.put(gateway)
    if gateway is None:
        return Caller()
    return Caller(
        gateway=gateway,
        authentic=secret_matches(gateway, provided),
        from_cache=from_cache,
        recent_ip_attempts=recent_ip_attempts,
    )


@sensitive_variables()
def secret_matches(gateway: ApiGateway, provided: str | None) -> bool:
    """``provided`` is the gateway's secret (or, within the rotation window after
    provisioning rotated it, the previous one), compared in constant time. A gateway with no
    secret accepts any callback unless ``WEBSOCKETS["require_gateway_secret"]`` is on."""
    accepted = gateway.accepted_secrets()
    if not accepted:
        return not conf.require_gateway_secret
    if provided is None:
        return False
    candidate = provided.encode()
    matches = [hmac.compare_digest(candidate, secret.encode()) for secret in accepted]
    return any(matches)


@sensitive_variables()
def site_secret_matches(provided: str | None) -> bool:
    """``provided`` (the ``X-Ws-Gateway-Secret`` header) is one of the secrets of
    ``WEBSOCKETS["gateway_secret"]``, compared in constant time, with no query. ``True`` when
    the setting is unset; ``False`` for every callback while it is set to something invalid
    (system check E002 names it): a broken setting never opens the door."""
    if conf.gateway_secret_invalid:
        return False
    accepted = conf.gateway_secrets
    if not accepted:
        return True
    if provided is None:
        return False
    candidate = provided.encode()
    matches = [hmac.compare_digest(candidate, secret.encode()) for secret in accepted]
    return any(matches)


def cached_gateway_is_gone(gateway: ApiGateway | None) -> bool:
    """A cached ``gateway`` was deleted by another process (a session's foreign key to it
    failed, not its unique connection id): forget it and say so."""
    if gateway is None or ApiGateway.objects.filter(pk=gateway.pk).exists():
        return False
    gateway_cache.forget(gateway.api_id)
    return True


def _read_gateway(
    api_id: str, count_attempts_of: str | None, window_minutes: int
) -> ApiGateway | None:
    gateways = ApiGateway.objects.filter(api_id=api_id)
    if count_attempts_of is not None:
        # The rate limit's first count rides on this query: one statement fewer.
        gateways = gateways.annotate(
            recent_ip_attempts=ConnectionRateLimit.recent_attempts(
                count_attempts_of, window_minutes
            )
        )
    return gateways.first()
