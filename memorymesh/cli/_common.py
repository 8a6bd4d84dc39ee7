"""What every command group shares: opening the mesh the global options name, short ids,
counts as argparse types, and the extra lines other parts add to ``status``.

Command modules import this, never ``_app`` (which imports them), so the command line has no
import circle.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._mesh import AsyncMemoryMesh

__all__ = ["STATUS_HOOKS", "count", "open_mesh", "resolve_id"]


def open_mesh(args: argparse.Namespace, **options: Any) -> AsyncMemoryMesh:
    """An ``AsyncMemoryMesh`` on the stores the global options name, with the configured
    embedder (``MEMORYMESH_EMBEDDING``, ``config.toml``, else the one the store recorded)."""
    # Imported here: parsing the command line, which imports this module, must stay light.
    from .._config import configured_embedding
    from .._mesh import AsyncMemoryMesh

    options.setdefault("source", "cli")
    if options.get("embedding") is None:
        options["embedding"] = configured_embedding()[0]
    return AsyncMemoryMesh(
        getattr(args, "db", None), global_path=getattr(args, "global_db", None), **options
    )


async def resolve_id(mesh: AsyncMemoryMesh, given: str) -> str:
    """Accept a full id or any unique prefix of one (people type the 8 characters we print)."""
    from .._errors import MemoryNotFoundError

    try:
        await mesh.get(given)
    except MemoryNotFoundError:
        return await mesh.resolve_id(given)
    return given


def count(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type for a whole number from ``low`` (to ``high``): a bad count is bad
    usage, so it exits with status 2 before any store is opened."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            bound = f"from {low} to {high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"must be a whole number {bound}, not {value!r}")
        return number

    return parse


#: Extra ``status`` lines from other parts (e.g. which AI clients are configured).
STATUS_HOOKS: list[Callable[[], dict[str, Any]]] = []
