"""The schema of the existing package at its 0009 (release 4.0.0), created in one step.

Django uses this for databases where none of 0001-0009 is applied, and the nine individual
migrations (kept on purpose) for databases part way through that history.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    replaces = [
        ("django_aws_api_gateway_websockets", "0001_initial"),
        ("django_aws_api_gateway_websockets", "0002_rename_author_websocketsession_user"),
        ("django_aws_api_gateway_websockets", "0003_auto_20220706_1018"),
        ("django_aws_api_gateway_websockets", "0004_auto_20221208_1227"),
        ("django_aws_api_gateway_websockets", "0005_apigatewayadditionalroute_deployed"),
        ("django_aws_api_gateway_websockets", "0006_auto_20221215_0847"),
        ("django_aws_api_gateway_websockets", "0007_connectionratelimit_websockettoken"),
        (
            "django_aws_api_gateway_websockets",
            "0008_remove_websockettoken_websocket_t_created_c55db3_idx_and_more",
        ),
        ("django_aws_api_gateway_websockets", "0009_alter_connectionratelimit_table_and_more"),
    ]

    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="ApiGateway",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("api_name", models.CharField(max_length=255, unique=True)),
                ("api_description", models.CharField(blank=True, default="", max_length=255)),
                (
                    "default_channel_name",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Automatically sets the 'channel' on the WebSocketSession record for the connection",
                        max_length=128,
                    ),
                ),
                (
                    "domain_name",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The full domain you wish to use for the API endpoint. E.G ws.example.com",
                        max_length=255,
                    ),
                ),
                (
                    "target_base_endpoint",
                    models.URLField(
                        blank=True,
                        default=None,
                        null=True,
                        help_text="The URL on your website where the API Gateway routes will point, including the trailing /, but excluding the final route/slug portion of the URL. E.G. If your default route will point to https://www.example.com/ws/default then enter https://www.example.com/ws/",
                    ),
                ),
                (
                    "certificate_arn",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The ARN of the certificate to use from AWS Certificate Manager",
                        max_length=255,
                    ),
                ),
                (
                    "hosted_zone_id",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The Hosted Zone ID from AWs Route 53 for the domain you wish to use",
                        max_length=32,
                    ),
                ),
                (
                    "api_key_selection_expression",
                    models.CharField(default="$request.header.x-api-key", max_length=255),
                ),
                (
                    "route_selection_expression",
                    models.CharField(default="$request.body.action", max_length=255),
                ),
                ("route_key", models.CharField(default="$default", max_length=255)),
                ("stage_name", models.CharField(blank=True, default="production", max_length=63)),
                ("stage_description", models.CharField(blank=True, default="", max_length=63)),
                (
                    "deployment_id",
                    models.CharField(blank=True, default="", editable=False, max_length=32),
                ),
                (
                    "tags",
                    models.JSONField(
                        blank=True, default=dict, help_text='In format {"tag-name": "tag-value"}'
                    ),
                ),
                (
                    "api_id",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The ID of the Api Gateway returned by AWS",
                        max_length=32,
                    ),
                ),
                (
                    "api_endpoint",
                    models.CharField(
                        blank=True, default="", help_text="The Api Gateway endpoint", max_length=255
                    ),
                ),
                (
                    "api_gateway_domain_name",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The value to point your CNAME record to",
                        max_length=255,
                    ),
                ),
                (
                    "api_mapping_id",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="The ApiMappingId to use with api_mapping calls",
                        max_length=128,
                    ),
                ),
                ("api_created", models.BooleanField(default=False, editable=False)),
                ("custom_domain_created", models.BooleanField(default=False, editable=False)),
                ("created_on", models.DateTimeField(auto_now_add=True)),
                ("updated_on", models.DateTimeField(auto_now=True)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["api_id"], name="django_aws__api_id_0da7ec_idx"),
                    models.Index(fields=["domain_name"], name="django_aws__domain__3b4423_idx"),
                    models.Index(
                        fields=["custom_domain_created"], name="django_aws__custom__5e8390_idx"
                    ),
                    models.Index(fields=["api_created"], name="django_aws__api_cre_376add_idx"),
                    models.Index(fields=["created_on"], name="django_aws__created_32cf2a_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ApiGatewayAdditionalRoute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(help_text="Descriptive name for the route", max_length=63),
                ),
                ("route_key", models.CharField(db_index=True, max_length=64)),
                ("integration_url", models.URLField()),
                ("deployed", models.BooleanField(default=False, editable=False)),
                ("created_on", models.DateTimeField(auto_now_add=True)),
                ("updated_on", models.DateTimeField(auto_now=True)),
                (
                    "api_gateway",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="additional_routes",
                        to="django_aws_api_gateway_websockets.apigateway",
                    ),
                ),
            ],
            options={"unique_together": {("api_gateway", "route_key")}},
        ),
        migrations.CreateModel(
            name="WebSocketSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("connection_id", models.CharField(max_length=255, unique=True)),
                (
                    "channel_name",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Used to group connections together",
                        max_length=128,
                    ),
                ),
                (
                    "connected",
                    models.BooleanField(
                        default=True, help_text="Indicates is the connection is current or not"
                    ),
                ),
                ("request_count", models.PositiveBigIntegerField(default=1)),
                ("created_on", models.DateTimeField(auto_now_add=True)),
                ("updated_on", models.DateTimeField(auto_now=True)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        default=None,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="websocket_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "api_gateway",
                    models.ForeignKey(
                        blank=True,
                        default=None,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="sessions",
                        to="django_aws_api_gateway_websockets.apigateway",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        fields=["connection_id", "connected"], name="django_aws__connect_fee1eb_idx"
                    ),
                    models.Index(
                        fields=["channel_name", "connection_id"],
                        name="django_aws__channel_dd10fa_idx",
                    ),
                    models.Index(
                        fields=["channel_name", "connected"], name="django_aws__channel_1de026_idx"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ConnectionRateLimit",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ip_address", models.GenericIPAddressField(db_index=True)),
                ("attempt_time", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("successful", models.BooleanField(default=False)),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="connection_attempts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["ip_address", "attempt_time"], name="idx_ip_attempt_time"),
                    models.Index(fields=["user", "attempt_time"], name="idx_user_attempt_time"),
                ],
            },
        ),
        migrations.CreateModel(
            name="WebSocketToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "token",
                    models.CharField(
                        max_length=64,
                        unique=True,
                        validators=[
                            django.core.validators.RegexValidator(
                                "^[a-f0-9]{64}$", "Invalid token format"
                            )
                        ],
                    ),
                ),
                ("session_key", models.CharField(db_index=True, max_length=40)),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("used", models.BooleanField(default=False)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="websocket_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["token", "used"], name="idx_websocket_tokens_used")
                ]
            },
        ),
    ]
