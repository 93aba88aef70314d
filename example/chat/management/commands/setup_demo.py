"""``manage.py setup_demo``: the demo user and the gateway record (idempotent)."""

from __future__ import annotations

import argparse
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from django_aws_api_gateway_websockets.models import ApiGateway, ApiGatewayAdditionalRoute

GATEWAY_NAME = "Demo"


class Command(BaseCommand):
    help = "Create the demo user and the ApiGateway record (with a secret) the demo uses."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--backend", default="http://127.0.0.1:8000", help="Django's URL")
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args: Any, **options: Any) -> None:
        backend = options["backend"].rstrip("/")
        users = get_user_model()._default_manager
        user = users.filter(username=options["username"]).first()
        if user is None:
            user = users.create_user(options["username"], password=options["password"])
            self.stdout.write(f"Created user {user.get_username()!r}")
        gateway = ApiGateway.objects.filter(api_name=GATEWAY_NAME).first() or ApiGateway(
            api_name=GATEWAY_NAME, api_description="The demo's gateway (served locally)"
        )
        gateway.target_base_endpoint = f"{backend}/ws/"
        gateway.default_channel_name = "lobby"
        gateway.route_selection_expression = "$request.body.action"
        if not gateway.secret:
            gateway.secret = ApiGateway.generate_secret()
        gateway.save()
        ApiGatewayAdditionalRoute.objects.update_or_create(
            api_gateway=gateway,
            route_key="chat",
            defaults={"name": "Chat", "integration_url": f"{backend}/ws/chat"},
        )
        self.stdout.write(f"Gateway {gateway.api_name!r} calls {gateway.target_base_endpoint}")
