"""The documentation site (mkdocs.yml) cannot drift from the code it describes.

tests/test_docs.py runs the pages' `python` blocks and the commands of their `bash` and
`console` blocks, tests/test_multi_device.py the multi-device recipe's `sh` blocks, and
tests/test_cli.py checks that docs/cli.md names every command. This file checks the rest: every
page is in the navigation, the API reference covers every public name, every example on every
page is run by a test (or is an install, a benchmark or the server, which none can run), the
configuration page names every environment variable and setting, and the CLI reference names
every option.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from memorymesh import AsyncMemoryMesh
from memorymesh._config import SETTINGS
from memorymesh.cli import build_parser

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
NAV_PAGE = re.compile(r":\s+([\w./-]+\.md)\s*$", re.M)

# Every page the site and the repository show. tests/test_docs.py runs their `python` blocks
# and the `memorymesh` commands of their `bash` and `console` blocks; tests/test_multi_device.py
# runs the `sh` blocks of multi-device.md. `text` blocks and blocks without a language are
# output, diagrams and file contents, not code; `json` blocks must parse.
PAGES = [
    ROOT / "README.md",
    *sorted(DOCS.glob("**/*.md")),
    ROOT / "CONTRIBUTING.md",
    ROOT / "SECURITY.md",
]
# What a `console` block may show without a test running it: installs (the network), `make`
# (which runs the tests), benchmarks (printed figures, on demand), `memorymesh mcp` and
# `memorymesh ui` (servers that run until stopped; tests/test_mcp.py and tests/ui/test_cli.py
# start the real ones).
NOT_RUN = re.compile(
    r"^(pip|pipx|uv|git clone|cd|make|python benchmarks/|memorymesh mcp\b|memorymesh ui\b)"
)

ADAPTERS = ["langchain_memorymesh", "llama_index.memory.memorymesh"]


def _nav_pages() -> list[str]:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return NAV_PAGE.findall(nav)


def test_every_page_is_in_the_navigation_and_every_entry_exists() -> None:
    listed = _nav_pages()
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.glob("**/*.md"))
    assert sorted(listed) == pages
    assert len(set(listed)) == len(listed)


def test_the_published_site_is_built_by_the_command_ci_checks() -> None:
    # What GitHub Pages publishes must be what `.ci/run` checked with --strict: the workflow
    # builds with `make docs-build` (not a laxer `mkdocs build`) and uploads that site_dir.
    workflow = yaml.safe_load((ROOT / ".github/workflows/docs.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["build"]["steps"]
    commands = [step["run"] for step in steps if "run" in step]
    assert "make docs-build" in commands
    assert not any("mkdocs build" in command for command in commands)
    mkdocs = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_IgnoreTags)
    uploads = [step for step in steps if step.get("uses", "").startswith("actions/upload-pages")]
    assert [step["with"]["path"] for step in uploads] == [mkdocs["site_dir"]]
    assert mkdocs["site_url"].startswith("https://")


class _IgnoreTags(yaml.SafeLoader):
    """mkdocs.yml's `!!python/name:` tags name Python objects; reading the keys needs none."""


_IgnoreTags.add_multi_constructor("", lambda loader, suffix, node: None)
_IgnoreTags.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _reference() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (DOCS / "reference").glob("*.md"))


@pytest.mark.parametrize("module", ["memorymesh", *ADAPTERS])
def test_the_api_reference_renders_every_public_name(module: str) -> None:
    reference = _reference()
    names: list[str] = importlib.import_module(module).__all__
    missing = [name for name in names if f"\n::: {module}.{name}\n" not in reference]
    assert not missing, f"add `::: {module}.NAME` to a page in docs/reference/ for {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_on_the_site_is_run_by_a_test(page: Path) -> None:
    for language, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if language == "sh":
            assert page.name == "multi-device.md", "only tests/test_multi_device.py runs sh"
        elif language == "json":
            json.loads(body)
        elif language == "yaml":  # configuration shown to copy (a compose file): it parses
            assert isinstance(yaml.safe_load(body), dict), f"{page.name}: ```yaml"
        elif language == "py":
            # Server-only examples: the same calls run against a real PostgreSQL in
            # tests/test_postgres.py and the contract suite.
            assert page.name == "teams.md", f"{page.name}: ```py is for server-only examples"
        elif language == "console":
            lines = body.splitlines()
            if any(line.startswith("$ ") for line in lines):  # the rest is output
                lines = [line[2:] for line in lines if line.startswith("$ ")]
            for line in lines:
                runs = line.startswith("memorymesh ") and not NOT_RUN.match(line)
                assert runs or NOT_RUN.match(line), f"{page.name}: no test runs `{line}`"
        else:
            assert language in {"python", "bash", "text", ""}, f"{page.name}: ```{language}"


def test_the_configuration_page_names_every_environment_variable_and_setting() -> None:
    page = (DOCS / "configuration.md").read_text(encoding="utf-8")
    sources = [
        *(ROOT / "memorymesh").glob("**/*.py"),
        *(ROOT / "memorymesh_hook").glob("**/*.py"),
        *(ROOT / "mcp" / "memorymesh_mcp").glob("**/*.py"),
        *(ROOT / "integrations").glob("**/*.py"),
    ]
    # Every MEMORYMESH_* name the code spells (read directly or through a constant), and the
    # other variables it reads by name.
    named = re.compile(r"""["'](MEMORYMESH_[A-Z_]+)["']""")
    read = re.compile(r"""environ(?:\.get)?[\[(]\s*["']([A-Z_]+)["']|getenv\(\s*["']([A-Z_]+)""")
    variables = set()
    for source in sources:
        text = source.read_text(encoding="utf-8")
        variables |= set(named.findall(text))
        variables |= {name for match in read.finditer(text) for name in match.groups() if name}
    assert "MEMORYMESH_HOME" in variables  # the pattern still finds how the code reads them
    assert [v for v in sorted(variables) if f"`{v}`" not in page] == []
    settings = inspect.signature(AsyncMemoryMesh.__init__).parameters
    assert [s for s in settings if s != "self" and f"`{s}`" not in page] == []
    assert [key for key in SETTINGS if f"| `{key}` |" not in page] == []  # config.toml


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action: Any = next(a for a in parser._actions if a.dest == "command")
    commands: dict[str, argparse.ArgumentParser] = action.choices
    return commands


def test_the_cli_reference_names_every_option_and_choice() -> None:
    page = (DOCS / "cli.md").read_text(encoding="utf-8")

    def named(word: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", page) is not None

    missing = []
    for command, parser in _commands().items():
        for action in parser._actions:
            if action.option_strings and not any(named(o) for o in action.option_strings):
                missing.append(f"{command} {action.option_strings[-1]}")
            if not action.option_strings and action.choices:
                missing += [f"{command} {c}" for c in action.choices if not named(str(c))]
    assert not missing, f"docs/cli.md does not name: {missing}"
