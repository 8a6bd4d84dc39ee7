"""``memorymesh migrate``: copy the local stores to a server database, or back.

Built on export and import, so every memory keeps its id, text, metadata, timestamps, access
statistics, life-cycle status (review queue, archive), history links and stored vector; ids
already at the destination are skipped, so running it again copies only what is new. The
write log is not copied (the destination records one ``imported`` entry per store).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from .. import AsyncMemoryMesh
from ._app import open_mesh

__all__ = ["register"]


async def cmd_migrate(args: argparse.Namespace) -> int:
    server_url = args.to or args.from_
    local = open_mesh(args, source="migrate")
    server = AsyncMemoryMesh(server_url, project=args.project, user=args.user, source="migrate")
    source, target = (local, server) if args.to else (server, local)
    async with source, target:
        buffer = io.StringIO()
        count = await source.export(buffer, include_embeddings=True)
        report = await target.import_(io.StringIO(buffer.getvalue()), on_clash="skip")
        where = [s for s in (target.project_path, target.global_path) if s]
    if args.json:
        json.dump({"read": count, **report.model_dump(mode="json")}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(
            f"Copied {report.imported} of {count} memories to {' and '.join(where)}; "
            f"{report.skipped} were already there"
        )
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``migrate`` to the ``memorymesh`` command line."""
    text = (
        "Copy every memory (history, review queue, vectors) from the local stores to a "
        "PostgreSQL database (--to), or from one into the local stores (--from)."
    )
    p = sub.add_parser("migrate", parents=[common], help=text, description=text)
    direction = p.add_mutually_exclusive_group(required=True)
    direction.add_argument("--to", metavar="URL", help="the server database to copy into")
    direction.add_argument(
        "--from", dest="from_", metavar="URL", help="the server database to copy from"
    )
    p.add_argument("--project", help="the project key on the server (default: the git remote)")
    p.add_argument("--user", help="whose global memories on the server (default: the OS user)")
    p.set_defaults(handler=cmd_migrate)
