"""Issue #17, Medium 4: text that was forgotten, or replaced in place, leaves the database
file: not only the table row but the keyword index's segments and the freed pages too."""

from __future__ import annotations

from pathlib import Path

import pytest
from _embedders import HashEmbedder
from _leaks import checkpoint

from memorymesh import AsyncMemoryMesh

WORDS = ["zanzibarquux", "wombatxylophone", "plinthgrommet", "quokkafjord"]


def _traces(tmp_path: Path, *words: str) -> list[str]:
    blobs = [
        p.read_bytes()
        for folder in (tmp_path / "home" / ".memorymesh", tmp_path / "project" / ".memorymesh")
        for p in folder.rglob("*")
        if p.is_file()
    ]
    return [w for w in words if any(w.encode() in blob for blob in blobs)]


async def _filler(mesh: AsyncMemoryMesh, n: int) -> None:
    # Many separate writes: the keyword index holds several segments, as a used store does.
    for i in range(n):
        await mesh.remember(f"project note {i}: the build step {i} runs lint", scope="project")


@pytest.mark.anyio
async def test_forgotten_text_leaves_the_file(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        await _filler(mesh, 20)
        gone = await mesh.remember(f"the {WORDS[0]} config lives in {WORDS[1]}", scope="project")
        both = await mesh.remember(f"the {WORDS[2]} step uses {WORDS[3]}", scope="project")
        await _filler(mesh, 20)
        await mesh.update(both.id, text="the deploy step was renamed")  # history kept...
        checkpoint(project_db)
        assert _traces(tmp_path, *WORDS) == WORDS  # (the words really were on disk)
        await mesh.forget(gone.id)
        await mesh.forget_many([both.id])  # ...and forgotten with the memory
        assert [hit.memory.id for hit in await mesh.recall(WORDS[0])] == []
    checkpoint(project_db, global_db)
    assert _traces(tmp_path, *WORDS) == []


@pytest.mark.anyio
async def test_text_replaced_in_place_leaves_the_file(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    # A keyed item (a LangGraph store's) is overwritten in place, with no history copy.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        await _filler(mesh, 20)
        item = await mesh.remember(
            f"{WORDS[0]} is the old value",
            scope="project",
            metadata={"langgraph_ns": ["cfg"], "langgraph_key": "k", "v": WORDS[1]},
        )
        await _filler(mesh, 10)
        await mesh.update(
            item.id,
            text="the new value",
            metadata={"langgraph_ns": ["cfg"], "langgraph_key": "k", "v": "new"},
        )
        assert [m.text for m in await mesh.history(item.id)] == ["the new value"]
    checkpoint(project_db, global_db)
    assert _traces(tmp_path, WORDS[0], WORDS[1]) == []


@pytest.mark.anyio
async def test_forgotten_text_leaves_the_conflict_tokens_in_vector_mode(
    tmp_path: Path, project_db: Path, global_db: Path
) -> None:
    # Keyword-mode writes stored the text's conflict tokens; a mesh with an embedder (which
    # finds conflicts by vectors and does not keep the tokens current) forgets it.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        await _filler(mesh, 5)
        gone = await mesh.remember(f"the {WORDS[0]} config lives in {WORDS[1]}", scope="project")
        checkpoint(project_db)
        assert _traces(tmp_path, *WORDS[:2]) == WORDS[:2]
    async with AsyncMemoryMesh(
        project_db, global_path=global_db, embedding=HashEmbedder(dim=64)
    ) as mesh:
        await mesh.forget(gone.id)
    checkpoint(project_db, global_db)
    assert _traces(tmp_path, *WORDS[:2]) == []
