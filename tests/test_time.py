"""Two kinds of time: when it happened (event_time) and when it was recorded (created_at)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from _embedders import HashEmbedder

from memorymesh import AsyncMemoryMesh
from memorymesh.writes._event_time import find_event_time

pytestmark = pytest.mark.anyio

# Tuesday 10 March 2026, 15:30 in UTC+1.
REF = datetime(2026, 3, 10, 15, 30, tzinfo=timezone(timedelta(hours=1)))


@pytest.mark.parametrize(
    ("text", "expected", "phrase"),
    [
        ("We shipped the fix yesterday", datetime(2026, 3, 9), "yesterday"),
        ("the day before yesterday CI broke", datetime(2026, 3, 8), "the day before yesterday"),
        ("Today we moved to uv", datetime(2026, 3, 10), "Today"),
        ("Deployed 3 days ago", datetime(2026, 3, 7), "3 days ago"),
        ("two weeks ago we hired Sam", datetime(2026, 2, 24), "two weeks ago"),
        ("a month ago the API changed", datetime(2026, 2, 10), "a month ago"),
        ("Met Ana last Friday", datetime(2026, 3, 6), "last Friday"),
        ("Retro was last Tuesday", datetime(2026, 3, 3), "last Tuesday"),
        ("Released on 2025-12-01 at last", datetime(2025, 12, 1), "2025-12-01"),
        ("Born on March 5, 1990", datetime(1990, 3, 5), "March 5, 1990"),
        ("Her talk on 7th May got great feedback", datetime(2025, 5, 7), "7th May"),
        ("Kickoff on Feb 2nd", datetime(2026, 2, 2), "Feb 2nd"),
        ("Moved to Berlin last year", datetime(2025, 3, 10), "last year"),
    ],
)
def test_time_phrases_resolve_against_the_write_date(
    text: str, expected: datetime, phrase: str
) -> None:
    found = find_event_time(text, REF)
    assert found is not None
    assert found.phrase == phrase
    assert found.when == expected.replace(tzinfo=REF.tzinfo)


@pytest.mark.parametrize(
    "text", ["The API listens on port 8080", "We may 5x the budget", "Meet on February 30"]
)
def test_no_time_phrase_means_no_event_time(text: str) -> None:
    assert find_event_time(text, REF) is None


def test_hours_ago_keeps_the_time_of_day() -> None:
    found = find_event_time("the deploy finished 2 hours ago", REF)
    assert found is not None
    assert found.when == REF - timedelta(hours=2)


async def test_remember_sets_event_time_from_text_unless_given(mesh: AsyncMemoryMesh) -> None:
    parsed = await mesh.remember("We shipped the billing fix yesterday")
    assert parsed.event_time is not None
    local_today = datetime.now().astimezone().date()
    assert parsed.event_time.astimezone().date() == local_today - timedelta(days=1)
    assert parsed.created_at > parsed.event_time
    given = datetime(2020, 1, 1, tzinfo=UTC)
    explicit = await mesh.remember("Shipped the old fix yesterday", event_time=given)
    assert explicit.event_time == given
    plain = await mesh.remember("The API listens on port 8080")
    assert plain.event_time is None


async def test_since_until_on_event_time(mesh: AsyncMemoryMesh) -> None:
    old = await mesh.remember(
        "Visited the Lisbon office", event_time=datetime(2024, 6, 1, tzinfo=UTC)
    )
    new = await mesh.remember("Visited the Porto office")
    cutoff = datetime(2025, 1, 1, tzinfo=UTC)
    by_event = await mesh.recall("visited office", since=cutoff, time_field="event")
    assert [h.memory.id for h in by_event] == [new.id]
    before = await mesh.recall("visited office", until=cutoff, time_field="event")
    assert [h.memory.id for h in before] == [old.id]
    by_record = await mesh.recall("visited office", since=cutoff)  # both recorded today
    assert {h.memory.id for h in by_record} == {old.id, new.id}


async def test_as_of_answers_what_was_true_then(mesh: AsyncMemoryMesh) -> None:
    old = await mesh.remember("The team lead is Priya")
    new = await mesh.remember("The team lead is Omar")
    # Mark the first as superseded by the second, as contradiction handling does.
    store = mesh.stores[0]
    superseded_at = new.created_at.timestamp() + 10
    async with store.write() as tx:
        await tx.update(old.id, {"superseded_by": new.id, "superseded_at": superseded_at})
    now_hits = await mesh.recall("team lead")
    assert [h.memory.id for h in now_hits] == [new.id]
    between = datetime.fromtimestamp(superseded_at - 5, tz=UTC)
    then_hits = await mesh.recall("team lead", as_of=between, k=5)
    assert {h.memory.id for h in then_hits} == {old.id, new.id}
    before_any = await mesh.recall("team lead", as_of=old.created_at - timedelta(seconds=1))
    assert before_any == []
    history = await mesh.recall("team lead", current_only=False, k=5)
    assert {h.memory.id for h in history} == {old.id, new.id}


@pytest.mark.anyio
async def test_as_of_is_exact_in_vector_recall_too(project_db: Path, global_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=HashEmbedder()) as mesh:
        old = await mesh.remember("The team lead for the payments project is Priya")
        new = await mesh.remember("The team lead for the payments project is Omar")
        assert [c.memory_id for c in new.conflicts] == [old.id]  # old is history now
        # Between the two writes only the old memory existed, and it was current then.
        between = old.created_at + (new.created_at - old.created_at) / 2
        for mode in ("vector", "hybrid"):
            now_hits = await mesh.recall("who is the team lead", mode=mode, k=5)
            assert [h.memory.id for h in now_hits] == [new.id]
            then_hits = await mesh.recall("who is the team lead", mode=mode, as_of=between)
            assert [h.memory.id for h in then_hits] == [old.id]
