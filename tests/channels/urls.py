from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView
from tests.channels.views import ChannelsView

urlpatterns = [
    path("ws/<slug:route>", ChannelsView.as_view()),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
]
