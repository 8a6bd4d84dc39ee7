"""Every adapter takes a sync ``MemoryMesh`` as ``mesh=`` directly, and refuses anything else
with a typed error (not a raw pydantic ``ValidationError``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain.agents")
pytest.importorskip("llama_index.core")

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_memorymesh import (
    MemoryMeshMiddleware,
    MemoryMeshRetriever,
    MemoryMeshStore,
)
from langchain_memorymesh import create_memory_tools as langchain_tools
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.memory.memorymesh import (
    MemoryMeshMemory,
    MemoryMeshMemoryBlock,
)
from llama_index.memory.memorymesh import create_memory_tools as llama_tools
from pydantic import ValidationError

from memorymesh import AsyncMemoryMesh, InvalidMeshError, MemoryMesh, MemoryMeshError

ADAPTERS: dict[str, Callable[..., Any]] = {
    "MemoryMeshRetriever": MemoryMeshRetriever,
    "MemoryMeshStore": MemoryMeshStore,
    "MemoryMeshMiddleware": MemoryMeshMiddleware,
    "langchain create_memory_tools": langchain_tools,
    "MemoryMeshMemory": MemoryMeshMemory,
    "MemoryMeshMemoryBlock": MemoryMeshMemoryBlock,
    "llama_index create_memory_tools": llama_tools,
}


@pytest.fixture
def mm(tmp_path: Path) -> Iterator[MemoryMesh]:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        mesh.remember("We decided to deploy the billing service on Fridays", category="decision")
        yield mesh


def test_langchain_adapters_take_a_sync_mesh(mm: MemoryMesh) -> None:
    retriever = MemoryMeshRetriever(mesh=mm, k=2)
    [doc] = retriever.invoke("when do we deploy billing?")
    assert doc.page_content == "We decided to deploy the billing service on Fridays"

    remember, recall, _ = langchain_tools(mesh=mm)
    assert "Remembered" in remember.invoke({"text": "Staging runs on Hetzner machines"})
    assert "Hetzner" in recall.invoke({"query": "where does staging run?"})

    store = MemoryMeshStore(mesh=mm)
    store.put(("notes",), "k1", {"text": "The on-call rotation changes every Monday"})
    item = store.get(("notes",), "k1")
    assert item is not None and item.value["text"].startswith("The on-call rotation")

    model = GenericFakeChatModel(messages=iter([AIMessage(content="Fridays.")]))
    agent = create_agent(model, middleware=[MemoryMeshMiddleware(mesh=mm, k=2)])
    result = agent.invoke({"messages": [HumanMessage("When do we deploy billing?")]})
    assert result["messages"][-1].text == "Fridays."
    assert mm.count() == 3  # the store item, the tool's fact and the first memory


@pytest.mark.anyio
async def test_async_calls_work_on_a_sync_mesh_too(mm: MemoryMesh) -> None:
    retriever = MemoryMeshRetriever(mesh=mm, k=1)
    [doc] = await retriever.ainvoke("when do we deploy billing?")
    assert "Fridays" in doc.page_content
    memory = MemoryMeshMemory(mesh=mm, session_id="s1")
    messages = await memory.aget(input="when do we deploy billing?")
    assert messages[0].role == MessageRole.SYSTEM and "Fridays" in str(messages[0].content)


def test_llama_index_adapters_take_a_sync_mesh(mm: MemoryMesh) -> None:
    memory = MemoryMeshMemory(mesh=mm, session_id="s1")
    memory.put(ChatMessage(role=MessageRole.USER, content="When do we deploy billing?"))
    [system, user] = memory.get()
    assert system.role == MessageRole.SYSTEM and "Fridays" in str(system.content)
    assert user.content == "When do we deploy billing?"

    block = MemoryMeshMemoryBlock(mesh=mm)
    assert block.mesh is mm.async_mesh and block.portal is mm.portal

    remember, recall, _ = llama_tools(mesh=mm)
    assert "Remembered" in str(remember.call(text="The release train leaves every Wednesday"))
    assert "Wednesday" in str(recall.call(query="when does the release train leave?"))


@pytest.mark.parametrize("name", sorted(ADAPTERS))
@pytest.mark.parametrize("bad", ["not a mesh", None, 42])
def test_anything_else_is_a_typed_error(name: str, bad: object) -> None:
    with pytest.raises(InvalidMeshError, match="MemoryMesh or an AsyncMemoryMesh") as caught:
        ADAPTERS[name](mesh=bad)
    assert isinstance(caught.value, MemoryMeshError) and isinstance(caught.value, TypeError)
    assert not isinstance(caught.value, ValidationError)


def test_a_sync_mesh_with_a_foreign_portal_is_refused(mm: MemoryMesh, tmp_path: Path) -> None:
    with (
        MemoryMesh(tmp_path / "other.db", global_path=tmp_path / "g2.db") as other,
        pytest.raises(InvalidMeshError, match="own portal"),
    ):
        MemoryMeshRetriever(mesh=mm, portal=other.portal)


@pytest.mark.anyio
async def test_an_async_mesh_still_works_as_before(tmp_path: Path) -> None:
    async with AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("The user's cat is called Miso", category="context")
        retriever = MemoryMeshRetriever(mesh=mesh)
        assert retriever.mesh is mesh and retriever.portal is None
        [doc] = await retriever.ainvoke("what is the cat called?")
        assert "Miso" in doc.page_content


def test_the_readme_asyncio_run_skeleton_runs_as_a_script(tmp_path: Path) -> None:
    import os
    import re
    import subprocess
    import sys

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    [script] = [
        block
        for block in re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
        if "asyncio.run(main())" in block
    ]
    (tmp_path / "project").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "MEMORYMESH_HOME": str(tmp_path / ".memorymesh"),
        "MEMORYMESH_PROJECT_ROOT": str(tmp_path / "project"),
    }
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "User prefers dark mode in every editor" in done.stdout
