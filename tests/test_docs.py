"""The examples in README.md and docs/ run, and every public method is documented."""

from __future__ import annotations

import ast
import inspect
import re
import shlex
from pathlib import Path
from types import CodeType
from typing import Any

import pytest

from memorymesh import AsyncMemoryMesh
from memorymesh.cli import main

ROOT = Path(__file__).parent.parent
# Every page with examples: the README, the site's pages (docs/, see mkdocs.yml) and the
# project's own guides at the root.
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("**/*.md")),
    ROOT / "CONTRIBUTING.md",
    ROOT / "SECURITY.md",
]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[Any]:
    found = []
    for path in DOCS:
        for index, match in enumerate(FENCE.finditer(path.read_text(encoding="utf-8"))):
            if match.group(1) == language:
                found.append(pytest.param(match.group(2), id=f"{path.name}-{index}"))
    return found


def _compile(source: str) -> CodeType:
    # Docs show top-level `await`, as Jupyter and `python -m asyncio` allow.
    return compile(source, "<docs>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


@pytest.mark.anyio
@pytest.mark.parametrize("source", _blocks("python"))
async def test_python_examples_run(source: str) -> None:
    code = _compile(source)
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        await result
    if "asyncio.run(main())" in source:
        # A script's `if __name__ == "__main__": asyncio.run(main())`: run its main() too,
        # here on the test's own event loop.
        await namespace["main"]()


def _command_lines(source: str) -> list[str]:
    """A block's command lines: after a `$ ` prompt when it shows prompts (the other lines are
    output), else every line."""
    lines = source.splitlines()
    if not any(line.startswith("$ ") for line in lines):
        return lines
    return [line[2:] for line in lines if line.startswith("$ ")]


@pytest.mark.parametrize("source", _blocks("bash") + _blocks("console"))
def test_cli_examples_run(source: str, capsys: pytest.CaptureFixture[str]) -> None:
    for line in _command_lines(source):
        words = shlex.split(line, comments=True)
        # `memorymesh mcp` and `memorymesh ui` serve until stopped: tests/test_mcp.py and
        # tests/ui/test_cli.py run the real servers.
        if words[:1] == ["memorymesh"] and words[1:2] not in (["mcp"], ["ui"]):
            try:
                code = main(words[1:])
            except SystemExit as exit:  # --version and --help exit through argparse
                code = exit.code
            assert code == 0, line
    capsys.readouterr()


def test_every_public_method_is_in_the_api_docs() -> None:
    api = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for name, _ in inspect.getmembers(AsyncMemoryMesh, inspect.isfunction):
        if not name.startswith("_"):
            assert f"`{name}(" in api or f"`await mesh.{name}(" in api, name
