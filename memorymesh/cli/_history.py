"""``memorymesh reembed``, ``config``, ``history`` and ``restore``: the retrieval engine at the
terminal."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .._config import SETTINGS, config_path, configured_embedding, write_setting
from .._models import Memory
from ._common import open_mesh
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
        embedder = mesh.embedder.name if mesh.embedder is not None else "none"
    if args.json:
        json.dump({"embedded": done, "embedder": embedder}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"Embedded {done} memories with {embedder}")
    return 0


async def cmd_config(args: argparse.Namespace) -> int:
    if args.key is not None:
        if args.value is None:
            print(f"give a value: memorymesh config {args.key} VALUE", file=sys.stderr)
            return 2
        path = write_setting(args.key, args.value)
        print(f"Set {args.key} = {args.value!r} in {path}")
        return 0
    embedding, origin = configured_embedding()
    async with open_mesh(args, embedding=embedding) as mesh:
        recorded = {s.label: await s.get_meta("embedder") for s in mesh.stores}
        active = mesh.embedder.name if mesh.embedder is not None else "none"
    report = {
        "config_file": str(config_path()),
        "config_file_exists": config_path().exists(),
        "embedding": embedding,
        "embedding_from": origin,
        "embedder": active,
        "recorded_embedders": recorded,
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    exists = "" if report["config_file_exists"] else " (not created yet)"
    print(f"config file:  {report['config_file']}{exists}")
    print(f"embedding:    {embedding}  (from {origin})")
    recall = "keyword only" if active == "none" else "hybrid: keyword + vectors"
    print(f"embedder:     {active}  (recall: {recall})")
    for label, name in recorded.items():
        print(f"  recorded in {label}: {name or '(never embedded)'}")
    print("Set it for the CLI and the MCP server: memorymesh config embedding local")
    print("(or MEMORYMESH_EMBEDDING=local for one process)")
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
    from ._common import resolve_id as resolve

    result: str = await resolve(mesh, given)
    return result


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the retrieval commands to the ``memorymesh`` parser."""

    def command(name: str, handler: Any, help_text: str, more: str) -> argparse.ArgumentParser:
        # `help` is the line in `memorymesh --help`; `description` heads `memorymesh NAME --help`.
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help_text, description=f"{help_text} {more}"
        )
        p.set_defaults(handler=handler)
        return p

    p = command(
        "reembed",
        cmd_reembed,
        "Give every memory a vector from an embedder (after switching embedders).",
        "Until then, vector recall on a store embedded by another model is refused rather "
        "than mixing two models' vectors. Shows a progress bar on a terminal.",
    )
    p.add_argument(
        "--embedding",
        metavar="PROVIDER",
        help="local, ollama[:MODEL], openai[:MODEL] or another registered provider (default: "
        "the configured one, see `memorymesh config`); later commands use it too",
    )

    p = command(
        "config",
        cmd_config,
        "Show the configuration every entry point uses, or set one setting.",
        "Without arguments, show the configuration (file, embedding and where it came from, "
        "the embedder each store recorded). With KEY VALUE, set it in the config file. "
        "Settings: " + "; ".join(f"{k}: {v}" for k, v in SETTINGS.items()),
    )
    p.add_argument("key", nargs="?", choices=sorted(SETTINGS), help="the setting to change")
    p.add_argument("value", nargs="?", help="its new value")

    p = command(
        "history",
        cmd_history,
        "Show every version of a memory.",
        "Oldest first: the versions it superseded (or that were merged into it) and the "
        "current one.",
    )
    p.add_argument("id", help="id or unique id prefix of any version")

    p = command(
        "restore",
        cmd_restore,
        "Make a superseded memory current.",
        "The memory that replaced it becomes history in its place (see `memorymesh history`).",
    )
    p.add_argument("id", help="id or unique id prefix of the version to make current")
