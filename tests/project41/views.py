"""Views as a 4.1 project writes them: 4.1's attributes and hooks on ``WebSocketView``, and a
page using the mixin."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.views.generic import TemplateView

from django_aws_api_gateway_websockets.mixins import AddWebSocketRouteToContextMixin
from django_aws_api_gateway_websockets.models import WebSocketSession
from django_aws_api_gateway_websockets.views import WebSocketView


class ChatWebSocketView(WebSocketView):
    ALLOWED_HANDLERS = {"default", "chat", "change_channel"}
    ALLOW_UNLISTED_CHANNELS = False
    CHECK_PERMISSIONS_ON_CONNECT = True
    CHECK_CONNECT_USERAGENT = True
    EXCEPTION_MAIL_INTERVAL = 300
    permissions_required = ["auth.view_user"]

    def default(self, request, *args, **kwargs):
        return JsonResponse({"handled": "default"})

    def chat(self, request, *args, **kwargs):
        sessions = WebSocketSession.objects.filter(
            api_gateway=self.websocket_session.api_gateway,
            channel_name=self.websocket_session.channel_name,
            connected=True,
        )
        sessions.send_message({"text": self.body.get("text", "")}, max_workers=4)
        return JsonResponse({"sent": True})

    def session_not_found(self, request, *args, **kwargs):
        return HttpResponseBadRequest("Invalid connection ID")

    def invalid_gateway_secret(self, request, *args, **kwargs):
        return HttpResponseForbidden("Not from our gateway")


class RoomView(AddWebSocketRouteToContextMixin, TemplateView):
    template_name = "project41/room.html"
    websocket_route_key = "room"
    channel_name = "lobby"
