"""``memorymesh migrate``: copy the local stores to a server database, or back.

Built on export and import, so every memory keeps its id, text, metadata, timestamps, access
statistics, life-cycle status (review queue, archive), history links and stored vector; ids
already at the destination are skipped, so running it again copies only what is new. Memories
go over in chunks (one transaction each, history-link targets first), so a progress bar can
follow them on a terminal and an interrupted run resumes where it stopped. Then what the
stores keep beside the memories (the uncertain pairs waiting for the judge or a person, the
judge's cached verdicts, the recorded sessions) goes over in one more transaction, skipping
what is already there; then each store's write log is copied with its entries' own times
(``io._transfer.append_log``), skipping the entries already there.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from typing import Any

from .. import AsyncMemoryMesh
from ..io._transfer import append_log, links_first, missing_log_entries
from ._app import open_mesh
from ._progress import Progress

__all__ = ["register"]

#: Memories per import transaction (and per step of the progress bar).
CHUNK = 1_000


async def cmd_migrate(args: argparse.Namespace) -> int:
    server_url = args.to or args.from_
    local = open_mesh(args, source="migrate")
    server = AsyncMemoryMesh(server_url, project=args.project, user=args.user, source="migrate")
    source, target = (local, server) if args.to else (server, local)
    totals: dict[str, int] = {}
    async with source, target:
        buffer = io.StringIO()
        count = await source.export(buffer, include_embeddings=True)
        header, *lines = buffer.getvalue().splitlines()
        parsed = [json.loads(line) for line in lines]
        records = links_first([r for r in parsed if "type" not in r])
        # Side records last, in one document: a pair is kept only where its memories are.
        chunks = [records[start : start + CHUNK] for start in range(0, len(records), CHUNK)]
        side = [r for r in parsed if "type" in r]
        with Progress(count, "Copying memories") as bar:
            for chunk in [*chunks, side] if side else chunks:
                document = "\n".join([header, *(json.dumps(r) for r in chunk)]) + "\n"
                report = await target.import_(io.StringIO(document), on_clash="skip")
                for name, value in report.model_dump().items():
                    totals[name] = totals.get(name, 0) + value
                bar.advance(len(chunk) if chunk is not side else 0)
        by_scope = {store.scope: store for store in target.stores}
        pairs = [(s, by_scope[s.scope]) for s in source.stores if s.scope in by_scope]
        missing = [(to, await missing_log_entries(from_, to)) for from_, to in pairs]
        logged = 0
        with Progress(sum(len(m) for _, m in missing), "Copying the write log") as bar:
            for to_store, entries in missing:
                logged += await append_log(to_store, entries, bar.advance)
        where = [s for s in (target.project_path, target.global_path) if s]
    if args.json:
        json.dump({"read": count, **totals, "log_entries": logged}, sys.stdout)
        sys.stdout.write("\n")
    else:
        beside = [
            f"{totals[name]} {label}"
            for name, label in (
                ("pairs", "queued pairs"),
                ("verdicts", "judge verdicts"),
                ("sessions", "sessions"),
            )
            if totals.get(name)
        ]
        print(
            f"Copied {totals.get('imported', 0)} of {count} memories to {' and '.join(where)}; "
            f"{totals.get('skipped', 0)} were already there; {logged} write-log entries"
            + "".join(f"; {part}" for part in beside)
        )
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``migrate`` to the ``memorymesh`` command line."""
    text = (
        "Copy every memory (history, review queue, vectors), the queue of uncertain pairs, the "
        "judge's cache, sessions and the write log from the local stores to a PostgreSQL "
        "database (--to), or from one into the local stores (--from)."
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
