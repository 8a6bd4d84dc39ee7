"""LlamaIndex with MemoryMesh: a real ``Memory`` holding our block, our ``BaseMemory``, tools."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

pytest.importorskip("llama_index.core")

from anyio.from_thread import start_blocking_portal
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.mock import MockLLMWithChatMemoryOfLastCall
from llama_index.core.memory import Memory
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.memory.types import BaseMemory
from llama_index.core.tools import FunctionTool
from llama_index.memory.memorymesh import (
    MemoryMeshMemory,
    MemoryMeshMemoryBlock,
    create_memory_tools,
)
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from memorymesh import AsyncMemoryMesh, contains_injected, mark_injected


@pytest.fixture
def mesh(either_mesh: AsyncMemoryMesh) -> AsyncMemoryMesh:
    """The tests below run on SQLite and on PostgreSQL (``either_mesh`` in conftest.py)."""
    return either_mesh


@pytest.fixture
async def chat_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The SQL engine Memory keeps its short-term chat in, disposed of after the test."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    yield engine
    await engine.dispose()


def _user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def _assistant(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def test_classes_subclass_the_framework_bases() -> None:
    assert issubclass(MemoryMeshMemoryBlock, BaseMemoryBlock)
    assert issubclass(MemoryMeshMemory, BaseMemory)
    for name in ("aget", "aget_all", "aput", "aput_messages", "aset", "areset"):
        assert getattr(MemoryMeshMemory, name) is not getattr(BaseMemory, name), name


@pytest.mark.anyio
async def test_memory_flushes_into_the_block_and_recalls_into_the_system_message(
    mesh: AsyncMemoryMesh, chat_engine: AsyncEngine
) -> None:
    block = MemoryMeshMemoryBlock(mesh=mesh, name="memorymesh")
    # A tiny short-term budget makes Memory flush older messages into our block.
    memory = Memory.from_defaults(
        session_id="s1",
        token_limit=60,
        chat_history_token_ratio=0.5,
        token_flush_size=10,
        memory_blocks=[block],
        async_engine=chat_engine,
    )
    await memory.aput_messages(
        [
            _user("My favourite editor is Helix and I use it for every project"),
            _assistant("Noted: Helix is your editor of choice for all of your projects."),
            _user("I also deploy everything with Nomad on weekdays only, never at weekends"),
            _assistant("Understood: Nomad, weekdays only."),
        ]
    )
    stored = {m.text: m for m in await mesh.list()}
    first = stored["My favourite editor is Helix and I use it for every project"]
    assert (first.session_id, first.source, first.metadata, first.category.value) == (
        "s1",
        "llama-index",
        {"role": "user", "rule": "user preference"},
        "preference",
    )
    # The assistant's acknowledgement states nothing new: it is not stored.
    assert "Noted: Helix is your editor of choice for all of your projects." not in stored
    assert all(m.metadata["role"] == "user" for m in stored.values())

    memory.token_limit = 2000  # room for the recalled block next to the chat
    messages = await memory.aget(input="Which editor do I use?")
    system = messages[0]
    assert system.role == MessageRole.SYSTEM
    assert contains_injected(system.content or "")
    assert "Helix" in (system.content or "")
    assert "<memorymesh>" in (system.content or "")

    # Flushing that system message back (as an agent saving its whole context would) adds
    # nothing: the recalled block is stripped and nothing else is left.
    before = await mesh.count()
    await block.aput([ChatMessage(role=MessageRole.USER, content=system.content)])
    await block.aput([_user(mark_injected("Helix is the editor", label="recall"))])
    assert await mesh.count() == before


@pytest.mark.anyio
async def test_block_session_only_and_roles(mesh: AsyncMemoryMesh) -> None:
    block = MemoryMeshMemoryBlock(mesh=mesh, name="mm", roles=("user",), session_only=True)
    banned = "Never use tabs in this repository, always indent with spaces"
    fine = "I prefer tabs in the scripts folder of the other repository"
    assistant = "Understood: we never use tabs in this repository at all."
    await block.aput([_user(banned), _assistant(assistant)], session_id="a")
    await block.aput([_user(fine)], session_id="b")
    assert sorted(m.text for m in await mesh.list()) == [fine, banned]
    only_a = await block.aget([_user("are tabs allowed?")], session_id="a")
    assert "Never use tabs" in only_a and "scripts folder" not in only_a


@pytest.mark.anyio
async def test_block_priority_and_truncation(
    mesh: AsyncMemoryMesh, chat_engine: AsyncEngine
) -> None:
    for n in range(6):
        await mesh.remember(f"Release note {n}: the parser got faster by {n * 10} percent")
    block = MemoryMeshMemoryBlock(mesh=mesh, name="memorymesh", k=6, priority=2)
    content = await block.aget([_user("how much faster did the parser get?")])
    lines = content.splitlines()
    assert len(lines) == 1 + 1 + 6 + 1  # marker, heading, six memories, closing marker
    shorter = await block.atruncate(content, 20)
    assert shorter is not None and contains_injected(shorter)
    assert 2 < len(shorter.splitlines()) < len(lines)
    assert shorter.splitlines()[2:4] == lines[2:4]  # the best memories stay
    assert await block.atruncate(content, 10_000) is None
    assert await block.aget([_user("")]) == ""

    # Inside Memory, a tight budget truncates our block rather than dropping the chat.
    memory = Memory.from_defaults(
        session_id="t", token_limit=150, memory_blocks=[block], async_engine=chat_engine
    )
    await memory.aput(_user("how much faster did the parser get?"))
    [system, user] = await memory.aget()
    assert system.role == MessageRole.SYSTEM and user.role == MessageRole.USER
    assert 0 < (system.content or "").count("Release note") < 6


@pytest.mark.anyio
async def test_agent_style_loop_with_a_mock_llm(mesh: AsyncMemoryMesh) -> None:
    llm = MockLLMWithChatMemoryOfLastCall()
    first = MemoryMeshMemory(mesh=mesh, session_id="monday")
    await first.aput(_user("Our staging database is called hornbeam"))
    reply = await llm.achat(await first.aget())
    await first.aput(reply.message)

    # A new session, a new short-term buffer: only MemoryMesh carries the fact over.
    second = MemoryMeshMemory(mesh=mesh, session_id="tuesday")
    await second.aput(_user("What is the staging database called?"))
    reply = await llm.achat(await second.aget())
    sent = llm.last_chat_messages
    assert sent is not None and sent[0].role == MessageRole.SYSTEM
    assert "hornbeam" in (sent[0].content or "") and contains_injected(sent[0].content or "")
    await second.aput(reply.message)
    # The mock LLM echoes its prompt, recalled block included: that block is not stored.
    # (Its echo of the first message supersedes that message as a near-duplicate: history.)
    texts = [m.text for m in await mesh.list(include_superseded=True)]
    assert not any(contains_injected(t) for t in texts)
    assert texts.count("Our staging database is called hornbeam") == 1
    assert all(m.metadata["role"] in ("user", "assistant") for m in await mesh.list())
    assert [m.role for m in await second.aget_all()] == [MessageRole.USER, MessageRole.ASSISTANT]


@pytest.mark.anyio
async def test_set_and_reset_do_what_they_say(mesh: AsyncMemoryMesh) -> None:
    other = await mesh.remember("Written by another tool", session_id="s", source="cli")
    memory = MemoryMeshMemory(mesh=mesh, session_id="s")
    system = ChatMessage(role=MessageRole.SYSTEM, content="You are terse.")
    bazel = "The build for every service uses Bazel"
    await memory.aset([system, _user(bazel), _assistant("Bazel it is.")])
    await memory.aset([system, _user(bazel), _assistant("Bazel it is.")])
    assert len(await memory.aget_all()) == 3
    assert sorted(m.text for m in await mesh.list(session_id="s")) == [
        bazel,
        "Written by another tool",
    ]
    ci = await mesh.remember("Continuous integration runs on Buildkite", session_id="x")
    [merged, *_] = await memory.aget("which continuous integration runs the Bazel build?")
    content = merged.content or ""
    assert content.startswith("You are terse.") and "Buildkite" in content
    # What the short-term buffer already shows is not recalled a second time.
    assert bazel not in content
    assert (await memory.aget_all())[0].content == "You are terse."  # buffer left untouched
    await memory.areset()
    assert await memory.aget_all() == []
    assert {m.id for m in await mesh.list()} == {other.id, ci.id}


def test_sync_methods_through_a_portal(project_db: Path, global_db: Path) -> None:
    with start_blocking_portal("asyncio") as portal:
        mesh = portal.call(AsyncMemoryMesh(project_db, global_path=global_db).open)
        try:
            memory = MemoryMeshMemory(mesh=mesh, portal=portal, session_id="sync")
            memory.put(_user("Lunch is at noon on Fridays"))
            memory.put_messages([_assistant("Noon on Fridays, got it.")])
            assert len(memory.get_all()) == 2
            assert "noon" in (memory.get("when is lunch on fridays?")[0].content or "")
            memory.set([_user("Coffee is at ten")])
            assert len(memory.get_all()) == 1
            memory.reset()
            assert memory.get_all() == []
            assert portal.call(mesh.count) == 0
        finally:
            portal.call(mesh.aclose)


@pytest.mark.anyio
async def test_function_tools_have_fn_and_async_fn(mesh: AsyncMemoryMesh) -> None:
    remember, recall, forget = create_memory_tools(mesh=mesh, session_id="t1")
    assert all(isinstance(t, FunctionTool) for t in (remember, recall, forget))
    assert [t.metadata.name for t in (remember, recall, forget)] == ["remember", "recall", "forget"]
    assert all(t.fn is not None and t.async_fn is not None for t in (remember, recall, forget))
    out = await remember.acall(text="The office wifi is called meshnet")
    assert out.content.startswith("Remembered [")
    [memory] = await mesh.list()
    assert (memory.session_id, memory.source) == ("t1", "llama-index")
    found = (await recall.acall(query="what is the wifi called?")).content
    assert "meshnet" in found and contains_injected(found)
    assert (await remember.acall(text=found)).content.startswith("Not stored")
    # The sync fn goes back to the mesh's loop from a worker thread.
    assert (await anyio.to_thread.run_sync(lambda: forget.call(memory_id=memory.id))).content
    assert await mesh.count() == 0


@pytest.mark.anyio
# llama-index-workflows itself still uses pydantic attributes deprecated since 2.0 / 2.11.
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince20")
@pytest.mark.filterwarnings("ignore::pydantic.warnings.PydanticDeprecatedSince211")
async def test_function_agent_runs_with_our_memory(mesh: AsyncMemoryMesh) -> None:
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.llms.mock import MockFunctionCallingLLMWithChatMemoryOfLastCall

    await mesh.remember("The staging database is called hornbeam")
    llm = MockFunctionCallingLLMWithChatMemoryOfLastCall(
        response_generator=lambda messages, **kwargs: _assistant("It is hornbeam.")
    )
    agent = FunctionAgent(tools=create_memory_tools(mesh=mesh), llm=llm, system_prompt="Be brief.")
    memory = MemoryMeshMemory(mesh=mesh, session_id="agent")
    answer = await agent.run("What is the staging database called?", memory=memory)
    assert str(answer) == "It is hornbeam."
    sent = llm.last_chat_messages or []
    assert any(
        m.role == MessageRole.SYSTEM
        and "hornbeam" in (m.content or "")
        and contains_injected(m.content or "")
        for m in sent
    )
    # Neither the question nor the answer drawn from memory is a new fact to keep.
    assert await mesh.list(session_id="agent") == []
