"""Migrations applied by another release: known names (ours, the names they replace, release
4.1's) pass; an unknown one stops ``migrate`` even with the system checks skipped."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from django_aws_api_gateway_websockets import checks, migration_history
from django_aws_api_gateway_websockets.models import ApiGateway

APP = migration_history.APP_LABEL
#: Names databases can hold that are not files of ours: replaced by 0100-0104 and the squash.
REPLACED = [
    "0010_adopt_legacy_token_tables",
    "0011_apigateway_secret",
    "0012_apigateway_secret_rotation",
    "0013_case_sensitive_connection_ids",
    "0014_apigateway_provisioning_token",
    "0001_initial",
    "0009_alter_connectionratelimit_table_and_more",
]
RELEASE_4_1 = [
    "0010_hash_websockettoken_session_key",
    "0011_channelpermission_channelpermissionrule",
    "0012_apigateway_provisioning_status",
    "0013_apigatewayadditionalroute_aws_ids",
    "0014_websocketsession_auth_hash_and_more",
    "0015_alter_apigateway_provisioning_status",
]


@pytest.mark.django_db
def test_replaced_and_release_4_1_names_are_known() -> None:
    recorder = MigrationRecorder(connection)
    for name in REPLACED + RELEASE_4_1:
        recorder.record_applied(APP, name)
    assert migration_history.unknown_applied("default") == []
    assert checks.check_foreign_migrations(databases=["default"]) == []


@pytest.mark.django_db
def test_an_unknown_name_is_reported_by_e008() -> None:
    MigrationRecorder(connection).record_applied(APP, "9999_from_an_unknown_release")
    assert migration_history.unknown_applied("default") == ["9999_from_an_unknown_release"]
    [message] = checks.check_foreign_migrations(databases=["default"])
    assert message.id == "aws_websockets.E008"


@pytest.mark.django_db(transaction=True)
def test_skipping_checks_does_not_migrate_over_an_unknown_history() -> None:
    """The guard runs on ``pre_migrate``, before any operation: nothing is unapplied or rebuilt
    (on SQLite a rebuild would drop the columns the unknown release added)."""
    ApiGateway.objects.create(api_name="kept")
    recorder = MigrationRecorder(connection)
    recorder.record_applied(APP, "9999_from_an_unknown_release")
    before = set(recorder.applied_migrations())
    try:
        with pytest.raises(CommandError, match="9999_from_an_unknown_release"):
            call_command(
                "migrate", APP, "0100_adopt_legacy_token_tables", skip_checks=True, verbosity=0
            )
        assert set(recorder.applied_migrations()) == before
        with connection.cursor() as cursor:
            columns = {
                column.name
                for column in connection.introspection.get_table_description(
                    cursor, ApiGateway._meta.db_table
                )
            }
        assert {"secret", "provisioning_status"} <= columns
        assert ApiGateway.objects.filter(api_name="kept").exists()
    finally:
        recorder.record_unapplied(APP, "9999_from_an_unknown_release")
    call_command("migrate", verbosity=0)  # the known history migrates again
