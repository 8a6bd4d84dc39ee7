"""Browsing by who wrote a memory and when: ``list``/``count`` with source, agent and a time range.

Every backend turns these filters into SQL with bound parameters; the dashboard's Memories page
browses with them, so a backend that ignored one would show the wrong memories.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, Memory, NewMemory

from ._helpers import embedder
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

_JAN = datetime(2025, 1, 10, tzinfo=UTC)
_FEB = datetime(2025, 2, 10, tzinfo=UTC)
_MAR = datetime(2025, 3, 10, tzinfo=UTC)


async def _backdated(mesh: AsyncMemoryMesh, memories: list[tuple[Memory, datetime]]) -> None:
    """Give each memory a known recording time, through the public import (ids kept)."""
    lines = [json.dumps({"format": "memorymesh", "version": 1, "count": len(memories)})]
    for memory, at in memories:
        record = memory.model_dump(mode="json", exclude={"conflicts"})
        record["created_at"] = record["updated_at"] = at.isoformat()
        lines.append(json.dumps(record))
    await mesh.import_(io.StringIO("\n".join(lines) + "\n"), on_clash="replace")


async def test_list_and_count_by_source_agent_and_time(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="browse") as mesh:
        alice = await mesh.remember("Alice prefers tabs", source="mcp", agent="alice")
        bob = await mesh.remember("Bob deploys on Fridays", source="mcp", agent="bob")
        hook = await mesh.remember("The build uses uv", source="hook")
        await _backdated(mesh, [(alice, _JAN), (bob, _FEB), (hook, _MAR)])

        def ids(rows: list[Memory]) -> set[str]:
            return {m.id for m in rows}

        assert ids(await mesh.list(agent="alice")) == {alice.id}
        assert ids(await mesh.list(source="mcp")) == {alice.id, bob.id}
        assert ids(await mesh.list(source="hook")) == {hook.id}
        assert ids(await mesh.list(source="mcp", agent="bob")) == {bob.id}
        assert await mesh.list(source="api") == []
        assert await mesh.count(agent="bob") == 1
        assert await mesh.count(source="mcp") == 2

        # since is inclusive, until exclusive, both on when the memory was recorded.
        assert ids(await mesh.list(since=_FEB)) == {bob.id, hook.id}
        assert ids(await mesh.list(until=_FEB)) == {alice.id}
        assert ids(await mesh.list(since=_JAN, until=_MAR)) == {alice.id, bob.id}
        assert await mesh.count(since=_FEB, until=_MAR) == 1
        assert ids(await mesh.list(source="mcp", since=_FEB)) == {bob.id}
        oldest_first = await mesh.list(order="oldest", since=_JAN)
        assert [m.id for m in oldest_first] == [alice.id, bob.id, hook.id]

        with pytest.raises(InvalidInputError, match="agent"):
            await mesh.list(agent="  ")
        with pytest.raises(InvalidInputError, match="since"):
            await mesh.list(since="2025-01-01")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["keyword", "vector", "hybrid"])
async def test_recall_by_source_and_agent(open_mesh: OpenMesh, mode: str) -> None:
    embedding = "none" if mode == "keyword" else embedder()
    async with open_mesh(embedding=embedding) as mesh:
        wanted = await mesh.remember(
            "Alice noted that deploys usually go out on Tuesdays after the release review",
            source="mcp",
            agent="alice",
        )
        # More, closer matches by others than recall takes candidates (40): a filter applied
        # only after ranking would leave nothing for k=1.
        await mesh.remember_many(
            [
                NewMemory(text=f"Deploys Tuesdays {n}", agent="bob", on_conflict="keep_both")
                for n in range(60)
            ]
        )
        for narrowed in ({"agent": "alice"}, {"source": "mcp"}):
            hits = await mesh.recall("deploys tuesdays", k=1, mode=mode, **narrowed)  # type: ignore[arg-type]
            assert [h.memory.id for h in hits] == [wanted.id]
        bobs = await mesh.recall("deploys tuesdays", k=100, mode=mode, agent="bob")  # type: ignore[arg-type]
        assert len(bobs) == 60 and {h.memory.agent for h in bobs} == {"bob"}
        assert await mesh.recall("deploys tuesdays", mode=mode, agent="carol") == []  # type: ignore[arg-type]


async def test_metadata_of_reads_one_key_in_sql_newest_first(open_mesh: OpenMesh) -> None:
    """Both engines read one metadata key without building memories (the LangGraph store's
    semantic search depends on it): filters apply, non-object values read as None."""
    from memorymesh.stores.base import metadata_reader

    async with open_mesh(store="metadata-of") as mesh:
        old = await mesh.remember("Alice prefers tabs", metadata={"v": {"a": [1, 2]}, "t": "x"})
        mid = await mesh.remember("Bob deploys on Fridays", metadata={"v": "plain", "t": "y"})
        new = await mesh.remember("The build uses uv", metadata={"v": [3.5], "t": "x"})
        await _backdated(mesh, [(old, _JAN), (mid, _FEB), (new, _MAR)])
        for store in mesh.stores:
            assert metadata_reader(store) is not None

        rows = await mesh._metadata_of("v")
        assert rows is not None
        assert [memory_id for memory_id, _ in rows] == [new.id, mid.id, old.id]
        values = dict(rows)
        assert json.loads(values[old.id] or "null") == {"a": [1, 2]}
        assert values[mid.id] is None
        assert json.loads(values[new.id] or "null") == [3.5]

        only_x = await mesh._metadata_of("v", metadata_filter={"t": "x"})
        assert only_x is not None and [m for m, _ in only_x] == [new.id, old.id]
        with pytest.raises(InvalidInputError):
            await mesh._metadata_of("v'); DROP TABLE memories; --")
