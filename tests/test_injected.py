"""Context MemoryMesh injected is never stored back as a new memory."""

from __future__ import annotations

import pytest

from memorymesh import (
    AsyncMemoryMesh,
    InjectedContextError,
    contains_injected,
    mark_injected,
    strip_injected,
)

pytestmark = pytest.mark.anyio


def test_marker_round_trip() -> None:
    block = mark_injected("- User prefers dark mode", label="session-start")
    assert contains_injected(block)
    assert strip_injected(block) == ""
    mixed = f"Here is what I know:\n{block}\n\nNew: the build uses Bazel now."
    assert strip_injected(mixed) == "Here is what I know:\n\nNew: the build uses Bazel now."
    truncated = "keep this <memorymesh-context>\n- half a recalled memo"
    assert strip_injected(truncated) == "keep this"
    synced = "# Notes\n<!-- memorymesh:start -->\n- a synced memory\n<!-- memorymesh:end -->\nmine"
    assert strip_injected(synced) == "# Notes\n\nmine"
    assert not contains_injected("an ordinary <context> tag")


async def test_remember_refuses_pure_injected_context(mesh: AsyncMemoryMesh) -> None:
    with pytest.raises(InjectedContextError):
        await mesh.remember(mark_injected("- User prefers dark mode"))
    stored = await mesh.remember(
        mark_injected("- User prefers dark mode") + "\nThe user now prefers light mode"
    )
    assert stored.text == "The user now prefers light mode"
    assert await mesh.count() == 1


async def test_keep_both_stores_an_exact_duplicate(mesh: AsyncMemoryMesh) -> None:
    first = await mesh.remember("Standup is at 9:30")
    second = await mesh.remember("Standup is at 9:30", on_conflict="keep_both")
    assert second.id != first.id
    assert await mesh.count() == 2
    with pytest.raises(ValueError, match="conflict policy"):
        await mesh.remember("x", on_conflict="overwrite")  # type: ignore[arg-type]
