"""Release 4.1's 0014: a connection remembers (as keyed hashes) the login it was opened under."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0013_apigatewayadditionalroute_aws_ids")]

    operations = [
        migrations.AddField(
            model_name="websocketsession",
            name="auth_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="websocketsession",
            name="session_key_hash",
            field=models.CharField(blank=True, db_index=True, default="", max_length=64),
        ),
    ]
