"""LangChain's own standard suites (langchain-tests) run against our retriever and tools.

The suites build adapters from plain properties and call both ``invoke`` (sync, no event loop)
and ``ainvoke`` (on the test's loop), so the mesh lives in a blocking portal here: the way a
sync program or a notebook would open it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_tests")

from anyio.from_thread import BlockingPortal, start_blocking_portal
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import BaseTool
from langchain_memorymesh import MemoryMeshRetriever, create_memory_tools
from langchain_tests.integration_tests import RetrieversIntegrationTests, ToolsIntegrationTests
from langchain_tests.unit_tests import ToolsUnitTests

from memorymesh import AsyncMemoryMesh

FACTS = [
    "The billing service stores invoices in PostgreSQL",
    "Billing exports run nightly at two in the morning",
    "The billing team prefers typed Python with mypy strict",
    "Invoices older than seven years are archived from billing",
    "Billing alerts go to the payments channel",
]


class _PortalMesh:
    """A mesh opened in a blocking portal, seeded with a few memories."""

    def __init__(self, portal: BlockingPortal, mesh: AsyncMemoryMesh) -> None:
        self.portal = portal
        self.mesh = mesh
        self.first_id = ""


@pytest.fixture
def portal_mesh(project_db: Path, global_db: Path) -> Iterator[_PortalMesh]:
    with start_blocking_portal("asyncio") as portal:
        mesh = portal.call(AsyncMemoryMesh(project_db, global_path=global_db).open)
        try:
            opened = _PortalMesh(portal, mesh)
            for fact in FACTS:
                memory = portal.call(mesh.remember, fact)
                opened.first_id = opened.first_id or memory.id
            yield opened
        finally:
            portal.call(mesh.aclose)


class _UsesPortalMesh:
    opened: _PortalMesh

    @pytest.fixture(autouse=True)
    def _open(self, portal_mesh: _PortalMesh) -> None:
        self.opened = portal_mesh


@pytest.mark.anyio
class TestMemoryMeshRetrieverStandard(_UsesPortalMesh, RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return MemoryMeshRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"mesh": self.opened.mesh, "portal": self.opened.portal, "k": 5}

    @property
    def retriever_query_example(self) -> str:
        return "what do we know about billing?"


def _tool(opened: _PortalMesh, name: str) -> BaseTool:
    tools = create_memory_tools(mesh=opened.mesh, portal=opened.portal)
    return next(t for t in tools if t.name == name)


class _RememberTool(_UsesPortalMesh):
    @property
    def tool_constructor(self) -> BaseTool:
        return _tool(self.opened, "remember")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"text": "The user prefers short answers", "category": "preference"}


class _RecallTool(_UsesPortalMesh):
    @property
    def tool_constructor(self) -> BaseTool:
        return _tool(self.opened, "recall")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"query": "where are invoices stored?", "k": 2}


class _ForgetTool(_UsesPortalMesh):
    @property
    def tool_constructor(self) -> BaseTool:
        return _tool(self.opened, "forget")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"memory_id": self.opened.first_id}


class TestRememberToolUnit(_RememberTool, ToolsUnitTests):
    pass


@pytest.mark.anyio
class TestRememberToolIntegration(_RememberTool, ToolsIntegrationTests):
    pass


class TestRecallToolUnit(_RecallTool, ToolsUnitTests):
    pass


@pytest.mark.anyio
class TestRecallToolIntegration(_RecallTool, ToolsIntegrationTests):
    pass


class TestForgetToolUnit(_ForgetTool, ToolsUnitTests):
    pass


@pytest.mark.anyio
class TestForgetToolIntegration(_ForgetTool, ToolsIntegrationTests):
    pass
