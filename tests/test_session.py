"""session_start: task-aware context, fitted to a token budget, marked as injected."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    InjectedContextError,
    InvalidInputError,
    MemoryMesh,
    contains_injected,
)
from memorymesh.cli import main
from memorymesh.context._session import estimate_tokens


async def _seed(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("Never commit .env files or API keys", category="guardrail")
    await mesh.remember("User prefers concise answers and dark mode", category="preference")
    await mesh.remember(
        "User is a backend engineer working in Go and Python", category="personality"
    )
    await mesh.remember(
        "The CI broke because of a cache race; fixed with a lock", category="mistake"
    )
    await mesh.remember("We decided to use PostgreSQL 16 for the billing service")
    await mesh.remember_many(
        [
            {"text": f"We decided widget {i} renders with option {i}", "category": "decision"}
            for i in range(60)
        ]
    )


@pytest.mark.anyio
async def test_sections_and_marked_dated_text(memory_mesh: AsyncMemoryMesh) -> None:
    await _seed(memory_mesh)
    context = await memory_mesh.session_start(budget_tokens=5000)
    assert [i.memory.text for i in context.guardrails] == ["Never commit .env files or API keys"]
    assert {i.memory.category.value for i in context.profile} == {"preference", "personality"}
    assert len(context.mistakes) == 1 and context.relevant == []
    assert context.recent and all(i.memory.category.value == "decision" for i in context.recent)
    assert contains_injected(context.text)
    assert context.text.startswith('<memorymesh-context source="session-start">')
    day = context.guardrails[0].memory.created_at.strftime("%Y-%m-%d")
    assert f"- [{day}] Never commit .env files or API keys (guardrail)" in context.text
    # Guardrails are shown first.
    assert context.text.index("Guardrails") < context.text.index("About the user")


@pytest.mark.anyio
async def test_query_makes_it_task_aware(memory_mesh: AsyncMemoryMesh) -> None:
    await _seed(memory_mesh)
    context = await memory_mesh.session_start("which database for billing?", budget_tokens=300)
    assert context.relevant[0].memory.text.startswith("We decided to use PostgreSQL 16")
    assert context.relevant[0].score is not None
    assert 'Relevant to the task: "which database for billing?"' in context.text
    # The relevant memory is listed once, though it is also a recent decision.
    ids = [item.memory.id for item in context.items]
    assert len(ids) == len(set(ids))


@pytest.mark.anyio
@pytest.mark.parametrize("budget", [100, 150, 300, 600])
async def test_the_budget_is_never_exceeded(memory_mesh: AsyncMemoryMesh, budget: int) -> None:
    await _seed(memory_mesh)
    context = await memory_mesh.session_start("billing database", budget_tokens=budget)
    assert context.used_tokens == estimate_tokens(context.text) <= budget
    assert context.omitted > 0  # 60-odd memories never fit in these budgets
    # Most useful first: guardrails outrank the pile of ordinary decisions.
    if budget >= 150:
        assert context.guardrails


@pytest.mark.anyio
async def test_asked_about_three_times_surfaces(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember_many(
        [
            {
                "text": f"Pattern {i}: handler number {i} lives in its own module",
                "category": "pattern",
            }
            for i in range(30)
        ]
    )
    target = (await mesh.list(order="oldest", limit=1))[0]
    for _ in range(3):
        hits = await mesh.recall("Pattern 0: handler number 0", k=1)
        assert hits[0].memory.id == target.id
    context = await mesh.session_start(budget_tokens=150)
    assert target.id in [item.memory.id for item in context.items]


@pytest.mark.anyio
async def test_session_id_and_errors(memory_mesh: AsyncMemoryMesh) -> None:
    await memory_mesh.remember("Looked at the flaky login test together", session_id="s-1")
    context = await memory_mesh.session_start(session_id="s-1")
    assert [i.memory.text for i in context.session] == ["Looked at the flaky login test together"]
    for bad in (10, 10**6, "many", True):
        with pytest.raises(InvalidInputError, match="budget_tokens"):
            await memory_mesh.session_start(budget_tokens=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="query"):
        await memory_mesh.session_start(42)  # type: ignore[arg-type]
    empty = await AsyncMemoryMesh(":memory:", global_path=":memory:").__aenter__()
    try:
        assert "(no memories yet)" in (await empty.session_start()).text
        # A fact is not loaded up front without a query; the context must not claim the
        # memory is empty, or the assistant never thinks to recall it.
        await empty.remember("The API is deployed with blue-green releases", category="context")
        text = (await empty.session_start()).text
        assert "(no memories yet)" not in text
        assert "recall searches the 1 memory stored" in text
    finally:
        await empty.aclose()


@pytest.mark.anyio
async def test_the_text_is_never_stored_back(memory_mesh: AsyncMemoryMesh) -> None:
    await _seed(memory_mesh)
    before = await memory_mesh.count()
    context = await memory_mesh.session_start()
    with pytest.raises(InjectedContextError):
        await memory_mesh.remember(context.text)
    assert await memory_mesh.count() == before


def test_sync_twin_and_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with MemoryMesh() as mesh:
        mesh.remember("Never force-push to main", category="guardrail")
        assert mesh.session_start(budget_tokens=200).guardrails
    assert main(["session-start", "push to main", "--budget", "200"]) == 0
    out = capsys.readouterr().out
    assert "Never force-push to main" in out and "<memorymesh-context" in out
    assert main(["session-start", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["guardrails"][0]["memory"]["text"] == "Never force-push to main"
    assert data["used_tokens"] <= data["budget_tokens"] == 1500


@pytest.mark.anyio
async def test_memories_recalled_lately_rank_first(tmp_path: Path) -> None:
    db, global_db = tmp_path / "project.db", tmp_path / "global.db"
    async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
        lately = await mesh.remember("Deploys go through the staging cluster", category="decision")
        await mesh.remember("Release tags carry the build date", category="decision")
    # Both recalled three times; the older memory was recalled today, the newer one two
    # months ago: what the work needed lately comes first.
    now = time.time()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE memories SET access_count = 3, last_accessed_at = ?", [now - 60 * 86400]
        )
        conn.execute("UPDATE memories SET last_accessed_at = ? WHERE id = ?", [now, lately.id])
    conn.close()
    async with AsyncMemoryMesh(db, global_path=global_db) as mesh:
        context = await mesh.session_start()
    assert context.recent[0].memory.id == lately.id
    assert context.recent[0].priority > context.recent[1].priority


def test_session_chain_in_the_sync_twin_and_cli(capsys: pytest.CaptureFixture[str]) -> None:
    with MemoryMesh() as mesh:
        first = mesh.session_start(client="vim")
        mesh.remember(
            "Open question: should the importer keep 4.x ids?", session_id=first.session_id
        )
        second = mesh.session_start(client="vim")
        assert second.continues == first.session_id
        assert "left open: Open question: should the importer" in second.text
        mesh.remember(
            "We decided the importer keeps 4.x ids",
            category="decision",
            session_id=second.session_id,
        )
        chain = mesh.session_history(limit=2)
        assert [s.id for s in chain] == [second.session_id, first.session_id]
    assert main(["session-start", "--client", "vim", "--session", "third"]) == 0
    out = capsys.readouterr().out
    assert f"## Last time (session {second.session_id}" in out
    assert "decided: We decided the importer keeps 4.x ids" in out
    assert main(["session-history", "--limit", "3", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == ["third", second.session_id, first.session_id]
    assert listed[0]["continues"] == second.session_id and listed[0]["client"] == "vim"
    assert main(["session-history", "third", "--limit", "1"]) == 0
    assert capsys.readouterr().out.startswith("third ")
    assert main(["session-start", "--continues", "nope"]) == 2
    assert "no such session" in capsys.readouterr().err
