"""docs/multi-device.md's recipe, run exactly as written, on two "machines" (two home folders).

The page's `sh` blocks are executed by a real shell with the real `memorymesh` command and the
real `rsync`: step 1 on the machine being left, step 2 on the one arrived at, in both
directions, with writes on both machines between syncs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memorymesh import MemoryMesh

PAGE = Path(__file__).parent.parent / "docs" / "multi-device.md"
FENCE = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)

pytestmark = pytest.mark.skipif(
    shutil.which("rsync") is None, reason="rsync is not installed (make setup-all installs it)"
)


def _steps() -> tuple[str, str]:
    leave, arrive = FENCE.findall(PAGE.read_text(encoding="utf-8"))
    return leave, arrive


class Machine:
    """A home folder with one project checked out in it, as a second computer would have."""

    def __init__(self, root: Path) -> None:
        self.home = root
        self.project = root / "src" / "billing"
        (self.project / ".git").mkdir(parents=True)

    def run(self, script: str, **extra: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORYMESH_")}
        bin_dir = str(Path(sys.executable).parent)
        env.update(HOME=str(self.home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
        env.update(extra)
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], cwd=self.project, env=env, check=True
        )

    def mesh(self) -> MemoryMesh:
        return MemoryMesh(
            self.project / ".memorymesh" / "memories.db",
            global_path=self.home / ".memorymesh" / "global.db",
        )

    def texts(self) -> set[str]:
        with self.mesh() as mesh:
            return {m.text for m in mesh.list(limit=100)}

    def outbox(self) -> str:
        return str(self.home / "memorymesh-outbox")


@pytest.mark.slow
def test_the_documented_recipe_merges_two_machines_that_both_wrote(tmp_path: Path) -> None:
    leave, arrive = _steps()
    desktop, laptop = Machine(tmp_path / "desktop"), Machine(tmp_path / "laptop")

    with desktop.mesh() as mesh:
        decision = mesh.remember("We decided to use PostgreSQL for billing", scope="project")
        preference = mesh.remember("I prefer small pull requests", scope="global")
    with laptop.mesh() as mesh:
        mesh.remember("The billing service deploys on Tuesdays", scope="project")

    # Desktop → laptop: the laptop keeps its own memory and gains the desktop's, each in the
    # store of its scope.
    desktop.run(leave)
    laptop.run(arrive, FROM=desktop.outbox())
    with laptop.mesh() as mesh:
        assert mesh.get(decision.id).scope == "project"
        assert mesh.get(preference.id).scope == "global"
    assert laptop.texts() == {
        "We decided to use PostgreSQL for billing",
        "I prefer small pull requests",
        "The billing service deploys on Tuesdays",
    }

    # Both write again between syncs: a new memory on each, and the desktop changes one.
    with desktop.mesh() as mesh:
        mesh.update(preference.id, text="I prefer pull requests under 200 lines")
        mesh.remember("Invoices are numbered per year", scope="project")
    with laptop.mesh() as mesh:
        mesh.remember("Billing alerts go to the #payments channel", scope="project")

    desktop.run(leave)
    laptop.run(arrive, FROM=desktop.outbox())
    laptop.run(leave)
    desktop.run(arrive, FROM=laptop.outbox())

    expected = {
        "We decided to use PostgreSQL for billing",
        "I prefer pull requests under 200 lines",
        "The billing service deploys on Tuesdays",
        "Invoices are numbered per year",
        "Billing alerts go to the #payments channel",
    }
    assert desktop.texts() == expected
    assert laptop.texts() == expected
    # The newer edit won on both, and the earlier text travelled as history.
    for machine in (desktop, laptop):
        with machine.mesh() as mesh:
            versions = [m.text for m in mesh.history(preference.id)]
        assert versions[-1] == "I prefer pull requests under 200 lines"
        assert "I prefer small pull requests" in versions

    # Merging the same copies again changes nothing.
    laptop.run(arrive, FROM=desktop.outbox())
    assert laptop.texts() == expected

    # As the page warns: a memory forgotten on one machine comes back from the other's copy.
    with desktop.mesh() as mesh:
        mesh.forget(decision.id)
    desktop.run(arrive, FROM=laptop.outbox())
    assert "We decided to use PostgreSQL for billing" in desktop.texts()


def test_the_recipe_never_syncs_a_live_store() -> None:
    """Only `memorymesh backup` copies leave a machine: no step names a store folder."""
    for step in _steps():
        assert ".memorymesh" not in step
        assert "-wal" not in step
        assert "-shm" not in step
