"""ChannelPermission.allows / for_channel and ChannelPermissionRule: release 4.1's rules."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import IntegrityError

from django_aws_api_gateway_websockets.models import (
    ChannelAccess,
    ChannelPermission,
    ChannelPermissionRule,
)

pytestmark = pytest.mark.django_db


def perm(codename: str) -> Permission:
    return Permission.objects.get(codename=codename)


def make_user(name: str, *codenames: str, **flags: Any) -> Any:
    user = get_user_model().objects.create_user(name, **flags)
    user.user_permissions.add(*(perm(c) for c in codenames))
    return get_user_model().objects.get(pk=user.pk)  # no cached permissions


def channel(access: str, *rules: tuple[str, ...]) -> ChannelPermission:
    row = ChannelPermission.objects.create(channel_name=f"room-{access}", access=access)
    for codenames in rules:
        rule = ChannelPermissionRule.objects.create(channel_permission=row)
        rule.permissions.add(*(perm(c) for c in codenames))
    return row


def test_for_channel() -> None:
    assert ChannelPermission.for_channel("nowhere") is None
    row = channel(ChannelAccess.STAFF_ONLY)
    assert ChannelPermission.for_channel("room-staff_only") == row
    assert ChannelPermission.Access is ChannelAccess  # release 4.1's name
    with pytest.raises(IntegrityError):
        ChannelPermission.objects.create(channel_name="room-staff_only")


def test_allow_all_admits_everyone() -> None:
    row = channel(ChannelAccess.ALLOW_ALL)
    assert row.allows(AnonymousUser()) and row.allows(None)
    assert row.allows(make_user("off", is_active=False))


@pytest.mark.parametrize("access", [a.value for a in ChannelAccess if a != ChannelAccess.ALLOW_ALL])
def test_other_levels_refuse_anonymous_and_inactive_and_admit_superusers(access: str) -> None:
    row = channel(access, ("add_user",))
    assert not row.allows(AnonymousUser()) and not row.allows(None)
    assert not row.allows(make_user("off", "add_user", is_active=False, is_staff=True))
    assert row.allows(make_user("root", is_superuser=True))


def test_superuser_only_and_staff_only() -> None:
    staff = make_user("staff", is_staff=True)
    assert not channel(ChannelAccess.SUPERUSER_ONLY).allows(staff)
    staff_room = channel(ChannelAccess.STAFF_ONLY)
    assert staff_room.allows(staff)
    assert not staff_room.allows(make_user("plain"))


def test_permissions_all_of_one_rule(django_assert_num_queries: Any) -> None:
    row = channel(ChannelAccess.PERMISSIONS, ("add_user", "change_user"), ("view_group",))
    both = make_user("both", "add_user", "change_user")
    one = make_user("one", "add_user")
    viewer = make_user("viewer", "view_group")
    assert row.allows(both) and row.allows(viewer)
    assert not row.allows(one)
    assert not row.allows(make_user("staff", is_staff=True))
    row = ChannelPermission.objects.get(pk=row.pk)
    both = get_user_model().objects.get(pk=both.pk)
    with django_assert_num_queries(3):  # the rules, then the user's own and group permissions
        assert row.allows(both)


def test_permissions_without_rules_or_with_empty_rules_admit_superusers_only() -> None:
    user = make_user("has-all", "add_user", "change_user", is_staff=True)
    assert not channel(ChannelAccess.PERMISSIONS).allows(user)
    empty = ChannelPermission.objects.create(channel_name="empty", access=ChannelAccess.PERMISSIONS)
    ChannelPermissionRule.objects.create(channel_permission=empty)
    assert not empty.allows(user)
    assert empty.allows(make_user("root", is_superuser=True))


def test_an_unknown_access_value_admits_no_one() -> None:
    row = ChannelPermission.objects.create(channel_name="odd", access="everyone-please")
    assert not row.allows(make_user("root", is_superuser=True))
    assert not row.allows(AnonymousUser())


def test_rule_and_row_text() -> None:
    row = channel(ChannelAccess.PERMISSIONS, ("add_user", "change_user"))
    rule = row.rules.get()
    assert str(rule) == "auth.add_user AND auth.change_user"
    assert str(ChannelPermissionRule.objects.create(channel_permission=row)) == "(no permissions)"
    assert str(row) == "room-permissions (Users with the permissions of a rule)"
    assert list(perm("add_user").channel_permission_rules.all()) == [rule]
