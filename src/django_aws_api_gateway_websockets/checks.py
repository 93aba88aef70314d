"""System checks. Every id is stable and documented in the settings reference.

- ``aws_websockets.E001``: ``WEBSOCKETS`` is not a dict (``None`` included)
- ``aws_websockets.E002``: a ``WEBSOCKETS`` value has the wrong type
- ``aws_websockets.W001``: an unknown ``WEBSOCKETS`` key
- ``aws_websockets.E003``: no region (``AWS_GATEWAY_REGION_NAME`` / ``AWS_REGION_NAME``);
  under ``check --deploy`` only
- ``aws_websockets.E004``: an ``AWS_*`` setting is not a string
- ``aws_websockets.W002``: only one of ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``
- ``aws_websockets.E005``: ``SessionMiddleware`` missing
- ``aws_websockets.E006``: ``AuthenticationMiddleware`` missing or before the session one
- ``aws_websockets.W003``: no URL named ``websocket_token``
- ``aws_websockets.W004``: a legacy mode that weakens a check is on
- ``aws_websockets.W005``: gateways without a secret (database check)
- ``aws_websockets.E007``: a legacy table beside the current one (database check)
- ``aws_websockets.E008``: applied migrations of this app that this package neither has nor
  replaces (a database from a newer release; database check)
- ``aws_websockets.E009``: a ``WEBSOCKETS["channel_namespaces"]`` namespace option has the
  wrong type or value
- ``aws_websockets.W006``: an unknown key in a channel namespace's options
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.db import DatabaseError, connections
from django.urls import NoReverseMatch, reverse

from . import migration_history
from .check_aliases import unsilenced
from .conf import NAMESPACE_OPTIONS, OPTIONS, conf

PREFIX = "aws_websockets"
SESSION_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register(Tags.compatibility)
def check_websockets_setting(**kwargs: Any) -> list[CheckMessage]:
    """``settings.WEBSOCKETS``: a dict of known keys with values of the right type."""
    if not hasattr(settings, "WEBSOCKETS"):
        return []
    value = settings.WEBSOCKETS
    if not isinstance(value, dict):
        return unsilenced(
            [
                Error(
                    f"settings.WEBSOCKETS must be a dict, not {type(value).__name__}.",
                    hint="Remove the setting to use the defaults, or set it to a dict such as "
                    '{"token_expiry_seconds": 60}.',
                    id=f"{PREFIX}.E001",
                )
            ]
        )
    messages: list[CheckMessage] = []
    for key, item in value.items():
        messages += unsilenced(
            _check_websockets_item(key, item), key if isinstance(key, str) else None
        )
    return messages


def _check_websockets_item(key: Any, item: Any) -> list[CheckMessage]:
    """One key of ``settings.WEBSOCKETS``."""
    messages: list[CheckMessage] = []
    option = OPTIONS.get(key) if isinstance(key, str) else None
    if option is None:
        close = difflib.get_close_matches(str(key), list(OPTIONS), n=1)
        hint = f"Did you mean {close[0]!r}?" if close else f"Known keys: {', '.join(OPTIONS)}."
        messages.append(
            Warning(
                f"settings.WEBSOCKETS has an unknown key {key!r}; it is ignored.",
                hint=hint,
                id=f"{PREFIX}.W001",
            )
        )
    elif not option.valid(item):
        messages.append(
            Error(
                f"settings.WEBSOCKETS[{key!r}] must be {option.expected}, "
                f"not {type(item).__name__}.",
                hint=option.on_invalid
                or f"The default is {option.default!r}; until fixed it is used instead.",
                id=f"{PREFIX}.E002",
            )
        )
    elif option.legacy and item:
        messages.append(
            Warning(
                f"settings.WEBSOCKETS[{key!r}] is on: a legacy mode that weakens a security check.",
                hint="Turn it off once your pages and gateway no longer need it.",
                id=f"{PREFIX}.W004",
            )
        )
    return messages


@register(Tags.compatibility)
def check_channel_namespaces(**kwargs: Any) -> list[CheckMessage]:
    """Each namespace of ``WEBSOCKETS["channel_namespaces"]``: known keys, valid values (the
    shape of the whole setting is ``check_websockets_setting``'s)."""
    value = getattr(settings, "WEBSOCKETS", None)
    namespaces = value.get("channel_namespaces") if isinstance(value, dict) else None
    if not isinstance(namespaces, dict):
        return []
    messages: list[CheckMessage] = []
    for name, options in namespaces.items():
        if not isinstance(options, dict):
            continue  # reported by E002
        for key, item in options.items():
            option = NAMESPACE_OPTIONS.get(key) if isinstance(key, str) else None
            where = f"settings.WEBSOCKETS['channel_namespaces'][{name!r}]"
            if option is None:
                close = difflib.get_close_matches(str(key), list(NAMESPACE_OPTIONS), n=1)
                messages.append(
                    Warning(
                        f"{where} has an unknown key {key!r}; it is ignored.",
                        hint=f"Did you mean {close[0]!r}?"
                        if close
                        else f"Known keys: {', '.join(NAMESPACE_OPTIONS)}.",
                        id=f"{PREFIX}.W006",
                    )
                )
            elif not option.valid(item):
                messages.append(
                    Error(
                        f"{where}[{key!r}] must be {option.expected}, not {item!r}.",
                        hint=f"The default is {option.default!r}; until fixed it is used instead.",
                        id=f"{PREFIX}.E009",
                    )
                )
    return messages


@register(Tags.compatibility)
def check_aws_settings(**kwargs: Any) -> list[CheckMessage]:
    """The region and credentials settings."""
    messages: list[CheckMessage] = []
    names = (
        "AWS_GATEWAY_REGION_NAME",
        "AWS_REGION_NAME",
        "AWS_IAM_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    )
    for name in names:
        value = getattr(settings, name, None)
        if value is not None and not isinstance(value, str):
            messages.append(
                Error(
                    f"settings.{name} must be a string, not {type(value).__name__}.",
                    id=f"{PREFIX}.E004",
                )
            )
    has_key = bool(getattr(settings, "AWS_ACCESS_KEY_ID", None))
    has_secret = bool(getattr(settings, "AWS_SECRET_ACCESS_KEY", None))
    if has_key != has_secret:
        messages.append(
            Warning(
                "Only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set; both are "
                "ignored and boto3's default credential chain is used.",
                id=f"{PREFIX}.W002",
            )
        )
    return messages


@register(Tags.compatibility, deploy=True)
def check_aws_region(**kwargs: Any) -> list[CheckMessage]:
    """A region is needed where AWS is used (sending, provisioning: those raise a clear error
    without one), so it is checked under ``check --deploy`` only: a missing region never
    stops ``migrate`` or ``runserver`` (release 4.1 behaves so too)."""
    if getattr(settings, "AWS_GATEWAY_REGION_NAME", None) or getattr(
        settings, "AWS_REGION_NAME", None
    ):
        return []
    return unsilenced(
        [
            Error(
                "No AWS region is configured.",
                hint='Set AWS_GATEWAY_REGION_NAME (or AWS_REGION_NAME), e.g. "eu-west-1". It is '
                "needed even with a local gateway, to sign Management API calls.",
                id=f"{PREFIX}.E003",
            )
        ]
    )


@register(Tags.security)
def check_middleware(**kwargs: Any) -> list[CheckMessage]:
    """The token flow needs sessions and authentication middleware, in that order."""
    middleware: Sequence[str] = list(getattr(settings, "MIDDLEWARE", None) or [])
    messages: list[CheckMessage] = []
    if SESSION_MIDDLEWARE not in middleware:
        messages.append(
            Error(
                f"{SESSION_MIDDLEWARE} is not in MIDDLEWARE.",
                hint="WebSocketTokenView and the $connect token check read the browser session.",
                id=f"{PREFIX}.E005",
            )
        )
    if AUTH_MIDDLEWARE not in middleware or (
        SESSION_MIDDLEWARE in middleware
        and middleware.index(AUTH_MIDDLEWARE) < middleware.index(SESSION_MIDDLEWARE)
    ):
        messages.append(
            Error(
                f"{AUTH_MIDDLEWARE} is not in MIDDLEWARE after SessionMiddleware.",
                hint="WebSocketTokenView issues tokens to request.user.",
                id=f"{PREFIX}.E006",
            )
        )
    return messages


@register(Tags.urls)
def check_token_url(**kwargs: Any) -> list[CheckMessage]:
    """Templates and the JS client find the token endpoint by the URL name ``websocket_token``."""
    try:
        reverse("websocket_token")
    except NoReverseMatch:
        return [
            Warning(
                "No URL is named 'websocket_token'.",
                hint='Add path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token")'
                " to your URLconf; browsers fetch their one-time token there.",
                id=f"{PREFIX}.W003",
            )
        ]
    except Exception:  # a broken URLconf is reported by Django's own checks
        return []
    return []


@register(Tags.database)
def check_gateway_secrets(
    databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Gateways without a secret are trusted on headers alone (unless the site-wide
    ``WEBSOCKETS["gateway_secret"]`` authenticates every callback)."""
    from .models import ApiGateway

    messages: list[CheckMessage] = []
    if conf.gateway_secrets:
        return messages
    for alias in databases or []:
        try:
            names = list(
                ApiGateway.objects.using(alias).filter(secret="").values_list("api_name", flat=True)
            )
        except DatabaseError:
            continue
        if names:
            listed = ", ".join(repr(n) for n in names[:10]) + (" …" if len(names) > 10 else "")
            messages.append(
                Warning(
                    f"{len(names)} API Gateway(s) have no secret, so their callbacks are "
                    f"trusted on headers alone: {listed}.",
                    hint="Run `manage.py provisionApiGateway apply` for each to configure a "
                    'secret, or set WEBSOCKETS["require_gateway_secret"] = True to refuse them.',
                    id=f"{PREFIX}.W005",
                )
            )
    return unsilenced(messages)


LEGACY_TABLES = {
    "websocket_tokens": "django_aws_api_gateway_websockets_websockettoken",
    "connection_rate_limits": "django_aws_api_gateway_websockets_connectionratelimit",
}


@register(Tags.database)
def check_legacy_tables(
    databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """A table left under an old name next to the current one cannot be adopted automatically."""
    messages: list[CheckMessage] = []
    for alias in databases or []:
        try:
            with connections[alias].cursor() as cursor:
                tables = set(connections[alias].introspection.table_names(cursor))
        except DatabaseError:
            continue
        for old, new in LEGACY_TABLES.items():
            if old in tables and new in tables:
                messages.append(
                    Error(
                        f"Both {old!r} (the existing package's old name) and {new!r} exist in "
                        f"database {alias!r}.",
                        hint=f"Copy any rows you need from {old} into {new}, then drop {old}.",
                        id=f"{PREFIX}.E007",
                    )
                )
    return messages


@register(Tags.database)
def check_foreign_migrations(
    databases: Sequence[str] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Migrations recorded as applied that this package neither ships nor replaces come from
    another release; migrating on top of them would lose or leave unfilled columns. ``migrate``
    stops on this (under ``--skip-checks`` too: ``migration_history.refuse_unknown_history``)."""
    messages: list[CheckMessage] = []
    for alias in databases or []:
        unknown = migration_history.unknown_applied(alias)
        if unknown:
            messages.append(
                Error(
                    migration_history.describe(alias, unknown),
                    hint=migration_history.HINT,
                    id=f"{PREFIX}.E008",
                )
            )
    return messages
