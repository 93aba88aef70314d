"""Release 4.1's 0010: tokens keep a keyed hash of the session key, never the key (64 wide).

4.1 deletes the existing tokens here; ours hashes them in place instead, with the same function
the token code uses: no raw key stays behind, every row is kept, and a token issued a moment
before the upgrade still opens its connection after it. Backwards, the hashes are deleted (they
do not fit the narrower column and cannot be turned back into keys).
"""

from django.db import migrations, models

from django_aws_api_gateway_websockets.models.hashes import hash_session_key

BATCH = 500


def hash_session_keys(apps, schema_editor):
    token_model = apps.get_model("django_aws_api_gateway_websockets", "WebSocketToken")
    tokens = token_model.objects.using(schema_editor.connection.alias)
    batch = []
    for token in tokens.only("pk", "session_key").order_by("pk").iterator(chunk_size=BATCH):
        token.session_key = hash_session_key(token.session_key)
        batch.append(token)
        if len(batch) == BATCH:
            tokens.bulk_update(batch, ["session_key"])
            batch = []
    tokens.bulk_update(batch, ["session_key"])


def delete_hashed_tokens(apps, schema_editor):
    token_model = apps.get_model("django_aws_api_gateway_websockets", "WebSocketToken")
    token_model.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("django_aws_api_gateway_websockets", "0009_alter_connectionratelimit_table_and_more")
    ]

    operations = [
        migrations.AlterField(
            model_name="websockettoken",
            name="session_key",
            field=models.CharField(db_index=True, max_length=64),
        ),
        migrations.RunPython(hash_session_keys, delete_hashed_tokens, elidable=False),
    ]
