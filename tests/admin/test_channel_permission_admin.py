"""The channel permissions admin: rules inline, the "(A AND B) OR (C)" summary, adding a row
with a rule through the admin's form, an unknown access value refused by the form (and shown as
"no one" for a row written by hand), and the admin called directly as projects' tests do."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from django_aws_api_gateway_websockets.admin import ChannelPermissionAdmin, rules_summary
from django_aws_api_gateway_websockets.models import ChannelPermission, ChannelPermissionRule

pytestmark = pytest.mark.django_db

URL = "admin:django_aws_api_gateway_websockets_channelpermission"


@pytest.fixture
def admin_client(db: None) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("boss", "b@example.com", "pw"))
    return client


def with_rules(name: str, *rules: list[str]) -> ChannelPermission:
    row = ChannelPermission.objects.create(channel_name=name, access="permissions")
    for codenames in rules:
        rule = ChannelPermissionRule.objects.create(channel_permission=row)
        rule.permissions.set(Permission.objects.filter(codename__in=codenames))
    return row


def test_summary_ands_within_a_rule_and_ors_across() -> None:
    row = with_rules("board", ["change_user", "add_user"], ["view_user"], [])
    assert rules_summary(row) == "(auth.add_user AND auth.change_user) OR (auth.view_user)"


def test_changelist_shows_the_summary_in_few_queries(admin_client: Client) -> None:
    for n in range(5):
        with_rules(f"board{n}", ["change_user", "add_user"], ["view_user"])
    ChannelPermission.objects.create(channel_name="open", access="allow_all")
    with CaptureQueriesContext(connection) as context:
        html = admin_client.get(reverse(f"{URL}_changelist")).content.decode()
    assert html.count("(auth.add_user AND auth.change_user) OR (auth.view_user)") == 5
    assert "Everyone" in html
    assert len(context) < 15  # prefetched: not one query per row


def test_change_page_has_the_rules_inline(admin_client: Client) -> None:
    row = with_rules("board", ["view_user"])
    html = admin_client.get(reverse(f"{URL}_change", args=[row.pk])).content.decode()
    assert "rules-TOTAL_FORMS" in html
    assert "any one rule suffices" in html


def test_add_with_a_rule_through_the_form(admin_client: Client) -> None:
    view_user = Permission.objects.get(codename="view_user")
    response = admin_client.post(
        reverse(f"{URL}_add"),
        {
            "channel_name": "board",
            "access": "permissions",
            "description": "",
            "rules-TOTAL_FORMS": "1",
            "rules-INITIAL_FORMS": "0",
            "rules-0-permissions": [str(view_user.pk)],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = ChannelPermission.objects.get()
    assert rules_summary(row) == "(auth.view_user)"


@pytest.mark.parametrize(
    ("name", "access", "error"),
    [
        ("board", "everyone!", "Select a valid choice"),
        ("bad name", "allow_all", "Letters, digits"),
    ],
)
def test_bad_input_is_a_form_error(
    admin_client: Client, name: str, access: str, error: str
) -> None:
    response = admin_client.post(
        reverse(f"{URL}_add"),
        {
            "channel_name": name,
            "access": access,
            "rules-TOTAL_FORMS": "0",
            "rules-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ChannelPermission.objects.exists()


def test_a_row_with_an_unknown_access_value_says_no_one(admin_client: Client) -> None:
    row = ChannelPermission.objects.create(channel_name="odd")
    ChannelPermission.objects.filter(pk=row.pk).update(access="from_the_future")
    html = admin_client.get(reverse(f"{URL}_changelist")).content.decode()
    assert "no one (unknown access value" in html


def test_called_directly_as_projects_do() -> None:
    model_admin: Any = admin.site._registry[ChannelPermission]
    assert isinstance(model_admin, ChannelPermissionAdmin)
    row = with_rules("board")
    assert model_admin.who_may_join(row) == "superusers only (no rules)"
    request = RequestFactory().get("/")
    request.user = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    assert list(model_admin.get_queryset(request)) == [row]
