"""remember_many's items as strings, mappings and NewMemory objects: the same checks and the
same rows, whichever form (strings and mappings are carried by a plain object, not a
pydantic model, see ``writes/_prepare.py``), and ids in UUID4 form."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memorymesh import AsyncMemoryMesh, InvalidInputError, NewMemory
from memorymesh.writes._prepare import as_new, new_id

pytestmark = pytest.mark.anyio

FIELDS: dict[str, Any] = {
    "text": "Deploys go out on Tuesdays after the 10:00 standup",
    "category": "decision",
    "importance": 0.7,
    "scope": "project",
    "metadata": {"team": "platform", "n": 3},
    "pin": True,
    "session_id": "s-1",
    "event_time": datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    "ttl": timedelta(days=30),
    "source": "cli",
    "agent": "claude",
    "on_conflict": "keep_both",
}


def test_ids_are_uuid4_hex() -> None:
    ids = {new_id() for _ in range(2_000)}
    assert len(ids) == 2_000
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and parsed.hex == value


async def test_a_mapping_prepares_the_row_a_new_memory_does(tmp_path: Path) -> None:
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        rules = mesh._rules()
        now = 1_700_000_000.0
        from_mapping = rules.prepare(as_new(dict(FIELDS)), now)
        from_model = rules.prepare(as_new(NewMemory(**FIELDS)), now)
        assert dataclasses.replace(from_mapping.row, id="x") == dataclasses.replace(
            from_model.row, id="x"
        )
        assert from_mapping.detail == from_model.detail
        assert from_mapping.on_conflict == from_model.on_conflict == "keep_both"
        assert from_mapping.store is from_model.store
        # A bare string takes every default, as a NewMemory with only a text does.
        text = "the cache lives in redis"
        bare = rules.prepare(as_new(text), now)
        model = rules.prepare(as_new(NewMemory(text=text)), now)
        assert dataclasses.replace(bare.row, id="x") == dataclasses.replace(model.row, id="x")
        assert bare.detail == model.detail


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"text": "x", "colour": "red"}, "unknown field"),
        ({"category": "decision"}, "needs a 'text'"),
        ({"text": "fine", "pin": "yes"}, "pin must be True or False"),
        ({"text": "fine", "ttl": 5}, "ttl must be a positive timedelta"),
        ({"text": 42}, "text must be a string"),
        (3.5, "must be a string, a mapping or a NewMemory"),
    ],
)
async def test_bad_items_fail_the_batch_by_index(
    tmp_path: Path, item: object, message: str
) -> None:
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        with pytest.raises(InvalidInputError, match=f"item 1: .*{message}"):
            await mesh.remember_many(["a good one", item])  # type: ignore[list-item]
        assert await mesh.list() == []
