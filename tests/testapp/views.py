"""Views the test suite drives: a small chat backend and a page using the mixins."""

from __future__ import annotations

import threading
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.mixins import (
    AddWebSocketRouteToContextMixin,
    AppChannelWebSocketMixin,
)
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.views import WebSocketView


class ChatView(WebSocketView):
    """Echoes, broadcasts to its channel, and fails on demand."""

    ADDITIONAL_ALLOWED_HANDLERS = ["change_channel"]

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"handled_by": "default"})

    def echo(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        user = request.user.get_username() if request.user.is_authenticated else None
        return JsonResponse({"echo": self.body.get("text"), "user": user})

    def broadcast(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        WebSocketSession.objects.filter(
            channel_name=self.websocket_session.channel_name
        ).send_message({"text": self.body.get("text")})

    def explode(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("handler failed on purpose")


class RoomPageView(AddWebSocketRouteToContextMixin, TemplateView):
    template_name = "testapp/room.html"
    websocket_route_key = "room"
    channel_name = "lobby"


class OpenChatView(ChatView):
    """No token: the user comes from the browser session cookie."""

    USE_WS_TOKEN = False


class BareView(WebSocketView):
    """Defines no default(): unknown handlers are a client error."""

    def ping(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse({"pong": True})

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # Overriding a base method must not make it a message handler.
        return super().connect(request, *args, **kwargs)


class GuardedView(ChatView):
    """Both permission lists set: both must hold."""

    permissions_required = ["auth.view_user", "auth.add_user"]
    all_permissions_required = ["auth.change_user"]


class HookView(ChatView):
    def _additional_connection_checks(
        self, request: HttpRequest, *args: Any, **kwargs: Any
    ) -> tuple[bool, str]:
        if request.GET.get("deny"):
            return False, "Denied by hook"
        return True, ""


class QuietView(ChatView):
    SEND_EXCEPTION_MAIL = False


class PinnedView(ChatView):
    aws_api_gateway_id = "abc123defg"


class AppPageView(AppChannelWebSocketMixin, TemplateView):
    template_name = "testapp/room.html"


class AppPageOverrideView(AppChannelWebSocketMixin, TemplateView):
    template_name = "testapp/room.html"
    app_channel_override = "public_blog"


#: Closed: SlowConnectView's ``$connect`` waits (at most 30 s) until a test opens it.
CONNECT_GATE = threading.Event()


class SlowConnectView(ChatView):
    """A ``$connect`` slower than the gateway's integration timeout: it records the session
    only once :data:`CONNECT_GATE` opens (a test decides when Django "finishes")."""

    def connect(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        CONNECT_GATE.wait(timeout=30)
        return super().connect(request, *args, **kwargs)


class AllOfTwoView(ChatView):
    """Two permissions, both required: a user holding one of them is refused."""

    all_permissions_required = ["auth.change_user", "auth.delete_user"]


class ClosedChannelsView(ChatView):
    """Release 4.1's switches: unlisted channels refused, permission lists on $connect too."""

    ALLOW_UNLISTED_CHANNELS = False


class ConnectGuardedView(ChatView):
    CHECK_PERMISSIONS_ON_CONNECT = True
    permissions_required = ["auth.view_user"]


class OwnChannelView(ChatView):
    """Overrides can_join_channel: a user joins only ``user-<pk>`` (and open channels)."""

    def can_join_channel(self, request: HttpRequest, channel_name: str) -> bool:
        if channel_name.startswith("user-"):
            return channel_name == f"user-{request.user.pk}"
        return super().can_join_channel(request, channel_name)
