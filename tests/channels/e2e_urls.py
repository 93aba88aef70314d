from django.urls import path

from django_aws_api_gateway_websockets.views import WebSocketTokenView
from tests.channels.e2e_views import PublishingView

urlpatterns = [
    path("ws/<slug:route>", PublishingView.as_view()),
    path("ws-token/", WebSocketTokenView.as_view(), name="websocket_token"),
]
