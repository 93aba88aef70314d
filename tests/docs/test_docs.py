"""The documentation site: it builds with ``mkdocs build --strict``, its nav covers the topics,
its code samples run, and its troubleshooting page quotes messages the code really produces.

A fenced block preceded by an HTML comment ``<!-- test: KIND -->`` is tested as KIND:

- ``run``: Python executed as it is, with the test database;
- ``settings``: Python settings; the package's system checks pass on them;
- ``pytest``: a test module, run by pytest in a subprocess (with this project's settings);
- ``template``: a Django template that must compile;
- ``page``: a Django template rendered and loaded in Chromium (``test_docs_js.py``);
- ``browser``: a JavaScript module run in Chromium (``test_docs_js.py``).

Every other ``python`` block must at least parse.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import django
import pytest
import yaml
from django.template import Template
from django.test import override_settings

from tests.support.paths import ROOT

DOCS = ROOT / "docs"
SOURCE = ROOT / "src" / "django_aws_api_gateway_websockets"

FENCE = re.compile(
    r"(?:<!-- test: (?P<kind>[a-z]+) -->\n)?^```(?P<lang>[a-z]*)[^\n]*\n(?P<code>.*?)^```$",
    re.M | re.S,
)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    kind: str | None
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(kind: str | None = None, lang: str | None = None) -> list[Block]:
    found = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        for match in FENCE.finditer(text):
            block = Block(
                path.name,
                text.count("\n", 0, match.start("code")) + 1,
                match["lang"],
                match["kind"],
                match["code"],
            )
            if (kind is None or block.kind == kind) and (lang is None or block.lang == lang):
                found.append(block)
    return found


def params(kind: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in blocks(kind)]


# -- the site ------------------------------------------------------------------------------------


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    assert (tmp_path / "troubleshooting" / "index.html").exists()
    assert (tmp_path / "images" / "demo-chat-alice.png").exists()


def nav_pages() -> list[str]:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())

    def walk(items: Any) -> list[str]:
        pages: list[str] = []
        for item in items:
            for value in item.values():
                pages.extend(walk(value) if isinstance(value, list) else [value])
        return pages

    return walk(config["nav"])


def test_nav_covers_every_topic() -> None:
    pages = nav_pages()
    for topic in [
        "quickstart.md",
        "concepts.md",
        "views.md",
        "tokens.md",
        "channels.md",
        "messaging.md",
        "local-gateway.md",
        "provisioning.md",
        "testing.md",
        "settings.md",
        "deployment.md",
        "upgrading.md",
        "troubleshooting.md",
        "client.md",
    ]:
        assert topic in pages
    assert len(pages) == len(set(pages))


def test_the_marked_blocks_are_found() -> None:
    kinds = {b.kind for b in blocks() if b.kind}
    assert kinds == {"run", "settings", "pytest", "template", "page", "browser"}
    assert all(b.lang in {"python", "django", "javascript"} for b in blocks() if b.kind)


# -- code samples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in blocks(lang="python")])
def test_python_samples_parse(block: Block) -> None:
    ast.parse(block.code, filename=block.id)


@pytest.mark.django_db
@pytest.mark.parametrize("block", params("run"))
def test_run_samples(block: Block) -> None:
    namespace: dict[str, Any] = {"__name__": f"docs_sample_{block.line}"}
    exec(compile(block.code, block.id, "exec"), namespace)


@pytest.mark.parametrize("block", params("settings"))
def test_settings_samples_pass_the_system_checks(block: Block) -> None:
    from django_aws_api_gateway_websockets import checks

    values: dict[str, Any] = {}
    exec(compile(block.code, block.id, "exec"), values)
    values = {k: v for k, v in values.items() if k.isupper()}
    if "INSTALLED_APPS" in values:
        assert "django_aws_api_gateway_websockets" in values["INSTALLED_APPS"]
        values.pop("INSTALLED_APPS")  # the test project's apps stay installed
    with override_settings(**values):
        problems = [
            *checks.check_websockets_setting(),
            *checks.check_channel_namespaces(),
            *checks.check_aws_settings(),
            *checks.check_middleware(),
        ]
    assert problems == []


@pytest.mark.parametrize("block", params("template") + params("page"))
def test_template_samples_compile(block: Block) -> None:
    Template(block.code)


def test_pytest_samples(tmp_path: Path) -> None:
    samples = blocks("pytest")
    assert samples
    for n, block in enumerate(samples):
        (tmp_path / f"test_docs_sample_{n}.py").write_text(f"# {block.id}\n{block.code}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            str(tmp_path),
        ],
        cwd=ROOT,
        # On SQLite: with the outer run's DATABASE_URL the inner pytest would create and then
        # drop the very test database the outer run is using.
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    tests = sum(len(re.findall(r"^def test_", b.code, re.M)) for b in samples)
    assert f"{tests} passed" in result.stdout


# -- troubleshooting -------------------------------------------------------------------------------


def _python_strings(path: Path) -> list[str]:
    """Every string literal of a module, f-strings with ``{}`` for their values."""
    strings = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
        elif isinstance(node, ast.JoinedStr):
            strings.append(
                "".join(
                    part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
                )
            )
    return strings


def _js_text(path: Path) -> str:
    """The JS source with string concatenations across lines joined."""
    return re.sub(r"[`\"]\s*\+\s*\n?\s*[`\"]", "", path.read_text())


def message_corpus() -> str:
    parts = [s for path in SOURCE.rglob("*.py") for s in _python_strings(path)]
    parts += [_js_text(path) for path in SOURCE.rglob("*.js")]
    parts.append((Path(django.__file__).parent / "views" / "csrf.py").read_text())
    return "\n".join(parts)


def symptoms() -> list[str]:
    text = (DOCS / "troubleshooting.md").read_text()
    return re.findall(r"^### `(.+)`$", text, re.M)


def test_troubleshooting_symptoms_are_real_messages() -> None:
    corpus = message_corpus()
    found = symptoms()
    assert len(found) >= 35
    missing = []
    for symptom in found:
        pattern = ".+?".join(re.escape(part) for part in re.split(r"<[a-z ]+>", symptom))
        if not re.search(pattern, corpus):
            missing.append(symptom)
    assert missing == []


def test_every_view_rejection_is_in_troubleshooting() -> None:
    from django_aws_api_gateway_websockets import views

    messages = {
        value
        for name, value in vars(views).items()
        if name.isupper() and isinstance(value, str) and name not in {"SECRET_HEADER"}
    }
    documented = set(symptoms())
    assert messages - documented == set()


def test_every_management_command_named_exists() -> None:
    """``manage.py NAME`` in the docs, the README and the package's messages is a real command."""
    from django.core.management import get_commands

    known = set(get_commands())
    known |= {p.stem for p in (ROOT / "example" / "chat" / "management" / "commands").glob("*.py")}
    texts = [p.read_text() for p in [*DOCS.glob("*.md"), ROOT / "README.md"]]
    texts += [s for path in SOURCE.rglob("*.py") for s in _python_strings(path)]
    named = {name for text in texts for name in re.findall(r"manage\.py (\w+)", text)}
    assert named and named - known == set()


def test_every_setting_and_check_id_is_documented() -> None:
    from django_aws_api_gateway_websockets.conf import OPTIONS

    text = "".join(p.read_text() for p in DOCS.glob("*.md"))
    assert [key for key in OPTIONS if f"`{key}`" not in text] == []
    sources = "".join((SOURCE / name).read_text() for name in ("checks.py", "view_checks.py"))
    ids = set(re.findall(r"aws_websockets\.[EW]\d{3}", sources))
    settings_page = (DOCS / "settings.md").read_text()
    assert ids and {i for i in ids if f"`{i}`" not in settings_page} == set()
