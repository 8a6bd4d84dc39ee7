"""LangChain agents with MemoryMesh: create_agent + store, the middleware, the memory tools."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import anyio
import pytest

pytest.importorskip("langchain.agents")

from langchain.agents import create_agent
from langchain.tools import ToolRuntime, tool
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatResult
from langchain_memorymesh import (
    MemoryMeshMiddleware,
    MemoryMeshRetriever,
    MemoryMeshStore,
    create_memory_tools,
)
from pydantic import Field

from memorymesh import AsyncMemoryMesh, contains_injected, mark_injected


class ScriptedChatModel(GenericFakeChatModel):
    """langchain-core's fake chat model, able to take tools and keeping what it was sent."""

    seen: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.seen.append(list(messages))
        return super()._generate(messages, *args, **kwargs)


def _script(*messages: AIMessage) -> Iterator[AIMessage]:
    return iter(messages)


def _call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


@tool
async def save_fact(fact: str, runtime: ToolRuntime) -> str:
    """Save a fact about the user."""
    assert runtime.store is not None
    await runtime.store.aput(("users", "u1", "facts"), "favourite", {"text": fact, "by": "agent"})
    return "saved"


@tool
async def find_facts(query: str, runtime: ToolRuntime) -> str:
    """Find facts about the user."""
    assert runtime.store is not None
    items = await runtime.store.asearch(("users", "u1"), query=query)
    return "\n".join(f"{i.value['text']} (score {i.score:.2f})" for i in items) or "nothing"


@tool
def find_facts_sync(query: str, runtime: ToolRuntime) -> str:
    """Find facts about the user (a sync tool)."""
    assert runtime.store is not None
    items = runtime.store.search(("users", "u1"), query=query)
    return "\n".join(str(i.value["text"]) for i in items) or "nothing"


@pytest.mark.anyio
async def test_agent_tool_calls_write_then_read_memory_through_the_store(
    mesh: AsyncMemoryMesh,
) -> None:
    model = ScriptedChatModel(
        messages=_script(
            _call("save_fact", {"fact": "The user's favourite language is OCaml"}, "c1"),
            _call("find_facts", {"query": "favourite language"}, "c2"),
            AIMessage(content="Your favourite language is OCaml."),
        )
    )
    store = MemoryMeshStore(mesh=mesh)
    agent = create_agent(model, tools=[save_fact, find_facts], store=store)
    result = await agent.ainvoke({"messages": [HumanMessage("Remember: I love OCaml")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_messages[0].content == "saved"
    assert "The user's favourite language is OCaml (score " in str(tool_messages[1].content)
    assert result["messages"][-1].content == "Your favourite language is OCaml."
    item = await store.aget(("users", "u1", "facts"), "favourite")
    assert item is not None
    assert item.value == {"text": "The user's favourite language is OCaml", "by": "agent"}
    [memory] = await mesh.list()
    assert memory.source == "langchain"


@pytest.mark.anyio
async def test_sync_agent_with_sync_tool_reads_through_the_store(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("users", "u1"), "tz", {"text": "The user lives in Lisbon, UTC+0"})
    model = ScriptedChatModel(
        messages=_script(
            _call("find_facts_sync", {"query": "where does the user live"}, "c1"),
            AIMessage(content="Lisbon."),
        )
    )
    agent = create_agent(model, tools=[find_facts_sync], store=store)
    # A sync agent runs in a worker thread; its store calls go back to the mesh's loop.
    result = await anyio.to_thread.run_sync(
        lambda: agent.invoke({"messages": [HumanMessage("Where do I live?")]})
    )
    [tool_message] = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert tool_message.content == "The user lives in Lisbon, UTC+0"


@pytest.mark.anyio
async def test_middleware_recalls_into_the_system_message_and_never_stores_it(
    mesh: AsyncMemoryMesh,
) -> None:
    await mesh.remember("The user's cat is called Miso", category="context")
    model = ScriptedChatModel(
        messages=_script(AIMessage(content="Your cat is Miso."), AIMessage(content="Noted."))
    )
    middleware = MemoryMeshMiddleware(mesh=mesh, k=3, remember=True)
    agent = create_agent(model, system_prompt="You are helpful.", middleware=[middleware])
    result = await agent.ainvoke({"messages": [HumanMessage("What is my cat called?")]})
    system = model.seen[0][0]
    assert isinstance(system, SystemMessage)
    assert system.text.startswith("You are helpful.")
    assert contains_injected(system.text)
    assert "The user's cat is called Miso" in system.text
    # The conversation state keeps the plain system-less history: nothing injected in it.
    assert not any(contains_injected(m.text) for m in result["messages"])
    # The question itself is not a fact: nothing new was stored.
    texts = sorted(m.text for m in await mesh.list())
    assert texts == ["The user's cat is called Miso"]

    # A user message that only echoes the recalled block adds nothing.
    echo = HumanMessage(mark_injected("The user's cat is called Miso", label="recall"))
    await agent.ainvoke({"messages": [echo]})
    assert sorted(m.text for m in await mesh.list()) == texts


@pytest.mark.anyio
async def test_middleware_without_remember_writes_nothing_and_works_sync(
    mesh: AsyncMemoryMesh,
) -> None:
    await mesh.remember("Deploys go out on Tuesdays", category="decision")
    model = ScriptedChatModel(messages=_script(AIMessage(content="Tuesdays.")))
    agent = create_agent(model, middleware=[MemoryMeshMiddleware(mesh=mesh)])
    await anyio.to_thread.run_sync(
        lambda: agent.invoke({"messages": [HumanMessage("When do deploys go out?")]})
    )
    [system, *_] = model.seen[0]
    assert isinstance(system, SystemMessage) and "Deploys go out on Tuesdays" in system.text
    assert await mesh.count() == 1


@pytest.mark.anyio
async def test_memory_tools_remember_recall_forget(mesh: AsyncMemoryMesh) -> None:
    remember, recall, forget = create_memory_tools(mesh=mesh, session_id="s1")
    assert [t.name for t in (remember, recall, forget)] == ["remember", "recall", "forget"]
    assert all(t.func is not None and t.coroutine is not None for t in (remember, recall, forget))
    said = await remember.ainvoke({"text": "User prefers metric units", "importance": 0.8})
    assert said.startswith("Remembered [")
    [memory] = await mesh.list()
    assert (memory.session_id, memory.importance, memory.source) == ("s1", 0.8, "langchain")
    found = await recall.ainvoke({"query": "which units does the user prefer?"})
    assert contains_injected(found) and "User prefers metric units" in found
    # What recall handed to the model is not memory: the tool refuses to store it again.
    assert (await remember.ainvoke({"text": found})).startswith("Not stored")
    assert await mesh.count() == 1
    assert await recall.ainvoke({"query": "zebra"}) == "No memory matches."
    assert "No single memory" in await forget.ainvoke({"memory_id": "nope"})
    assert (await forget.ainvoke({"memory_id": memory.id[:8]})).startswith("Forgot [")
    assert await mesh.count() == 0


@pytest.mark.anyio
async def test_retriever_documents_carry_id_score_and_fields(mesh: AsyncMemoryMesh) -> None:
    kept = await mesh.remember("Invoices live in PostgreSQL", metadata={"team": "billing"})
    await mesh.remember("Invoices are emailed monthly", metadata={"team": "ops"})
    retriever = MemoryMeshRetriever(mesh=mesh, k=5, metadata_filter={"team": "billing"})
    [doc] = await retriever.ainvoke("where do invoices live?")
    assert doc.id == kept.id and doc.page_content == kept.text
    assert doc.metadata["id"] == kept.id
    assert 0.0 < doc.metadata["score"] <= 1.0
    assert doc.metadata["metadata"] == {"team": "billing"}
    assert doc.metadata["category"] == kept.category.value
    assert len(await MemoryMeshRetriever(mesh=mesh, k=1).ainvoke("invoices")) == 1
    assert len(await MemoryMeshRetriever(mesh=mesh).ainvoke("invoices", k=2)) == 2
