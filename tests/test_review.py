"""The review queue: captured memories wait, unrecalled, until a person accepts them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError
from memorymesh.cli import main

pytestmark = pytest.mark.anyio


async def test_queued_memories_are_invisible_until_accepted(mesh: AsyncMemoryMesh) -> None:
    queued = await mesh.remember_many(
        ["We decided to vendor the protobuf files", "The staging DB password rotates monthly"],
        review=True,
    )
    assert await mesh.count() == 0
    assert await mesh.recall("protobuf files") == []
    assert (await mesh.stats()).total == 0
    assert sorted(m.id for m in await mesh.review_queue()) == sorted(m.id for m in queued)

    [accepted] = await mesh.accept([queued[0].id, "not-an-id"])
    assert accepted.id == queued[0].id
    assert [h.memory.id for h in await mesh.recall("protobuf files")] == [queued[0].id]
    assert await mesh.reject([queued[1].id]) == 1
    assert await mesh.review_queue() == []
    assert await mesh.count() == 1


async def test_a_capture_is_never_queued_twice(mesh: AsyncMemoryMesh) -> None:
    known = await mesh.remember("Tests run with make test")
    [same] = await mesh.remember_many(["tests run with  MAKE test"], review=True)
    assert same.id == known.id and await mesh.review_queue() == []

    [first] = await mesh.remember_many(["Use ruff format before committing"], review=True)
    [again] = await mesh.remember_many(["Use ruff format before committing"], review=True)
    assert again.id == first.id and len(await mesh.review_queue()) == 1
    await mesh.reject([first.id])
    [after_reject] = await mesh.remember_many(["Use ruff format before committing"], review=True)
    assert after_reject.id == first.id and await mesh.review_queue() == []

    # Remembering it explicitly is the user's call: it is stored, not swallowed by the queue.
    explicit = await mesh.remember("Use ruff format before committing")
    assert explicit.id != first.id and await mesh.count() == 2


async def test_accepting_a_duplicate_rejects_it(mesh: AsyncMemoryMesh) -> None:
    [queued] = await mesh.remember_many(["Deploys go out on Tuesdays"], review=True)
    await mesh.remember("Deploys go out on Tuesdays")
    assert await mesh.accept([queued.id]) == []
    assert await mesh.review_queue() == [] and await mesh.count() == 1
    with pytest.raises(InvalidInputError):
        await mesh.accept("abc")  # a single id is not a list


def test_review_cli(capsys: pytest.CaptureFixture[str], project_db: Path, global_db: Path) -> None:
    import anyio

    async def queue() -> list[str]:
        async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
            stored = await mesh.remember_many(
                ["We decided on trunk-based development", "Mistake: forgot to bump the version"],
                review=True,
            )
            return [m.id for m in stored]

    first, second = anyio.run(queue)
    root = project_db.parent.parent
    (root / "CLAUDE.md").write_text("# Notes\n", encoding="utf-8")
    (root / "AGENTS.md").write_text("# Not synced here\n", encoding="utf-8")
    assert main(["sync", "--to", "CLAUDE.md"]) == 0
    assert "trunk-based" not in (root / "CLAUDE.md").read_text()  # queued: not synced
    assert main(["review"]) == 0
    out = capsys.readouterr().out
    assert "2 memories waiting" in out and first[:8] in out
    assert main(["review", "--edit", first[:8], "--text", "We use trunk-based development"]) == 0
    assert "Edited" in capsys.readouterr().out
    assert main(["review", "--accept", first[:8], "--reject", second[:8], "--json"]) == 0
    acted = json.loads(capsys.readouterr().out)
    assert acted["accepted"] == [first] and acted["rejected"] == 1
    # Accepting refreshed the file that was already synced, and only that one.
    assert acted["synced"] == [str(root / "CLAUDE.md")]
    assert "We use trunk-based development" in (root / "CLAUDE.md").read_text()
    assert (root / "AGENTS.md").read_text() == "# Not synced here\n"
    assert main(["recall", "trunk-based", "--json"]) == 0
    [hit] = json.loads(capsys.readouterr().out)
    assert hit["memory"]["text"] == "We use trunk-based development"
    assert main(["review", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["queue"] == []
