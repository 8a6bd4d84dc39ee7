"""Small helpers shared by the contract modules; public API only."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

from memorymesh import AsyncMemoryMesh, RecallResult


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
