from __future__ import annotations

from django.urls import path

from .views import BenchView, floor_connect, floor_none, floor_sql, naive

urlpatterns = [
    path("ws/<slug:route>", BenchView.as_view()),
    path("naive/<slug:route>", naive),
    path("floor-sql/<slug:route>", floor_sql),
    path("floor-none/<slug:route>", floor_none),
    path("floor-connect/<slug:route>", floor_connect),
]
