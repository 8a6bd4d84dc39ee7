"""Keyword-mode conflict candidates do not depend on the process's hash seed.

A lookup probes a new text's rarest words, and each word's most recent ``_MAX_POSTINGS``
holders only. The words are a frozenset, whose order follows ``PYTHONHASHSEED``: when
several are equally rare, which of them were probed (and so whether an older memory past the
other words' recent holders was a candidate, and the write's conflict verdicts) changed from
one process to the next. The same writes now find the same conflicts in every process, from
the stored tokens (a fresh process: SQLite and PostgreSQL) and from the in-memory index (a
mesh that has checked enough texts to build it).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import _postgres
import pytest

import memorymesh
from memorymesh import AsyncMemoryMesh
from memorymesh.search._lexical import _MAX_POSTINGS

pytestmark = pytest.mark.anyio

_GROUPS = 3
_SEEDS = ("1", "2", "3", "4")


def _texts() -> tuple[list[str], list[str], list[str], list[str]]:
    """Per group of six invented words: an old statement holding all six, the new one
    changing its number, and fillers holding two of the words each (plus six of their own,
    so no two fillers conflict). Every word has the same number of holders, but the old
    statement is among the most recent holders of its first two words only: it is a
    candidate exactly when both of them are probed (five of the six are: not the last in
    code point order, which is one of the two in the first group only)."""
    rng = random.Random(5)
    seen: set[str] = set()

    def word() -> str:
        while True:
            made = "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(3))
            if made not in seen:
                seen.add(made)
                return made

    def fillers(pair: list[str]) -> list[str]:
        return [" ".join(pair + [word() for _ in range(6)]) for _ in range(_MAX_POSTINGS + 1)]

    before: list[str] = []
    olds: list[str] = []
    after: list[str] = []
    news: list[str] = []
    for group in range(_GROUPS):
        words = sorted(word() for _ in range(6))
        if group == 0:  # the last word in code point order is one of the recent two
            words.insert(0, words.pop())
        before += fillers(words[0:2])
        olds.append(" ".join(words) + " is 5432")
        after += fillers(words[2:4]) + fillers(words[4:6])
        news.append(" ".join(words) + " is 6543")
    return before, olds, after, news


async def _fill(mesh: AsyncMemoryMesh) -> None:
    before, olds, after, _ = _texts()
    for batch in (before, olds, after):
        written = await mesh.remember_many(batch)
        assert not any(m.conflicts for m in written)


# Writes the new texts into a copy of the filled store (from the stored tokens), then into
# another copy by a mesh that first wrote 1,000 unrelated texts (from the in-memory index),
# or (PostgreSQL) into the server's project and forgets them again; prints the conflicts.
_WRITE_IN_A_PROCESS = """
import asyncio, json, random, sys
from memorymesh import AsyncMemoryMesh

async def main():
    spec = json.loads(sys.argv[1])
    news, found = spec["news"], {}

    async def write(mesh, warm):
        if warm:
            rng = random.Random(1)
            await mesh.remember_many(
                [" ".join("".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou")
                 for _ in range(4)) for _ in range(7)) for _ in range(1000)]
            )
        written = await mesh.remember_many(news)
        return written, [sorted(c.kind for c in m.conflicts) for m in written]

    for name, location, warm in spec["stores"]:
        extra = {"global_path": spec["global"]} if spec["global"] else {}
        async with AsyncMemoryMesh(
            location, project="seeds", user="pat", on_conflict="keep_both", **extra
        ) as mesh:
            written, found[name] = await write(mesh, warm)
            if spec["forget"]:
                await mesh.forget_many([m.id for m in written])
    print(json.dumps(found))

asyncio.run(main())
"""


def _write_in_processes(tmp_path: Path, spec_for: dict[str, object]) -> set[str]:
    root = str(Path(memorymesh.__file__).resolve().parent.parent)
    outputs: set[str] = set()
    for seed in _SEEDS:
        spec = dict(spec_for, news=_texts()[3], **{"global": None})
        if "copies" in spec:
            spec["global"] = str(tmp_path / f"g{seed}.db")
            stores = []
            for name, warm in (("stored tokens", False), ("in-memory index", True)):
                copy = tmp_path / f"{seed}-{warm}.db"
                shutil.copyfile(str(spec["copies"]), copy)
                stores.append((name, str(copy), warm))
            spec["stores"] = stores
            del spec["copies"]
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", _WRITE_IN_A_PROCESS, json.dumps(spec)],
                env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
    return outputs


async def test_the_same_writes_find_the_same_conflicts_in_every_process(tmp_path: Path) -> None:
    filled = tmp_path / "filled.db"
    async with AsyncMemoryMesh(filled, global_path=tmp_path / "global.db") as mesh:
        await _fill(mesh)
    outputs = _write_in_processes(tmp_path, {"copies": str(filled), "forget": False})
    assert len(outputs) == 1, outputs
    found = json.loads(outputs.pop())
    assert found["stored tokens"] == found["in-memory index"]
    assert found["stored tokens"] == [[]] + [["contradiction"]] * (_GROUPS - 1)


async def test_the_same_writes_find_the_same_conflicts_on_postgresql(tmp_path: Path) -> None:
    url = _postgres.server_url(_postgres.fresh_name("seed"))
    async with AsyncMemoryMesh(url, project="seeds", user="pat") as mesh:
        await _fill(mesh)
    # Each process forgets what it wrote: its tokens leave with it, and the next process
    # sees the words' holders as the first one did.
    outputs = _write_in_processes(
        tmp_path, {"stores": [["stored tokens", url, False]], "forget": True}
    )
    assert len(outputs) == 1, outputs
