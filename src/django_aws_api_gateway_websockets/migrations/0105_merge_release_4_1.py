"""Joins release 4.1's trunk (0010-0015) and our branch (0100-0104).

Every database reaches this node whichever side it already had: 4.1's gets ours, ours at its old
0013/0014 gets 4.1's. A later upstream release goes on the trunk after 0015, followed by one more
merge like this one. No operations.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0015_alter_apigateway_provisioning_status"),
        ("django_aws_api_gateway_websockets", "0104_apigateway_provisioning_token"),
    ]

    operations: list[migrations.operations.base.Operation] = []
