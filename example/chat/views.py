"""The demo chat: pages, the WebSocket backend, and server pushes.

- ``RoomView`` uses ``AppChannelWebSocketMixin``: the app's label ``chat`` is the route key (an
  additional route ``chat`` on the gateway) and the room is the channel.
- ``ChatSocketView`` is what API Gateway calls. Messages carry ``"action": "chat"`` (the route
  selection key) and ``"handler"`` (the method to run).
- ``PushView`` shows ``send_message`` from ordinary Django code: to one connection, to a user,
  to a channel and to everyone.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.mixins import AppChannelWebSocketMixin
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.views import WebSocketView

ROOMS = ["lobby", "random", "django"]
MAX_TEXT = 500


def _chat_message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "at": timezone.now().isoformat(timespec="seconds"), **fields}


class RoomListView(LoginRequiredMixin, TemplateView):
    template_name = "chat/rooms.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["rooms"] = ROOMS
        context["online"] = WebSocketSession.objects.filter(connected=True).count()
        return context


class RoomView(LoginRequiredMixin, AppChannelWebSocketMixin, TemplateView):
    """One room: the mixin puts ``websocket_url`` (with ``?channel=<room>``) in the context."""

    template_name = "chat/room.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        self.app_channel_override = self.kwargs["room"]
        return super().get_context_data(**kwargs)


class ChatSocketView(WebSocketView):
    """The WebSocket backend. Every handler runs with ``request.user`` set from the token."""

    def whoami(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        """Answer on the socket itself (a two-way route): this connection's id and room."""
        session = self.websocket_session
        assert session is not None
        return JsonResponse(
            _chat_message(
                "whoami",
                connectionId=session.connection_id,
                user=request.user.get_username(),
                room=session.channel_name,
            )
        )

    def say(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        """Broadcast a chat line to everyone in the sender's room (a push to a channel)."""
        session = self.websocket_session
        assert session is not None
        text = str(self.body.get("text", "")).strip()[:MAX_TEXT]
        if not text:
            return JsonResponse(_chat_message("error", message="empty message"))
        WebSocketSession.objects.filter(channel_name=session.channel_name).send_message(
            _chat_message("message", user=request.user.get_username(), text=text)
        )
        return HttpResponse(status=204)  # nothing to answer on the socket itself

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse(_chat_message("error", message="unknown handler"))


class PushView(LoginRequiredMixin, View):
    """POST ``scope`` = ``connection`` (with ``connection_id``), ``user``, ``channel`` (with
    ``channel``) or ``everyone``: the server pushes a message through the Management API."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        scope = request.POST.get("scope", "")
        sessions = WebSocketSession.objects.filter(connected=True)
        if scope == "connection":
            sessions = sessions.filter(
                connection_id=request.POST.get("connection_id", ""), user=request.user
            )
        elif scope == "user":
            sessions = request.user.websocket_sessions.filter(connected=True)
        elif scope == "channel":
            channel = request.POST.get("channel", "")
            if not re.fullmatch(r"[a-zA-Z0-9_-]{1,128}", channel):
                return JsonResponse({"error": "invalid channel"}, status=400)
            sessions = sessions.filter(channel_name=channel)
        elif scope != "everyone":
            return JsonResponse(
                {"error": "scope must be connection, user, channel or everyone"}, status=400
            )
        result = sessions.send_message(
            _chat_message("push", scope=scope, user=request.user.get_username())
        )
        return JsonResponse({"sent": len(result.sent), "gone": len(result.gone)})
