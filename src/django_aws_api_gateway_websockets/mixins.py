"""Template context mixins: hand a page what it needs to open its WebSocket.

Both add ``api_gateway_route`` (the :class:`ApiGatewayAdditionalRoute` with the view's route key,
its ``api_gateway`` loaded, or ``None``), ``websocket_route_key``, ``channel_name`` and
``websocket_url`` (the full connect URL with the right scheme, or ``None`` when no route or
address is known; ``{% websocket_config %}`` then tells the page which), and
``websocket_channels`` (the channels the page's client subscribes to) with
``channel_positions``: the history channels' positions as the page is rendered (two
statements, none without channels), so the client's first ``subscribe`` asks for exactly what
happened between the HTML and the socket.
"""

from __future__ import annotations

import re
from typing import Any

from django.apps import apps
from django.urls import Resolver404, ResolverMatch, resolve

from .channels.history import page_positions
from .models import ApiGatewayAdditionalRoute

_NOT_CHANNEL_CHARS = re.compile(r"[^a-zA-Z0-9_-]+")


class AddWebSocketRouteToContextMixin:
    """Adds the route with :attr:`websocket_route_key` and :attr:`channel_name` to the context."""

    websocket_route_key = "default"
    channel_name = ""
    #: Channels the page's client subscribes to (see :meth:`get_websocket_channels`).
    websocket_channels: tuple[str, ...] = ()

    def get_websocket_channels(self) -> list[str]:
        """The channels the page's client subscribes to (``subscribe`` handler; each still
        authorized by the WebSocket view). Default: :attr:`websocket_channels`."""
        return list(self.websocket_channels)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)  # type: ignore[misc]
        route = (
            ApiGatewayAdditionalRoute.objects.filter(route_key=self.websocket_route_key)
            .select_related("api_gateway")
            # The gateway's secrets are never loaded into a template context.
            .defer("api_gateway__secret", "api_gateway__previous_secret")
            .first()
        )
        context["api_gateway_route"] = route
        context["websocket_route_key"] = self.websocket_route_key  # named when it is missing
        context["channel_name"] = self.channel_name
        context["websocket_url"] = (
            route.api_gateway.websocket_url(self.channel_name) if route is not None else None
        )
        channels = self.get_websocket_channels()
        context["websocket_channels"] = channels
        context["channel_positions"] = page_positions(channels) if channels else {}
        return context


def app_channel_name(module: str) -> str:
    """The label of the installed app containing ``module``, usable as a channel name.

    Falls back to the module's top-level package when no installed app contains it; characters
    a channel may not hold become ``_``.
    """
    app_config = apps.get_containing_app_config(module)
    name = app_config.label if app_config is not None else module.split(".")[0]
    return _NOT_CHANNEL_CHARS.sub("_", name)


class AppChannelWebSocketMixin(AddWebSocketRouteToContextMixin):
    """Uses the Django app of the view that served the request as both route key and channel
    name; :attr:`app_channel_override` replaces only the channel."""

    request: Any = None
    app_channel_override: str | None = None

    def _view_module(self) -> str:
        """The module of the view that served the request: ``request.resolver_match`` when the
        URL resolver matched it, else ``resolve(request.path_info)`` (this module's ``resolve``,
        which projects' tests patch when they render with ``RequestFactory``), else this view
        class's module."""
        request = self.request
        match = getattr(request, "resolver_match", None)
        if isinstance(match, ResolverMatch):
            return str(match.func.__module__)
        path = getattr(request, "path_info", None)
        if isinstance(path, str):
            try:
                return str(resolve(path).func.__module__)
            except Resolver404:
                pass
        return type(self).__module__

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        app_name = app_channel_name(self._view_module())
        self.websocket_route_key = app_name
        self.channel_name = self.app_channel_override or app_name
        return super().get_context_data(**kwargs)
