"""The token provisioning tags a created API with (ours).

It is written to the row before ``CreateApi`` is called, so an API whose answer never arrived
(a killed run, a request botocore retried after a read timeout) is found by its tag and adopted
by the next run instead of being created twice.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("django_aws_api_gateway_websockets", "0013_case_sensitive_connection_ids")]

    operations = [
        migrations.AddField(
            model_name="apigateway",
            name="provisioning_token",
            field=models.CharField(
                blank=True,
                default="",
                editable=False,
                help_text="Identifies the API created for this row (provisioning tags it with it).",
                max_length=64,
            ),
        ),
    ]
