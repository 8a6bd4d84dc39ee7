"""``memorymesh doctor`` and ``memorymesh backup``: check store files, repair a broken keyword
index, and copy them safely."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from .._errors import InvalidInputError
from .._paths import (
    IN_MEMORY,
    create_private_file,
    default_global_path,
    find_project_root,
    prepare_database_file,
    project_store_path,
)
from ..stores import holds_both_scopes
from ..stores.sqlite import StoreReport, backup, check_file, repair_keyword_index

__all__ = ["register"]


def _refuse_servers(*locations: str | None) -> None:
    # A server database is checked and backed up with the server's tools, not as a file.
    for location in locations:
        if location is not None and holds_both_scopes(location):
            raise InvalidInputError(
                f"{location.split(':', 1)[0]}:// stores live in a server database: doctor and "
                "backup work on SQLite files. Check it with `memorymesh stats` and back it up "
                "with pg_dump (see docs/teams.md)"
            )


def _store_files(args: argparse.Namespace) -> dict[str, Path]:
    """The store files the global options name, without opening (or creating) them."""
    files: dict[str, Path] = {}
    db = getattr(args, "db", None)
    _refuse_servers(db, getattr(args, "global_db", None))
    if db is not None:
        files["project"] = Path(db).expanduser()
    else:
        root = find_project_root()
        if root is not None:
            files["project"] = project_store_path(root)
    global_db = getattr(args, "global_db", None)
    files["global"] = Path(global_db).expanduser() if global_db else default_global_path()
    return {scope: path.resolve() for scope, path in files.items() if str(path) != IN_MEMORY}


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M%S")


async def _backup_all(
    files: dict[str, Path], folder: Path, reports: dict[str, StoreReport] | None = None
) -> dict[str, dict[str, Any]]:
    """Back every existing store up into ``folder``; damaged ones are copied byte for byte."""
    done: dict[str, dict[str, Any]] = {}
    stamp = _stamp()
    for scope, path in files.items():
        if not await anyio.Path(path).exists():
            continue
        target = folder / f"{scope}-{stamp}.db"
        n = 1
        while await anyio.Path(target).exists():  # two backups within one second
            n += 1
            target = folder / f"{scope}-{stamp}-{n}.db"
        report = None if reports is None else reports.get(scope)
        if report is not None and not report.healthy:
            # The online backup API reads through the damage and may stop; a raw copy of the
            # file and its WAL keeps everything there is for recovery tools.
            target = folder / f"{scope}-{stamp}-damaged.db"
            prepare_database_file(target)
            for suffix in ("", "-wal"):
                source = path.with_name(path.name + suffix)
                if await anyio.Path(source).exists():
                    copy = target.with_name(target.name + suffix)
                    create_private_file(copy)  # created by us, so 0600 before any byte lands
                    await anyio.to_thread.run_sync(shutil.copyfile, source, copy)
            done[scope] = {"path": str(target), "method": "raw copy (damaged file)"}
            continue
        size = await backup(path, target)
        done[scope] = {"path": str(target), "bytes": size, "method": "sqlite online backup"}
    return done


def _repairable(report: StoreReport) -> bool:
    """A MemoryMesh store whose pages are sound but whose keyword index fails its own check:
    what ``--repair`` can mend (rebuilding the index from the memories loses nothing)."""
    return (
        report.exists
        and not report.v4
        and report.integrity == ["ok"]
        and bool(report.migrations)
        and report.fts not in ("ok", "not checked")
    )


async def _repair(
    args: argparse.Namespace, files: dict[str, Path], reports: dict[str, StoreReport]
) -> int:
    """``doctor --repair``: for each store found repairable, a raw copy first (into
    ``--backup DIR``, else beside the store), then the repair, then both checks again."""
    repairs: dict[str, dict[str, Any]] = {}
    for scope, path in files.items():
        if not _repairable(reports[scope]):
            continue
        folder = Path(args.backup) if args.backup else path.parent
        saved = await _backup_all({scope: path}, folder, {scope: reports[scope]})
        done = await repair_keyword_index(path)
        after = await check_file(path)
        reports[scope] = after
        repairs[scope] = {
            "path": str(path),
            "backup": saved[scope]["path"],
            "levels_before": done.levels_before,
            "memories_before": done.memories_before,
            "memories_after": done.memories_after,
            "integrity": after.integrity,
            "keyword_index": after.fts,
            "healthy": after.healthy,
        }
    healthy = all(r.healthy or not r.exists for r in reports.values())
    left = {s: r.problems for s, r in reports.items() if r.exists and not r.healthy}
    if args.json:
        json.dump(
            {"healthy": healthy, "repairs": repairs, "not_repaired": left}, sys.stdout, indent=2
        )
        sys.stdout.write("\n")
        return 0 if healthy else 1
    for scope, r in reports.items():
        if not r.exists:
            print(f"{scope:>7}: {r.path} (does not exist yet)")
        elif scope in repairs:
            info = repairs[scope]
            levels = info["levels_before"]
            print(
                f"{scope:>7}: {r.path} — keyword index rebuilt"
                + (f" (its structure had {levels:,} levels)" if levels is not None else "")
            )
            print(f"         backup first: {info['backup']}")
            print(
                f"         memories {info['memories_before']:,} before, "
                f"{info['memories_after']:,} after; integrity {'; '.join(r.integrity) or '-'}, "
                f"keyword index {r.fts} — {'healthy' if r.healthy else 'STILL UNHEALTHY'}"
            )
            for problem in r.problems:
                print(f"         problem: {problem}")
        elif r.healthy:
            print(f"{scope:>7}: {r.path} — healthy, nothing to repair")
        else:
            print(f"{scope:>7}: {r.path} — UNHEALTHY, not repaired")
            for problem in r.problems:
                print(f"         problem: {problem}")
            print(
                "         --repair rebuilds only a broken keyword index in a sound file; save a "
                "copy with `memorymesh doctor --backup DIR`, then restore your latest backup"
            )
    return 0 if healthy else 1


async def cmd_doctor(args: argparse.Namespace) -> int:
    files = _store_files(args)
    reports = {scope: await check_file(path) for scope, path in files.items()}
    if getattr(args, "repair", False):
        return await _repair(args, files, reports)
    # An intact 4.x file is not damage, but no 5.x command can use it until it is migrated
    # (which keeps it, untouched, as the backup): reported apart from the 5.x stores' health.
    v4 = [r.path for r in reports.values() if r.v4]
    healthy = all(r.healthy or not r.exists or r.v4 for r in reports.values())
    folder: Path | None = Path(args.backup) if args.backup else None
    if folder is None and not healthy and not args.json and sys.stdin.isatty():
        answer = await anyio.to_thread.run_sync(
            input, "A store is unhealthy. Save copies before anything else? [folder/N] "
        )
        if answer.strip() and answer.strip().lower() not in {"n", "no"}:
            folder = Path(answer.strip())
    backups = await _backup_all(files, folder, reports) if folder is not None else {}
    if args.json:
        json.dump(
            {
                "healthy": healthy,
                "stores": {
                    scope: {
                        "path": r.path,
                        "exists": r.exists,
                        "size": r.size,
                        "integrity": r.integrity,
                        "keyword_index": r.fts,
                        "journal_mode": r.journal_mode,
                        "migrations": r.migrations,
                        "permissions": r.permissions,
                        "encrypted": r.encrypted,
                        "problems": r.problems,
                        "v4": r.v4,
                    }
                    for scope, r in reports.items()
                },
                "needs_migration": v4,
                "backups": backups,
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
        return 0 if healthy and not v4 else 1
    for scope, r in reports.items():
        if not r.exists:
            print(f"{scope:>7}: {r.path} (does not exist yet)")
            continue
        if r.v4:
            print(f"{scope:>7}: {r.path} — a MemoryMesh 4.x store (intact, not yet migrated)")
            for problem in r.problems:
                print(f"         note: {problem}")
            continue
        state = "healthy" if r.healthy else "UNHEALTHY"
        print(f"{scope:>7}: {r.path} — {state}")
        print(
            f"         {r.size / 1024:.0f} KiB, journal {r.journal_mode or '?'}, "
            f"permissions {r.permissions}, {'encrypted' if r.encrypted else 'not encrypted'}, "
            f"migrations {', '.join(r.migrations) or '-'}"
        )
        print(f"         integrity {'; '.join(r.integrity) or '-'}, keyword index {r.fts}")
        for problem in r.problems:
            print(f"         problem: {problem}")
    for scope, info in backups.items():
        print(f"backup of {scope}: {info['path']} ({info['method']})")
    if not healthy and not backups:
        print("Run `memorymesh doctor --backup DIR` to save copies before trying to repair.")
    if v4:
        print(
            "Run `memorymesh import-v4` to migrate: it renames each 4.x file to *.v4.db, "
            "untouched, as the backup, and imports every memory into a new 5.x store."
        )
        if sys.stdin.isatty():
            answer = await anyio.to_thread.run_sync(input, "Migrate now? [Y/n] ")
            if answer.strip().lower() in {"", "y", "yes"}:
                from ._upkeep import cmd_import_v4

                migrate = argparse.Namespace(
                    path=None, scope=None, db=args.db, global_db=args.global_db, json=False
                )
                await cmd_import_v4(migrate)
                print()
                args.backup = None  # the copies asked for are made already
                return await cmd_doctor(args)  # and check the new stores
    return 0 if healthy and not v4 else 1


async def cmd_backup(args: argparse.Namespace) -> int:
    files = _store_files(args)
    if args.scope:
        files = {scope: path for scope, path in files.items() if scope == args.scope}
    existing = {scope: path for scope, path in files.items() if path.exists()}
    if not existing:
        raise InvalidInputError("there is no store file to back up")
    folder = Path(args.path)
    if await anyio.Path(folder).is_file():
        raise InvalidInputError(f"{folder} is a file; give a folder for the backups")
    done = await _backup_all(existing, folder)
    if args.json:
        json.dump(done, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for scope, info in done.items():
            print(f"Backed up {scope} store to {info['path']} ({info['bytes'] / 1024:.0f} KiB)")
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``doctor`` and ``backup`` to the ``memorymesh`` command line."""
    text = "Check the store files' integrity (read-only) and optionally back them up."
    p = sub.add_parser("doctor", parents=[common], help=text, description=text)
    p.add_argument(
        "--backup", metavar="DIR", help="save a copy of each store in DIR (damaged ones raw)"
    )
    p.add_argument(
        "--repair",
        action="store_true",
        help="rebuild a broken keyword index from the memories, after a raw copy of the file "
        "(into --backup DIR, else beside it); then check again",
    )
    p.set_defaults(handler=cmd_doctor)

    text = "Copy the stores with SQLite's online backup API (safe while they are in use)."
    p = sub.add_parser("backup", parents=[common], help=text, description=text)
    p.add_argument("path", metavar="DIR", help="folder for the backup files (created 0700)")
    p.add_argument("--scope", choices=["project", "global"], help="back up only this store")
    p.set_defaults(handler=cmd_backup)
