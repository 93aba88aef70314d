from django.contrib import admin
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView
from tests.testapp.views import (
    AllOfTwoView,
    BareView,
    ChatView,
    ClosedChannelsView,
    ConnectGuardedView,
    GuardedView,
    HookView,
    OpenChatView,
    OwnChannelView,
    PinnedView,
    QuietView,
    RoomPageView,
    SlowConnectView,
)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("ws/<slug:route>", ChatView.as_view(), name="websocket"),
    path("ws-open/<slug:route>", OpenChatView.as_view()),
    path("ws-bare/<slug:route>", BareView.as_view()),
    path("ws-guarded/<slug:route>", GuardedView.as_view()),
    path("ws-hook/<slug:route>", HookView.as_view()),
    path("ws-quiet/<slug:route>", QuietView.as_view()),
    path("ws-pinned/<slug:route>", PinnedView.as_view()),
    path("ws-slow/<slug:route>", SlowConnectView.as_view()),
    path("ws-all-of-two/<slug:route>", AllOfTwoView.as_view()),
    path("ws-closed/<slug:route>", ClosedChannelsView.as_view()),
    path("ws-connect-guarded/<slug:route>", ConnectGuardedView.as_view()),
    path("ws-own/<slug:route>", OwnChannelView.as_view()),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("room/", RoomPageView.as_view(), name="room"),
]
