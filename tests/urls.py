from django.contrib import admin
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView
from tests.testapp.views import ChatView, RoomPageView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ws/<slug:route>", ChatView.as_view(), name="websocket"),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("room/", RoomPageView.as_view(), name="room"),
]
