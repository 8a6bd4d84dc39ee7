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
    records = await _records(mesh)
    return sorted((r for r in records if "type" not in r), key=lambda record: str(record["id"]))


async def side_snapshot(mesh: AsyncMemoryMesh) -> list[dict[str, Any]]:
    """What the stores keep beside their memories (queued uncertain pairs, the judge's
    cached verdicts, sessions), as export records in a stable order."""
    records = await _records(mesh)
    return sorted((r for r in records if "type" in r), key=lambda r: json.dumps(r, sort_keys=True))


async def _records(mesh: AsyncMemoryMesh) -> list[dict[str, Any]]:
    buffer = io.StringIO()
    await mesh.export(buffer, include_embeddings=True)
    return [json.loads(line) for line in buffer.getvalue().splitlines()[1:] if line.strip()]


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


class Model:
    """A chat model in this process, for the optional judge (the HTTP providers are tested
    in test_judge.py): it answers every pair with one verdict and counts the pairs it was
    asked about."""

    def __init__(self, name: str, verdict: str, confidence: float) -> None:
        self.name, self.verdict, self.confidence, self.asked = name, verdict, confidence, 0

    async def complete(self, system: str, user: str) -> str:
        count = user.count("\nOLD: ")
        self.asked += count
        entry = {"verdict": self.verdict, "confidence": self.confidence}
        return json.dumps({"verdicts": [{"pair": n, **entry} for n in range(1, count + 1)]})
