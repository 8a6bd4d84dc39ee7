"""``memorymesh reembed``, ``history`` and ``restore``: the retrieval engine at the terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._models import Memory
from ._app import open_mesh
from ._progress import Progress

__all__ = ["register"]


def _print_history(versions: list[Memory]) -> None:
    for m in versions:
        state = "current" if m.superseded_by is None else f"→ {m.superseded_by[:8]}"
        print(f"{m.id[:8]}  {m.created_at:%Y-%m-%d %H:%M}  {state:<10}  {m.text}")


async def cmd_reembed(args: argparse.Namespace) -> int:
    async with open_mesh(args, embedding=args.embedding) as mesh:
        backlog = await mesh.embedding_backlog()
        with Progress(backlog, "Re-embedding") as bar:
            done = await mesh.reembed(progress=bar.advance)
    if args.json:
        json.dump({"embedded": done, "embedder": args.embedding}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"Embedded {done} memories with {args.embedding}")
    return 0


async def cmd_history(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        memory_id = await _resolve(mesh, args.id)
        versions = await mesh.history(memory_id)
    if args.json:
        json.dump([m.model_dump(mode="json") for m in versions], sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        _print_history(versions)
    return 0


async def cmd_restore(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        memory = await mesh.restore(await _resolve(mesh, args.id))
    if args.json:
        json.dump(memory.model_dump(mode="json"), sys.stdout, default=str)
        sys.stdout.write("\n")
    else:
        print(f"Restored {memory.id[:8]}: {memory.text}")
    return 0


async def _resolve(mesh: Any, given: str) -> str:
    from ._app import _resolve as resolve

    result: str = await resolve(mesh, given)
    return result


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the retrieval commands to the ``memorymesh`` parser."""
    p = sub.add_parser(
        "reembed",
        parents=[common],
        help="Give every memory a vector from an embedder (after switching embedders).",
    )
    p.add_argument(
        "--embedding",
        required=True,
        metavar="PROVIDER",
        help="local, ollama[:MODEL], openai[:MODEL] or another registered provider",
    )
    p.set_defaults(handler=cmd_reembed)

    p = sub.add_parser("history", parents=[common], help="Show every version of a memory.")
    p.add_argument("id", help="id or unique id prefix")
    p.set_defaults(handler=cmd_history)

    p = sub.add_parser("restore", parents=[common], help="Make a superseded memory current.")
    p.add_argument("id", help="id or unique id prefix")
    p.set_defaults(handler=cmd_restore)
