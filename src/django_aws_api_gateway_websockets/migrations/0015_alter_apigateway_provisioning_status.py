"""Release 4.1's 0015: the ``creating`` status (a run's claim on the row). No SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0014_websocketsession_auth_hash_and_more")
    ]

    operations = [
        migrations.AlterField(
            model_name="apigateway",
            name="provisioning_status",
            field=models.CharField(
                choices=[
                    ("pending", "Pending"),
                    ("creating", "Creating"),
                    ("api_created", "API created"),
                    ("routes_created", "Routes created"),
                    ("deployed", "Deployed"),
                    ("domain_created", "Custom domain created"),
                    ("mapped", "Custom domain mapped"),
                ],
                default="pending",
                help_text="The last provisioning step that completed. 'Creating' while a run "
                "holds the gateway; a run resumes from the recorded step.",
                max_length=16,
            ),
        ),
    ]
