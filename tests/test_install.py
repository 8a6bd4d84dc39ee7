"""The install commands MemoryMesh prints and documents install MemoryMesh 5.

Until 5.0 is published, the package index's ``memorymesh`` is the 4.x line (4.3.0), a
different program with the same name: a bare ``pip install memorymesh`` installs it and the
README's first snippet fails with ``ImportError: AsyncMemoryMesh``. Every install command must
therefore name where 5.x comes from (the repository), or install a local clone (``-e .``).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh._version import INSTALL_SOURCE, install_command

ROOT = Path(__file__).parent.parent
SOURCES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
    *sorted((ROOT / "memorymesh").rglob("*.py")),
    *sorted((ROOT / "mcp" / "memorymesh_mcp").rglob("*.py")),
    *sorted((ROOT / "integrations").rglob("*.py")),
]
# `pip install memorymesh`, `pipx install 'memorymesh[mcp]'`, `pip install -U memorymesh`; not
# "a bare `pip install memorymesh` installs 4.x", which warns against exactly that.
INSTALL = re.compile(
    r"""(?<!bare `)pipx?[ \t]+install[ \t]+(?:(?:-U|--upgrade)[ \t]+)?["']?memorymesh\b"""
    r"""(?:\[[^\]]*\])?"""
)


def _installs() -> list[tuple[str, str]]:
    found = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in INSTALL.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(
                (f"{path.relative_to(ROOT)}:{line}", text[match.start() : match.end() + 80])
            )
    return found


def test_the_readme_installs_5x_and_says_it_succeeds_4x() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme[readme.index("## Quick start") :][:2500]
    assert f'pip install "memorymesh @ {INSTALL_SOURCE}"' in quick_start
    assert 'pip install -e ".[mcp,langchain]"' in quick_start
    assert "successor of the 4.x line" in quick_start
    assert "ImportError: cannot import name 'AsyncMemoryMesh'" in quick_start
    assert "memorymesh import-v4" in quick_start


@pytest.mark.parametrize(("where", "command"), _installs())
def test_every_install_command_names_the_5x_source(where: str, command: str) -> None:
    tail = command[INSTALL.match(command).end() :]  # type: ignore[union-attr]
    assert re.match(rf"\s*@\s*{re.escape(INSTALL_SOURCE)}", tail), (
        f"{where}: {command.splitlines()[0]!r} would install MemoryMesh 4.x from the index"
    )


def test_install_command_is_a_valid_requirement_for_pip() -> None:
    # pip's own parser (packaging) reads the requirement the messages print.
    from pip._vendor.packaging.requirements import Requirement

    spec = install_command("mcp").removeprefix("pip install ").strip('"')
    requirement = Requirement(spec)
    assert requirement.name == "memorymesh" and requirement.extras == {"mcp"}
    assert requirement.url == INSTALL_SOURCE


def test_version_flag_prints_the_installed_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "memorymesh", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert re.fullmatch(r"memorymesh 5\.\S+\n", done.stdout)
