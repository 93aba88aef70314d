"""The demo chat: pages, the WebSocket backend, and server pushes.

- ``RoomView`` uses ``AppChannelWebSocketMixin``: the app's label ``chat`` is the route key (an
  additional route ``chat`` on the gateway) and the room is the primary channel. The page's
  client subscribes to the room's chat channel ``chat:<room>`` (history and presence, see
  ``WEBSOCKETS["channel_namespaces"]`` in the settings) from the position the page was
  rendered at, and the page shows the messages up to that position.
- ``ChatSocketView`` is what API Gateway calls. Messages carry ``"action": "chat"`` (the route
  selection key) and ``"handler"`` (the method to run); ``subscribe``/``unsubscribe`` are the
  package's.
- ``PushView`` shows ``send_message`` from ordinary Django code: to one connection, to a user,
  to a channel and to everyone.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.channels import publish
from django_aws_api_gateway_websockets.mixins import AppChannelWebSocketMixin
from django_aws_api_gateway_websockets.models import ChannelPublication, WebSocketSession
from django_aws_api_gateway_websockets.views import WebSocketView

ROOMS = ["lobby", "random", "django"]
MAX_TEXT = 500
MAX_ROOM = 64
#: Messages a room page shows from before it was rendered.
BACKLOG = 50


def room_channel(room: str) -> str:
    """The channel of a room's chat (namespace ``chat``: history and presence)."""
    return f"chat:{room}"


def backlog(channel: str, upto: int) -> list[tuple[int, dict[str, Any]]]:
    """The room's last messages (offset, data) up to offset ``upto`` (the page's position),
    oldest first."""
    rows = (
        ChannelPublication.objects.filter(stream__channel=channel, offset__lte=upto)
        .order_by("-offset")
        .values_list("offset", "data")[:BACKLOG]
    )
    return list(reversed(rows))


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
    """One room: the mixin puts ``websocket_url`` (with ``?channel=<room>``), the channels to
    subscribe to and their positions now in the context; the page shows the backlog up to
    those positions, and its client recovers whatever comes after."""

    template_name = "chat/room.html"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        if len(kwargs["room"]) > MAX_ROOM:  # "chat:<room>" is a channel: 128 at most
            raise Http404("no such room")

    def get_websocket_channels(self) -> list[str]:
        return [room_channel(self.kwargs["room"])]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        self.app_channel_override = self.kwargs["room"]
        context = super().get_context_data(**kwargs)
        channel = room_channel(self.kwargs["room"])
        position = context["channel_positions"].get(channel, {"offset": 0})
        context["rooms"] = ROOMS
        context["backlog"] = backlog(channel, position["offset"])
        return context


class ChatSocketView(WebSocketView):
    """The WebSocket backend. Every handler runs with ``request.user`` set from the token."""

    ADDITIONAL_ALLOWED_HANDLERS = ["subscribe", "unsubscribe"]

    def authorize_channel(self, request: HttpRequest, channel: str) -> Any:
        """The package's rules decide (unlisted channels are open by default); in a room's chat,
        presence shows a logged-in user's username."""
        if not super().authorize_channel(request, channel):
            return False
        if channel.startswith("chat:") and request.user.is_authenticated:
            return {"name": request.user.get_username()}  # admitted, with presence info
        return True

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
        """Publish a chat line to the sender's room: kept in its history (a page that was
        away recovers it), sent to every subscriber when the request's transaction commits."""
        session = self.websocket_session
        assert session is not None
        text = str(self.body.get("text", "")).strip()[:MAX_TEXT]
        if not text:
            return JsonResponse(_chat_message("error", message="empty message"))
        publish(
            room_channel(session.channel_name),
            _chat_message("message", user=request.user.get_username(), text=text),
        )
        return HttpResponse(status=204)  # nothing to answer on the socket itself

    def default(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        return JsonResponse(_chat_message("error", message="unknown handler"))


class PushView(LoginRequiredMixin, View):
    """POST ``scope`` = ``connection`` (with ``connection_id``), ``user``, ``channel`` (with
    ``channel``) or ``everyone``: the server pushes a message through the Management API.
    ``room`` (with ``channel``, the room) publishes it to the room's chat, history kept."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        scope = request.POST.get("scope", "")
        if scope == "room":
            room = request.POST.get("channel", "")
            if not re.fullmatch(r"[a-zA-Z0-9_-]+", room) or len(room) > MAX_ROOM:
                return JsonResponse({"error": "invalid room"}, status=400)
            data = _chat_message("push", scope=scope, user=request.user.get_username())
            position = publish(room_channel(room), data)
            return JsonResponse({"published": position.offset if position else None})
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
                {"error": "scope must be connection, user, channel, room or everyone"}, status=400
            )
        result = sessions.send_message(
            _chat_message("push", scope=scope, user=request.user.get_username())
        )
        return JsonResponse({"sent": len(result.sent), "gone": len(result.gone)})
