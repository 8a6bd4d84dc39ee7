"""MemoryMeshMemory and the block against LlamaIndex's own memory contracts."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.memory import Memory, StaticMemoryBlock
from llama_index.memory.memorymesh import MemoryMeshMemory, MemoryMeshMemoryBlock
from sqlalchemy.ext.asyncio import create_async_engine

from memorymesh import AsyncMemoryMesh, InvalidMeshError, contains_injected

pytestmark = pytest.mark.anyio


def _user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def _assistant(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def _system_text(messages: list[ChatMessage]) -> str:
    first = messages[0] if messages else None
    return (first.content or "") if first is not None and first.role == MessageRole.SYSTEM else ""


async def test_from_defaults_keeps_the_chat_history(mesh: AsyncMemoryMesh) -> None:
    history = [_user("Hello there"), _assistant("Hi! How can I help?")]
    memory = MemoryMeshMemory.from_defaults(chat_history=history, mesh=mesh, session_id="s")
    assert await memory.aget_all() == history
    assert await memory.aget() == history
    # Seeded history is shown, not remembered long-term.
    assert await mesh.count() == 0


async def test_get_accepts_any_input(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("The staging database is called hornbeam")
    memory = MemoryMeshMemory(mesh=mesh, session_id="s")
    by_message = await memory.aget(input=_user("what is the staging database called?"))
    assert "hornbeam" in _system_text(by_message)
    assert await memory.aget(input=42) == []  # nothing about 42: no block, no crash
    assert await memory.aget(input=None) == []
    assert "hornbeam" in _system_text(await memory.aget("staging database"))


async def test_initial_token_count_and_recalled_memories_fit_the_token_limit(
    mesh: AsyncMemoryMesh,
) -> None:
    for n in range(8):
        await mesh.remember(
            f"Release note {n}: the parser got faster on large inputs, by {n * 10} percent, "
            "after the tokenizer cache was rewritten and the allocator tuned for arenas"
        )
    memory = MemoryMeshMemory(mesh=mesh, session_id="s", token_limit=100, k=8)
    await memory.aput(_user("How much faster did the parser get?"))

    def tokens(messages: list[ChatMessage]) -> int:
        return memory._tokens(messages)

    got = await memory.aget()
    assert "Release note" in _system_text(got)
    assert tokens(got) <= 100  # the memories that fit, the weakest dropped
    assert 0 < _system_text(got).count("Release note") < 8
    squeezed = await memory.aget(initial_token_count=80)
    assert tokens(squeezed) <= 20
    with pytest.raises(ValueError, match="exceeds token limit"):
        await memory.aget(initial_token_count=101)
    roomy = MemoryMeshMemory(mesh=mesh, session_id="s2", token_limit=3000, k=8)
    await roomy.aput(_user("How much faster did the parser get?"))
    assert _system_text(await roomy.aget()).count("Release note") == 8


async def test_a_follow_up_recalls_with_the_question_it_follows(mesh: AsyncMemoryMesh) -> None:
    await mesh.remember("Lisbon has about 545,000 residents in the city proper")
    # A small buffer: by the follow-up, the first question is trimmed from what is shown,
    # and the follow-up alone names nothing that was remembered.
    memory = MemoryMeshMemory(mesh=mesh, session_id="s", token_limit=150)
    await memory.aput(_user("Tell me about Lisbon"))
    await memory.aput(_assistant("Lisbon is the capital of Portugal. " + "It is lovely. " * 35))
    await memory.aput(_user("And how many people live there?"))
    got = await memory.aget()
    assert [m.content for m in got[1:]] == ["And how many people live there?"]
    assert "545,000" in _system_text(got)
    # The same with the follow-up given as input, not yet in the buffer.
    other = MemoryMeshMemory(mesh=mesh, session_id="t")
    await other.aput(_user("Tell me about Lisbon"))
    assert "545,000" in _system_text(await other.aget(input="And how many people live there?"))


async def test_long_messages_never_crash_a_turn(mesh: AsyncMemoryMesh) -> None:
    memory = MemoryMeshMemory(mesh=mesh, session_id="s")
    paste = "I prefer tabs over spaces. " + "x" * 30_000 + " I decided to use Nomad."
    await memory.aput(_user(paste))
    await memory.aput(_user("word " * 10_000))
    got = await memory.aget(input=paste)
    assert got[-1].content == "word " * 10_000 or got
    assert all(len(m.text) <= mesh.max_text_chars for m in await mesh.list())


async def test_a_pickled_memory_works_where_its_mesh_is_open(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await mesh.remember("The staging database is called hornbeam")
    memory = MemoryMeshMemory(mesh=mesh, session_id="s", k=3)
    await memory.aput(_user("Which staging database do we use?"))
    loaded = pickle.loads(pickle.dumps(memory))
    assert (loaded.session_id, loaded.k, loaded.mesh) == ("s", 3, mesh)
    assert await loaded.aget_all() == await memory.aget_all()
    assert "hornbeam" in _system_text(await loaded.aget())
    await loaded.aput(_assistant("We use hornbeam."))
    assert len(await loaded.aget_all()) == 2
    assert copy.deepcopy(memory).session_id == "s"
    block = MemoryMeshMemoryBlock(mesh=mesh, k=2, priority=3)
    copied = pickle.loads(pickle.dumps(block))
    assert (copied.k, copied.priority, copied.mesh) == (2, 3, mesh)
    # Where the mesh is not open, loading says so instead of leaving a broken object.
    async with AsyncMemoryMesh(tmp_path / "x.db", global_path=tmp_path / "y.db") as other:
        data = pickle.dumps(MemoryMeshMemory(mesh=other))
    with pytest.raises(InvalidMeshError, match="not open"):
        pickle.loads(data)


async def test_to_dict_keeps_the_conversation_and_from_dict_takes_a_mesh(
    mesh: AsyncMemoryMesh,
) -> None:
    """As ChatMemoryBuffer's does, a memory's dict (and JSON) holds the buffered chat, and
    ``from_dict`` / ``from_json`` bring it back, given the open mesh it cannot hold."""
    memory = MemoryMeshMemory(mesh=mesh, session_id="s", k=3, token_limit=500)
    await memory.aput(_user("Which staging database do we use?"))
    await memory.aput(_assistant("We use hornbeam."))
    data = memory.to_dict()
    assert data["class_name"] == "MemoryMeshMemory" and "mesh" not in data
    assert [ChatMessage.model_validate(m).content for m in data["chat_history"]] == [
        "Which staging database do we use?",
        "We use hornbeam.",
    ]
    for loaded in (
        MemoryMeshMemory.from_dict(data, mesh=mesh),
        MemoryMeshMemory.from_json(memory.to_json(), mesh=mesh),
    ):
        assert (loaded.session_id, loaded.k, loaded.token_limit) == ("s", 3, 500)
        assert await loaded.aget_all() == await memory.aget_all()
    assert data["chat_history"]  # from_dict leaves the caller's dict as it was
    with pytest.raises(InvalidMeshError, match="mesh="):
        MemoryMeshMemory.from_dict(data)
    block = MemoryMeshMemoryBlock(mesh=mesh, k=2, priority=3)
    again = MemoryMeshMemoryBlock.model_validate({**block.model_dump(), "mesh": mesh})
    assert (again.k, again.priority) == (2, 3)


async def test_memory_truncates_lower_priority_blocks_first(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    for n in range(6):
        await mesh.remember(f"Release note {n}: the parser got faster by {n * 10} percent")
    ours = MemoryMeshMemoryBlock(mesh=mesh, name="memorymesh", k=6, priority=1)
    static = StaticMemoryBlock(name="core", static_content="Always answer in English.", priority=2)
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    try:
        memory = Memory.from_defaults(
            session_id="t", token_limit=120, memory_blocks=[static, ours], async_engine=engine
        )
        await memory.aput(_user("how much faster did the parser get?"))
        system = _system_text(await memory.aget())
    finally:
        await engine.dispose()
    # Over budget: Memory truncated our priority-1 block and kept the priority-2 one whole,
    # as the block's documentation says.
    assert "Always answer in English." in system
    assert system.count("Release note") < 6
    assert contains_injected(system) or "Release note" not in system
