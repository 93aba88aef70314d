"""``--drop-disconnect`` (fault injection: API Gateway's ``$disconnect`` is best effort):
off by default, on from the command line of both entry points, and documented."""

from __future__ import annotations

from django_aws_api_gateway_websockets.local_gateway import cli
from django_aws_api_gateway_websockets.management.commands.runwsgateway import Command
from tests.support.paths import ROOT


def parse(*args: str) -> dict:
    parser = Command().create_parser("manage.py", "runwsgateway")
    return vars(parser.parse_args(list(args)))


def test_the_option_sets_the_limit():
    assert cli.limits_from_options(parse()).drop_disconnect is False
    assert cli.limits_from_options(parse("--drop-disconnect")).drop_disconnect is True


def test_the_module_entry_point_has_it_too():
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    options = vars(parser.parse_args(["--drop-disconnect"]))
    assert cli.limits_from_options(options).drop_disconnect is True


def test_it_is_documented():
    page = (ROOT / "docs" / "local-gateway.md").read_text()
    assert "`--drop-disconnect`" in page and "disconnect_dropped" in page
