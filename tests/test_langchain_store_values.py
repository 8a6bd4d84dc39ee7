"""MemoryMeshStore: an item lives where the store is configured, and comes back as put."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("langgraph.store.base")

from langchain_memorymesh import MemoryMeshItem, MemoryMeshSearchItem, MemoryMeshStore
from langgraph.store.base import PutOp

from memorymesh import (
    AsyncMemoryMesh,
    InvalidInputError,
    Scope,
    SecretDetectedError,
    TooLargeError,
)

pytestmark = pytest.mark.anyio

# Shaped like real credentials so the privacy guard recognises them (not real ones).
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
PASSWORD_URL = "postgres://app:Tr0ub4dor&3@db.internal:5432/billing"


async def test_default_scope_is_the_project_whatever_the_category(
    mesh: AsyncMemoryMesh, tmp_path: Path, global_db: Path
) -> None:
    store = MemoryMeshStore(mesh=mesh)
    assert store.scope is Scope.PROJECT
    # A preference would go to the global store if its category decided.
    await store.aput(("prefs",), "editor", {"text": "I always prefer dark mode in my editor"})
    assert await mesh.count(scope="global") == 0
    assert await mesh.count(scope="project") == 1
    # Another project sharing the global store does not see it under the same namespace.
    async with AsyncMemoryMesh(tmp_path / "other.db", global_path=global_db) as other:
        assert await MemoryMeshStore(mesh=other).aget(("prefs",), "editor") is None
        assert await MemoryMeshStore(mesh=other).asearch(("prefs",)) == []


async def test_outside_a_project_items_live_in_the_global_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, global_db: Path
) -> None:
    monkeypatch.delenv("MEMORYMESH_PROJECT_ROOT")
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    monkeypatch.chdir(nowhere)
    async with AsyncMemoryMesh(global_path=global_db) as mesh:
        assert mesh.project_path is None
        store = MemoryMeshStore(mesh=mesh)
        assert store.scope is Scope.GLOBAL
        await store.aput(("notes",), "n1", {"text": "The billing service owns invoices"})
        assert await mesh.count(scope="global") == 1
        assert (await store.aget(("notes",), "n1")) is not None


async def test_a_secret_in_a_key_or_namespace_is_refused_never_rewritten(
    mesh: AsyncMemoryMesh,
) -> None:
    # Rewriting the name would store the item where nobody can find it; keeping it would put
    # the secret on disk in clear (issue #17): the write is refused, nothing is stored.
    store = MemoryMeshStore(mesh=mesh)
    for ns, key in ((("tokens", GITHUB), "k"), (("tokens",), GITHUB)):
        with pytest.raises(SecretDetectedError):
            await store.aput(ns, key, {"text": "which token this user registered"})
    assert await mesh.count() == 0
    # A name that only looks secret-ish is kept as it is.
    await store.aput(("tokens", "github"), "ci-token", {"text": "the CI token is in the vault"})
    item = await store.aget(("tokens", "github"), "ci-token")
    assert item is not None and item.key == "ci-token"


async def test_a_redacted_value_says_so_on_the_item(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    await store.aput(("cfg",), "db", {"text": "the billing database", "url": PASSWORD_URL})
    item = await store.aget(("cfg",), "db")
    assert isinstance(item, MemoryMeshItem)
    assert item.value["url"] == "postgres://app:[REDACTED:password_in_url]@db.internal:5432/billing"
    assert item.redactions == ("password_in_url",)
    [hit] = await store.asearch(("cfg",))
    assert isinstance(hit, MemoryMeshSearchItem) and hit.redactions == ("password_in_url",)
    # A clean value put over it: nothing is redacted any more, and the item says so.
    await store.aput(("cfg",), "db", {"text": "the billing database", "url": "see the vault"})
    item = await store.aget(("cfg",), "db")
    assert item is not None and item.redactions == ()
    assert item.value == {"text": "the billing database", "url": "see the vault"}


async def test_a_store_on_a_mesh_with_privacy_allow_returns_values_exactly(
    project_db: Path, global_db: Path
) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db, privacy="allow") as mesh:
        store = MemoryMeshStore(mesh=mesh)
        value = {"text": f"deploy token {GITHUB}", "url": PASSWORD_URL}
        await store.aput(("cfg",), "deploy", value)
        item = await store.aget(("cfg",), "deploy")
        assert item is not None and item.value == value and item.redactions == ()


async def test_long_values_are_kept_whole_and_searchable(mesh: AsyncMemoryMesh) -> None:
    store = MemoryMeshStore(mesh=mesh)
    long_text = "Kestrel migration runbook. " + "step " * 12_000  # 60k chars, 3x the text limit
    value = {"text": long_text, "blob": "x" * 200_000}  # far above the 64 KiB metadata limit
    await store.aput(("docs",), "runbook", value)
    item = await store.aget(("docs",), "runbook")
    assert item is not None and item.value == value
    [hit] = await store.asearch(("docs",), query="kestrel runbook")
    assert hit.key == "runbook" and hit.value == value
    # An update of a long value goes through the same limit.
    await store.aput(("docs",), "runbook", {**value, "blob": "y" * 200_000})
    item = await store.aget(("docs",), "runbook")
    assert item is not None and item.value["blob"] == "y" * 200_000


async def test_a_value_over_the_limit_is_a_typed_error_and_writes_nothing(
    mesh: AsyncMemoryMesh,
) -> None:
    store = MemoryMeshStore(mesh=mesh, max_value_bytes=1000)
    with pytest.raises(TooLargeError, match="max_value_bytes") as caught:
        await store.abatch(
            [
                PutOp(("docs",), "small", {"text": "fits"}),
                PutOp(("docs",), "big", {"text": "z" * 2000}),
            ]
        )
    assert isinstance(caught.value, InvalidInputError) and isinstance(caught.value, ValueError)
    assert await mesh.count() == 0
    default = MemoryMeshStore(mesh=mesh)
    assert default.max_value_bytes == 1024 * 1024
    with pytest.raises(TooLargeError):
        await default.aput(("docs",), "huge", {"text": "z" * (1024 * 1024 + 1)})
    with pytest.raises(InvalidInputError, match="max_value_bytes"):
        MemoryMeshStore(mesh=mesh, max_value_bytes=0)


async def test_the_mesh_limits_raise_the_same_typed_error(mesh: AsyncMemoryMesh) -> None:
    with pytest.raises(TooLargeError, match="20000"):
        await mesh.remember("a" * 20_001)
    with pytest.raises(TooLargeError, match="byte limit"):
        await mesh.remember("fine", metadata={"blob": "b" * 70_000})
    # A write may raise its own metadata limit (what the LangGraph store does).
    memory = await mesh.remember("fine", metadata={"blob": "b" * 70_000}, max_metadata_bytes=10**6)
    assert len(memory.metadata["blob"]) == 70_000
