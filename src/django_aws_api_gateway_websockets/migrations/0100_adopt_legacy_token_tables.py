"""Rename ``websocket_tokens`` / ``connection_rate_limits`` left behind at the old package's 0009.

A database that applied release 3.0.3's 0008 and then the later releases' 0009 is recorded as
complete but still has the old table (and index) names. No state change; a no-op otherwise.
"""

from django.db import migrations

from ._operations import RATE_LIMIT_LEGACY_INDEXES, TOKEN_LEGACY_INDEXES, AdoptLegacySchema


class Migration(migrations.Migration):
    # Released as 0010_adopt_legacy_token_tables; renamed onto our branch from 0009 (see docs/upgrading.md).
    replaces = [("django_aws_api_gateway_websockets", "0010_adopt_legacy_token_tables")]
    dependencies = [("django_aws_api_gateway_websockets", "0001_squashed_0009_v4_schema")]

    operations = [
        AdoptLegacySchema("websockettoken", "websocket_tokens", TOKEN_LEGACY_INDEXES),
        AdoptLegacySchema(
            "connectionratelimit", "connection_rate_limits", RATE_LIMIT_LEGACY_INDEXES
        ),
    ]
