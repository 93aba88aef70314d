"""Release 4.1's system check ids in ``SILENCED_SYSTEM_CHECKS`` silence our check with the same
meaning (check_aliases.py); each case first shows our check firing without the silence."""

from __future__ import annotations

import re
import zipfile

import pytest
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

from django_aws_api_gateway_websockets import check_aliases, checks
from django_aws_api_gateway_websockets.models import ApiGateway
from tests.support import legacy_db

P41 = check_aliases.RELEASE_41_PREFIX
SECRET = "s" * 40


def ours(messages: list[CheckMessage]) -> list[str]:
    """Our ids that ``manage.py check`` would show (it drops the silenced ones itself)."""
    return sorted(
        str(m.id)
        for m in messages
        if str(m.id).startswith("aws_websockets.") and not m.is_silenced()
    )


def run(**settings: object) -> list[str]:
    with override_settings(**settings):
        return ours(run_checks(include_deployment_checks=True, databases=["default"]))


CASES = [
    # (our id, the 4.1 id that silences it, the settings that make it fire)
    ("aws_websockets.E001", f"{P41}.E002", {"WEBSOCKETS": None}),
    ("aws_websockets.E002", f"{P41}.E002", {"WEBSOCKETS": {"token_expiry_seconds": 0}}),
    ("aws_websockets.E002", f"{P41}.E001", {"WEBSOCKETS": {"gateway_secret": "short"}}),
    ("aws_websockets.W001", f"{P41}.W002", {"WEBSOCKETS": {"token_expiry": 60}}),
    (
        "aws_websockets.E003",
        f"{P41}.W003",
        {"AWS_REGION_NAME": None, "AWS_GATEWAY_REGION_NAME": None},
    ),
    # tests/urls.py routes views without ALLOWED_HANDLERS, and with unlisted channels open
    ("aws_websockets.W007", f"{P41}.W005", {}),
    ("aws_websockets.W008", f"{P41}.W004", {}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("our_id", "their_id", "settings"), CASES)
def test_a_release_41_id_silences_ours(our_id: str, their_id: str, settings: dict) -> None:
    assert our_id in run(**settings)
    assert our_id not in run(**settings, SILENCED_SYSTEM_CHECKS=[their_id])
    assert our_id not in run(**settings, SILENCED_SYSTEM_CHECKS=[our_id])  # ours still work


@pytest.mark.django_db
def test_an_invalid_secret_is_not_silenced_by_the_id_for_other_values() -> None:
    """4.1 reports a bad secret as E001 and other bad values as E002: silencing one leaves
    the other reported."""
    both = {"WEBSOCKETS": {"gateway_secret": "short", "token_expiry_seconds": 0}}
    with override_settings(**both, SILENCED_SYSTEM_CHECKS=[f"{P41}.E002"]):
        [left] = checks.check_websockets_setting()
    assert "gateway_secret" in left.msg and "short" not in f"{left.msg}{left.hint}"
    assert "refused" in str(left.hint)
    with override_settings(**both, SILENCED_SYSTEM_CHECKS=[f"{P41}.E001"]):
        [left] = checks.check_websockets_setting()
    assert "token_expiry_seconds" in left.msg


@pytest.mark.django_db
def test_gateways_without_a_secret_silenced_by_release_41_w001() -> None:
    ApiGateway.objects.create(api_name="open", secret="")
    assert "aws_websockets.W005" in run()
    assert "aws_websockets.W005" not in run(SILENCED_SYSTEM_CHECKS=[f"{P41}.W001"])


@pytest.mark.django_db
def test_the_site_wide_secret_authenticates_gateways_without_their_own() -> None:
    ApiGateway.objects.create(api_name="open", secret="")
    assert "aws_websockets.W005" not in run(WEBSOCKETS={"gateway_secret": SECRET})
    # an invalid one authenticates nothing (it refuses every callback: E002)
    assert {"aws_websockets.W005", "aws_websockets.E002"} <= set(
        run(WEBSOCKETS={"gateway_secret": "short"})
    )


@pytest.mark.django_db
def test_a_release_41_projects_silenced_list_raises_nothing_about_itself() -> None:
    every = [*check_aliases.RELEASE_41_IDS.values(), *check_aliases.RELEASE_41_KEY_IDS.values()]
    with override_settings(SILENCED_SYSTEM_CHECKS=every):
        messages = run_checks(include_deployment_checks=True, databases=["default"])
    assert [m for m in messages if P41 in f"{m.msg}{m.hint}{m.id}"] == []


def test_every_release_41_id_has_a_counterpart(tmp_path) -> None:
    """Read from the real 4.1.0 wheel: the ids its checks use."""
    wheel = legacy_db.wheel_for("4.1.0")
    if wheel is None:
        pytest.fail(legacy_db.missing_wheels_message(("4.1.0",)) or "", pytrace=False)
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read("django_aws_api_gateway_websockets/checks.py").decode()
    theirs = set(re.findall(rf"{P41}\.[EW]\d{{3}}", source))
    known = {
        *check_aliases.RELEASE_41_IDS.values(),
        *check_aliases.RELEASE_41_KEY_IDS.values(),
    }
    assert len(theirs) == 7 and theirs == known
