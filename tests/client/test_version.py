"""The shipped client's version is the package's, everywhere it is written down."""

from __future__ import annotations

import re
from pathlib import Path

from django.contrib.staticfiles import finders

from django_aws_api_gateway_websockets import __version__
from django_aws_api_gateway_websockets.templatetags.aws_websockets import client_config
from tests.support.browser import CLIENT_JS
from tests.support.paths import ROOT


def test_client_version_matches_the_package_and_the_docs() -> None:
    source = CLIENT_JS.read_text()
    (exported,) = re.findall(r'^export const VERSION = "([^"]+)";$', source, re.M)
    (banner,) = re.findall(r"^/\*! django-aws-api-gateway-websockets client (\S+) ", source, re.M)
    (project,) = re.findall(r'^version = "([^"]+)"$', (ROOT / "pyproject.toml").read_text(), re.M)
    documented = re.findall(r"version \*\*([^*]+)\*\*", (ROOT / "docs" / "client.md").read_text())
    (channels_banner,) = re.findall(
        r"^/\*! django-aws-api-gateway-websockets client channels (\S+) ",
        (CLIENT_JS.parent / "channels.js").read_text(),
        re.M,
    )
    assert exported == banner == channels_banner == __version__ == project
    assert documented == [__version__]
    assert client_config({})["version"] == __version__  # what the tag writes into pages


def test_the_client_is_found_as_static_and_packaged() -> None:
    found = finders.find("django_aws_api_gateway_websockets/client.js")
    assert found is not None and Path(str(found)).resolve() == CLIENT_JS.resolve()
    pyproject = (ROOT / "pyproject.toml").read_text()
    (package_data,) = re.findall(r"^django_aws_api_gateway_websockets = \[(.*)\]$", pyproject, re.M)
    assert '"static/**/*"' in package_data
