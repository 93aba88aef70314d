from chat import views
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView

urlpatterns = [
    path("", views.RoomListView.as_view(), name="rooms"),
    path("room/<slug:room>/", views.RoomView.as_view(), name="room"),
    path("push/", views.PushView.as_view(), name="push"),
    # API Gateway (here: the local gateway) calls these for $connect, $disconnect, messages.
    path("ws/<slug:route>", views.ChatSocketView.as_view(), name="websocket"),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
