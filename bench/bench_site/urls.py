from __future__ import annotations

from django.urls import path

from .views import BenchView, naive

urlpatterns = [
    path("ws/<slug:route>", BenchView.as_view()),
    path("naive/<slug:route>", naive),
]
