from django.urls import path

from tests.testapp.views import ChatView

urlpatterns = [path("ws/<slug:route>", ChatView.as_view())]
