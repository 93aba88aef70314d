from django.contrib import admin
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView

from .views import ChatWebSocketView, RoomView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ws/<slug:route>", ChatWebSocketView.as_view(), name="chat_websocket"),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("room/", RoomView.as_view(), name="room"),
]
