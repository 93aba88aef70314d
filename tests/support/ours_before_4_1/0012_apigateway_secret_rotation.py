"""Secret rotation without downtime: the previous secret and when it was replaced (ours).

``provisionApiGateway rotate-secret`` stores a new secret and keeps the old one here; the view
accepts both for ``WEBSOCKETS["secret_rotation_window_seconds"]`` while AWS deploys the new one.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0011_apigateway_secret")]

    operations = [
        migrations.AddField(
            model_name="apigateway",
            name="previous_secret",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="The secret before the last rotation, accepted for a window after it.",
                max_length=128,
            ),
        ),
        migrations.AddField(
            model_name="apigateway",
            name="secret_rotated_at",
            field=models.DateTimeField(blank=True, default=None, editable=False, null=True),
        ),
    ]
