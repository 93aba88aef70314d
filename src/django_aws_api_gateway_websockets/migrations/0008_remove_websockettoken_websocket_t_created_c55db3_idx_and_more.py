"""Token and rate-limit tables under their default names, with the final index names.

Copes with every release's 0007: tables named ``websocket_tokens`` / ``connection_rate_limits``
(3.0.0-3.0.2, 3.0.4+) or only the latter (3.0.3), with or without the early index names.
"""

from django.db import migrations, models

from ._operations import (
    RATE_LIMIT_LEGACY_INDEXES,
    TOKEN_LEGACY_INDEXES,
    AddIndexIfMissing,
    AdoptLegacySchema,
)


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0007_connectionratelimit_websockettoken")
    ]

    operations = [
        AdoptLegacySchema("websockettoken", "websocket_tokens", TOKEN_LEGACY_INDEXES),
        AdoptLegacySchema(
            "connectionratelimit", "connection_rate_limits", RATE_LIMIT_LEGACY_INDEXES
        ),
        AddIndexIfMissing(
            model_name="connectionratelimit",
            index=models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
        ),
        AddIndexIfMissing(
            model_name="connectionratelimit",
            index=models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
        ),
        AddIndexIfMissing(
            model_name="websockettoken",
            index=models.Index(fields=["token", "used"], name="idx_websocket_tokens_used"),
        ),
    ]
