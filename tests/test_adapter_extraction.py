"""Adapters that remember a conversation keep its statements, never its questions or chit-chat
(the Claude Code hook's extraction and noise gate), and Smart Sync never writes a question
into an instruction file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langchain.agents")
pytest.importorskip("llama_index.core")

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_memorymesh import MemoryMeshMiddleware
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.memory.memorymesh import MemoryMeshMemory

from memorymesh import AsyncMemoryMesh

pytestmark = pytest.mark.anyio

FACT = "My favourite database is PostgreSQL and I use it for every new service"
QUESTION = "What is my favourite database?"
CHIT_CHAT = "Hi there! Thanks so much, that was really helpful for me today."


def _user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def _assistant(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


async def test_llama_index_memory_keeps_the_fact_not_the_question(mesh: AsyncMemoryMesh) -> None:
    monday = MemoryMeshMemory(mesh=mesh, session_id="monday")
    await monday.aput_messages([_user(FACT), _assistant("Noted, PostgreSQL it is.")])
    await monday.aput_messages([_user(CHIT_CHAT), _assistant("You're welcome!")])

    tuesday = MemoryMeshMemory(mesh=mesh, session_id="tuesday")
    await tuesday.aput(_user(QUESTION))
    [system, _] = await tuesday.aget()
    assert system.role == MessageRole.SYSTEM and FACT in (system.content or "")
    await tuesday.aput(_assistant("Your favourite database is PostgreSQL."))

    [memory] = await mesh.list()
    assert memory.text == FACT and memory.category.value == "preference"
    assert memory.metadata == {"role": "user", "rule": "user preference"}
    # The answer to the question is the statement, not the question itself.
    [hit, *_] = await mesh.recall(QUESTION)
    assert hit.memory.text == FACT


async def test_langchain_middleware_remembers_statements_only(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    model = GenericFakeChatModel(
        messages=iter([AIMessage(content="I don't know yet."), AIMessage(content="Noted.")] * 2)
    )
    agent = create_agent(model, middleware=[MemoryMeshMiddleware(mesh=mesh, remember=True)])
    await agent.ainvoke({"messages": [HumanMessage(QUESTION)]})
    await agent.ainvoke({"messages": [HumanMessage(CHIT_CHAT)]})
    assert await mesh.count() == 0

    await agent.ainvoke({"messages": [HumanMessage(FACT)]})
    [memory] = await mesh.list()
    assert memory.text == FACT and memory.category.value == "preference"
    assert memory.source == "langchain"

    # And so `sync --to CLAUDE.md` has the preference, and no question.
    target = tmp_path / "project" / "CLAUDE.md"
    await mesh.sync_to(target)
    text = target.read_text(encoding="utf-8")
    assert FACT in text and QUESTION not in text


async def test_a_message_with_a_question_and_a_statement_keeps_the_statement(
    mesh: AsyncMemoryMesh,
) -> None:
    memory = MemoryMeshMemory(mesh=mesh, session_id="s")
    await memory.aput(_user(f"Quick one. {QUESTION} Also, {FACT}."))
    assert [m.text for m in await mesh.list()] == [f"Also, {FACT}."]


def test_extraction_keeps_facts_about_the_user_and_the_project() -> None:
    from memorymesh._adapters import worth_remembering

    found = worth_remembering(
        [
            ("user", "My name is Ada and I live in Lisbon with two cats."),
            ("user", "Our staging database is called hornbeam."),
            ("user", "Can you tell me what the staging database is called?"),
            ("system", "Our production database is called juniper, always."),
            ("assistant", "Sure, happy to help with that whenever you need it."),
        ]
    )
    assert [(c.text, c.category) for c in found] == [
        ("My name is Ada and I live in Lisbon with two cats.", "personality"),
        ("Our staging database is called hornbeam.", "context"),
    ]
