"""Release 4.1's 0012: how far provisioning got, and what stopped it."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0011_channelpermission_channelpermissionrule")
    ]

    operations = [
        migrations.AddField(
            model_name="apigateway",
            name="last_error",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="What stopped the last provisioning run: error class and AWS error code.",
                max_length=255,
            ),
        ),
        migrations.AddField(
            model_name="apigateway",
            name="provisioning_status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("api_created", "API created"),
                    ("routes_created", "Routes created"),
                    ("deployed", "Deployed"),
                    ("domain_created", "Custom domain created"),
                    ("mapped", "Custom domain mapped"),
                ],
                default="pending",
                help_text="The last provisioning step that completed.",
                max_length=16,
            ),
        ),
    ]
