"""Small helpers shared by the contract modules; public API only."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh, RecallResult


def embedder(name: str = "test:hash") -> HashEmbedder:
    """The suite's deterministic embedder: wide enough that unrelated words rarely share a
    dimension, so "shares no word" means "cosine 0" in these tests. Another ``name`` stands
    for another model."""
    return HashEmbedder(dim=1024, name=name)


async def snapshot(mesh: AsyncMemoryMesh) -> list[dict[str, Any]]:
    """Everything the stores hold, as export records sorted by id.

    The export carries every field of every memory (superseded, expired, queued, rejected
    and archived ones too, with access statistics and vectors), so two equal snapshots mean
    two stores hold the same memories.
    """
    buffer = io.StringIO()
    await mesh.export(buffer, include_embeddings=True)
    records = [json.loads(line) for line in buffer.getvalue().splitlines()[1:] if line.strip()]
    return sorted(records, key=lambda record: str(record["id"]))


def ids(hits: Iterable[RecallResult]) -> list[str]:
    """The memory ids of recall results, in rank order."""
    return [hit.memory.id for hit in hits]


async def found(mesh: AsyncMemoryMesh, query: str, **kwargs: Any) -> list[str]:
    """The ids recall finds for ``query``, best first, checked to agree across modes.

    Keyword recall gives the answer; with an embedder, vector recall must find the same set.
    A vector hit counts only when it shares meaning with the query (relevance above 0):
    vector search ranks every memory, so unrelated ones trail with a cosine of 0.
    """
    keyword = ids(await mesh.recall(query, mode="keyword", k=50, **kwargs))
    if mesh.embedder is not None:
        vector = await mesh.recall(query, mode="vector", k=50, **kwargs)
        assert {h.memory.id for h in vector if h.breakdown.relevance > 0} == set(keyword)
    return keyword
