"""Migration 0004_indexed_metadata: namespace/key lookups use an index, and mean the same."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from memorymesh import AsyncMemoryMesh
from memorymesh._models import Scope
from memorymesh.stores._filters import METADATA_KEY, Filters, parse_metadata_filter
from memorymesh.stores.sqlite._schema import INDEXED_METADATA_KEYS
from memorymesh.stores.sqlite._sql import M_COLUMNS as _M_COLUMNS
from memorymesh.stores.sqlite._sql import ORDERS as _ORDERS
from memorymesh.stores.sqlite._sql import where as _where

pytestmark = pytest.mark.anyio

INDEX = "memories_meta_langgraph"
# Migration 0006's unique index covers the same two keys for current items; the planner may
# pick either for an exact lookup.
UNIQUE_INDEX = "memories_unique_item"


def _plan(db: Path, spec: dict[str, Any]) -> str:
    """SQLite's plan for the exact query ``mesh.list`` runs with this metadata filter."""
    filters = Filters(scope=Scope.PROJECT, metadata=parse_metadata_filter(spec))
    where, params = _where(filters, time.time())
    sql = (
        f"SELECT {_M_COLUMNS} FROM memories AS m WHERE {where} "
        f"ORDER BY {_ORDERS['updated']} LIMIT ? OFFSET ?"
    )
    with sqlite3.connect(db) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + sql, [*params, 1, 0]).fetchall()
    conn.close()
    return " | ".join(str(row[3]) for row in rows)


async def test_namespace_and_key_lookups_search_the_index(
    mesh: AsyncMemoryMesh, project_db: Path
) -> None:
    await mesh.remember("x", scope="project", metadata={"langgraph_ns": "a.", "langgraph_key": "k"})
    exact = _plan(project_db, {"langgraph_ns": "users.u1.", "langgraph_key": "k1"})
    assert any(f"SEARCH m USING INDEX {name}" in exact for name in (INDEX, UNIQUE_INDEX)), exact
    prefix = _plan(project_db, {"langgraph_ns": {"$gte": "users.", "$lt": "users/"}})
    assert any(f"SEARCH m USING INDEX {name}" in prefix for name in (INDEX, UNIQUE_INDEX)), prefix
    # Other keys keep their bound JSON path: no index, and none was promised.
    assert INDEX not in _plan(project_db, {"topic": "billing"})


async def test_the_langgraph_store_keys_are_the_indexed_ones() -> None:
    langchain_store = pytest.importorskip("langchain_memorymesh._store")
    assert {langchain_store.NAMESPACE_KEY, langchain_store.KEY_KEY} == set(INDEXED_METADATA_KEYS)
    # The path is inlined into SQL, so each key must be a plain identifier.
    assert all(METADATA_KEY.match(key) for key in INDEXED_METADATA_KEYS)


VALUES: list[Any] = ["a.", "b.", "a.b.", "it's'); DROP TABLE memories; --", 3, 7.5, None]
CONDITIONS: list[Any] = [
    "a.",
    "it's'); DROP TABLE memories; --",
    3,
    None,
    {"$ne": "a."},
    {"$ne": None},
    {"$gt": "a."},
    {"$gte": 3},
    {"$lt": "b."},
    {"$lte": 7.5},
    {"$in": ["a.", "b.", 3]},
    {"$in": ["a.", None]},
    {"$nin": ["a.", 3]},
    {"$nin": ["b.", None]},
    {"$exists": True},
    {"$exists": False},
]


@pytest.mark.parametrize("condition", CONDITIONS, ids=repr)
async def test_an_indexed_key_filters_exactly_like_any_other_key(
    memory_mesh: AsyncMemoryMesh, condition: Any
) -> None:
    # Each memory carries the same value under an indexed key and an ordinary one (or
    # neither), so both filters must select the same memories.
    for index, value in enumerate([*VALUES, "missing"]):
        metadata = {} if value == "missing" else {"langgraph_ns": value, "plain_key": value}
        await memory_mesh.remember(
            f"memory number {index}", metadata=metadata, on_conflict="keep_both"
        )

    async def ids(key: str) -> list[str]:
        found = await memory_mesh.list(metadata_filter={key: condition}, limit=100)
        return sorted(m.text for m in found)

    indexed, plain = await ids("langgraph_ns"), await ids("plain_key")
    assert indexed == plain
    assert (await memory_mesh.stats()).total == len(VALUES) + 1  # the table is still there


async def test_distinct_namespace_values_are_unchanged(memory_mesh: AsyncMemoryMesh) -> None:
    for ns in ("users.u1.", "users.u2.", "teams.t1.", "users.u1."):
        await memory_mesh.remember(
            f"note in {ns}", metadata={"langgraph_ns": ns}, on_conflict="keep_both"
        )
    values = await memory_mesh.metadata_values(
        "langgraph_ns", metadata_filter={"langgraph_ns": {"$gte": "users.", "$lt": "users/"}}
    )
    assert values == ["users.u1.", "users.u2."]
