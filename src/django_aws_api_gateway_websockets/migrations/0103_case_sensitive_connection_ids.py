"""MySQL/MariaDB: compare connection ids case-sensitively.

API Gateway's connection ids are base64 (``Llf4ceE2NjMCF7w=``), where case matters, but MySQL's
default collations (``utf8mb4_general_ci``, ``utf8mb4_unicode_ci``...) compare text without
case: two ids differing only in case would share one row, and a message for one would be
handled as the other's. This gives the column the binary collation of its character set.
Other databases already compare case-sensitively: nothing to do there. No state change (the
collation is not declared on the field, so that the model stays portable); reversing is a
no-op.
"""

from django.db import migrations

TABLE = "django_aws_api_gateway_websockets_websocketsession"


def binary_collation(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "mysql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH "
            "FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s",
            [TABLE, "connection_id"],
        )
        row = cursor.fetchone()
    if row is None:
        return
    charset, collation, nullable, length = row
    if collation == f"{charset}_bin":
        return
    quote = connection.ops.quote_name
    null = "NULL" if nullable == "YES" else "NOT NULL"
    schema_editor.execute(
        f"ALTER TABLE {quote(TABLE)} MODIFY {quote('connection_id')} "
        f"varchar({int(length)}) CHARACTER SET {charset} COLLATE {charset}_bin {null}"
    )


class Migration(migrations.Migration):
    # Released as 0013_case_sensitive_connection_ids; renamed onto our branch from 0009 (see docs/upgrading.md).
    replaces = [("django_aws_api_gateway_websockets", "0013_case_sensitive_connection_ids")]
    dependencies = [("django_aws_api_gateway_websockets", "0102_apigateway_secret_rotation")]

    # atomic=False: MySQL cannot roll DDL back, and Django refuses DDL inside a transaction there.
    operations = [
        migrations.RunPython(
            binary_collation, migrations.RunPython.noop, atomic=False, elidable=False
        )
    ]
