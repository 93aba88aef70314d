"""``manage.py clearWebSocketSessions``: delete the rows of closed connections."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from django_aws_api_gateway_websockets.models import WebSocketSession


class Command(BaseCommand):
    help = (
        "Delete the WebSocketSession rows of connections that are closed (connected=False). "
        "Rows of open connections are kept. Safe to run on a schedule."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = WebSocketSession.objects.filter(connected=False).delete()
        deleted = result[0]  # (count, per-model counts), as the existing package read it
        self.stdout.write(
            self.style.SUCCESS(f"Successfully deleted {deleted} disconnected WebSocket sessions")
        )
