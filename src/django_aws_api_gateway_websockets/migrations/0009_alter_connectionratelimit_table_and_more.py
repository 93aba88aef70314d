"""Adopt the old-named tables again, for databases whose 0008 came from release 3.0.3.

That release's 0008 only added the token index and left ``connection_rate_limits`` (and, after
a failed upgrade from 3.0.0-3.0.2, ``websocket_tokens``) in place. No state change.
"""

from django.db import migrations

from ._operations import RATE_LIMIT_LEGACY_INDEXES, TOKEN_LEGACY_INDEXES, AdoptLegacySchema


class Migration(migrations.Migration):
    dependencies = [
        (
            "django_aws_api_gateway_websockets",
            "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more",
        ),
    ]

    operations = [
        AdoptLegacySchema("websockettoken", "websocket_tokens", TOKEN_LEGACY_INDEXES),
        AdoptLegacySchema(
            "connectionratelimit", "connection_rate_limits", RATE_LIMIT_LEGACY_INDEXES
        ),
    ]
