"""Session chains: every ``session_start`` is recorded with the session it continues.

A backend keeps the sessions of each project apart from other projects', finds the last one
(overall or by client), looks one up by id, and survives a reopen with them intact.
"""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh, Category, InvalidInputError

from .conftest import OpenMesh

pytestmark = pytest.mark.anyio


async def test_sessions_chain_by_client_and_explicitly(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="chain") as mesh:
        first = await mesh.session_start(client="claude-code")
        assert first.continues is None and first.session_id
        other = await mesh.session_start(client="cursor")
        assert other.continues is None  # another client starts its own chain
        second = await mesh.session_start(client="claude-code")
        assert second.continues == first.session_id
        anyone = await mesh.session_start()  # no client: the project's last session
        assert anyone.continues == second.session_id
        picked = await mesh.session_start(client="cursor", continues=first.session_id)
        assert picked.continues == first.session_id
        with pytest.raises(InvalidInputError, match="no such session"):
            await mesh.session_start(continues="never-started")

    async with open_mesh(store="chain") as reopened:  # recorded in the store, not in memory
        chain = await reopened.session_history(anyone.session_id)
        assert [s.id for s in chain] == [anyone.session_id, second.session_id, first.session_id]
        assert [s.client for s in chain] == [None, "claude-code", "claude-code"]
        latest = await reopened.session_history()
        assert [s.id for s in latest] == [picked.session_id, first.session_id]
        assert [s.id for s in await reopened.session_history(limit=1)] == [picked.session_id]
        with pytest.raises(InvalidInputError, match="no session"):
            await reopened.session_history("never-started")


async def test_projects_keep_their_own_sessions(open_mesh: OpenMesh) -> None:
    async with open_mesh(store="one") as one, open_mesh(store="two") as two:
        started = await one.session_start(client="cli")
        assert (await two.session_start(client="cli")).continues is None
        assert await two.session_history(limit=5) != await one.session_history(limit=5)
        with pytest.raises(InvalidInputError):
            await two.session_history(started.session_id)


async def test_resuming_a_session_keeps_its_link(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.session_start(session_id="monday")
    second = await mesh.session_start(session_id="tuesday")
    assert second.continues == "monday"
    again = await mesh.session_start(session_id="tuesday")
    assert again.session_id == "tuesday" and again.continues == "monday"
    assert [s.id for s in await mesh.session_history()] == ["tuesday", "monday"]
    assert first.session_id == "monday"


async def test_last_time_shows_what_the_previous_session_did(mesh: AsyncMemoryMesh) -> None:
    monday = await mesh.session_start(client="claude-code")
    await mesh.remember(
        "We decided to ship the importer behind a flag",
        category=Category.DECISION,
        session_id=monday.session_id,
    )
    await mesh.remember(
        "TODO: the PostgreSQL migration test is still flaky",
        category=Category.CONTEXT,
        session_id=monday.session_id,
    )
    await mesh.remember("Unrelated note from another session", session_id="elsewhere")
    tuesday = await mesh.session_start(client="claude-code", budget_tokens=300)
    assert tuesday.continues == monday.session_id
    shown = {item.memory.text for item in tuesday.last_time}
    assert shown == {
        "We decided to ship the importer behind a flag",
        "TODO: the PostgreSQL migration test is still flaky",
    }
    assert f"## Last time (session {monday.session_id}" in tuesday.text
    assert "decided: We decided to ship the importer" in tuesday.text
    assert "left open: TODO: the PostgreSQL migration" in tuesday.text
    assert tuesday.used_tokens <= 300
