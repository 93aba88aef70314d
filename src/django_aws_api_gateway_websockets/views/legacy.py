"""The existing package's overridable hooks, kept for projects that override them (the 4.0
contract in docs/views.md). Each one is called by a named check, so overriding it still takes
effect:

=====================================  ======================================================
hook                                   called by
=====================================  ======================================================
``_expected_headers``                  ``check_headers`` (``False``: ``missing_headers``)
``missing_headers``                    ``check_headers``, ``check_gateway`` (400)
``_expected_useragent``                ``check_useragent`` (``False``: ``invalid_useragent``)
``invalid_useragent``                  ``check_useragent`` (400)
``_expected_connection_headers``       ``check_connection_headers`` (``False``: 400)
``_check_allowed_hosts``               ``check_host``
``_check_host_is_in_origin``           ``check_origin``
``_additional_connection_checks``      ``check_user_hook`` (``(False, message)``: 400 message)
``_get_channel_name``                  ``check_channel`` (``ValueError``: 400)
``handler_selection_key_missing``      ``check_body`` (400)
``has_all_permission``,                ``check_permissions`` (``False``: ``permission_denied``)
``has_any_permission``
``permission_denied``                  ``check_permissions`` (403)
``invalid_gateway_secret`` (4.1)       ``check_site_secret``, ``check_gateway`` (403)
``session_not_found`` (4.1)            ``check_session``, ``change_channel`` (400)
``route_selection_key_missing``        nothing (deprecated alias of the one above)
=====================================  ======================================================

New code adds a check instead: a method named ``check_*`` returning ``None`` or a response,
listed in one of ``WebSocketView``'s check tuples (see docs/views.md).
"""

from __future__ import annotations

import warnings
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port, validate_host

from ..conf import conf
from .base import WebSocketViewBase, has_header, header
from .responses import (
    GATEWAY_FORBIDDEN,
    INVALID_FORMAT,
    INVALID_HEADERS,
    PERMISSION_DENIED,
    UNEXPECTED_USERAGENT,
    UNKNOWN_CONNECTION,
    bad_request,
    forbidden,
)


class LegacyHooks(WebSocketViewBase):
    """The existing package's boolean hooks and rejection hooks (see the module docstring)."""

    # -- boolean hooks ---------------------------------------------------------------------------

    def _expected_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        """Every header of ``required_headers`` and ``additional_required_headers`` is sent."""
        required = [*self.required_headers, *(self.additional_required_headers or [])]
        return all(has_header(request, h) for h in required)

    def _expected_useragent(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        """The ``User-Agent`` is API Gateway's: ``<expected_useragent_prefix><api id>``, for the
        pinned ``aws_api_gateway_id`` when one is set."""
        agent = header(request, "User-Agent")
        if self.aws_api_gateway_id:
            return agent == f"{self.expected_useragent_prefix}{self.aws_api_gateway_id}"
        return agent.startswith(self.expected_useragent_prefix)

    def _expected_connection_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> bool:
        """Every header of ``required_connection_headers`` (the browser's handshake) is sent."""
        return all(has_header(request, h) for h in self.required_connection_headers)

    @staticmethod
    def _host(request: HttpRequest) -> str:
        domain, _port = split_domain_port(header(request, "Host"))
        return domain

    def _check_allowed_hosts(self, request: HttpRequest) -> bool:
        """The ``Host`` matches ``ALLOWED_HOSTS`` (wildcards as Django reads them)."""
        allowed = settings.ALLOWED_HOSTS
        return not allowed or validate_host(self._host(request), allowed)

    def _check_host_is_in_origin(self, request: HttpRequest) -> bool:
        """The ``Origin``'s host equals the ``Host``'s, or is in ``allowed_origin_hosts``
        (``legacy_origin_substring_match``: the old substring test)."""
        origin = header(request, "Origin")
        host = header(request, "Host")
        if conf.legacy_origin_substring_match:
            return bool(host) and host in origin
        try:
            origin_host = (urlsplit(origin).hostname or "").lower()
        except ValueError:
            return False
        if not origin_host:
            return False
        return origin_host == self._host(request) or origin_host in conf.allowed_origin_hosts

    def _additional_connection_checks(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> tuple[bool, str]:
        """Override to add your own ``$connect`` check: ``(ok, message for the 400)``."""
        return True, ""

    def _get_channel_name(self, request: HttpRequest) -> str:
        """``?channel=`` when given (``ValueError`` when invalid), else the gateway's default."""
        channel = request.GET.get("channel", "")
        if channel:
            if not self._valid_channel(channel):
                raise ValueError("Invalid channel name")
            return channel
        if self.api_gateway is not None and self.api_gateway.default_channel_name:
            return self.api_gateway.default_channel_name
        return ""

    @staticmethod
    def _user_has(request: HttpRequest, permission: str) -> bool:
        """``request.user.has_perms([permission])``, once per permission as the existing package
        asked (a user model that overrides ``has_perms`` is obeyed). Only ``True`` grants it: a
        test double's truthy answer (a ``MagicMock`` user) is a refusal, never a silent grant."""
        return request.user.has_perms([permission]) is True

    def has_any_permission(self, request: HttpRequest) -> bool:
        """The user has ANY of ``permissions_required``."""
        perms = list(self.permissions_required)
        return not perms or any([self._user_has(request, p) for p in perms])

    def has_all_permission(self, request: HttpRequest) -> bool:
        """The user has ALL of ``all_permissions_required``."""
        perms = list(self.all_permissions_required)
        return not perms or all([self._user_has(request, p) for p in perms])

    # -- rejection hooks -------------------------------------------------------------------------

    def permission_denied(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return forbidden(PERMISSION_DENIED)

    def missing_headers(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if self.debug:  # header names only: never their values, cookies or secrets
            expected = [*self.required_headers, *(self.additional_required_headers or [])]
            self._debug(f"Expected {expected}, Received {list(request.headers)}")
        return bad_request(INVALID_HEADERS)

    def session_not_found(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Release 4.1's hook: a message on a connection this gateway has not open (400)."""
        return bad_request(UNKNOWN_CONNECTION)

    def invalid_gateway_secret(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Release 4.1's hook: a callback without an accepted secret (either one)."""
        return forbidden(GATEWAY_FORBIDDEN)

    def invalid_useragent(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return bad_request(UNEXPECTED_USERAGENT)

    def handler_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        return bad_request(INVALID_FORMAT)

    def route_selection_key_missing(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        """Deprecated (the existing package's): nothing calls it; it warns and answers its 400."""
        warnings.warn(
            "Deprecated: Use handler_selection_key_missing instead. Will be removed in version 3",
            DeprecationWarning,
            stacklevel=2,
        )
        message = f"route_select_key {self.route_selection_key} missing from request body."
        self._debug(message)
        return bad_request(message)
