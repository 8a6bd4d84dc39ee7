"""CLI commands for invisible memory: ``sync``, ``review``, ``judge``, ``hook``, ``import-v4``,
``compact``.

Registered through :data:`memorymesh.cli.EXTENSIONS`; each handler opens the mesh with
:func:`memorymesh.cli.open_mesh` like the core commands do.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import anyio.to_thread
from pydantic import ValidationError

from .._errors import InvalidInputError
from ..context._instructions import FORMATS, SyncWeights, synced_targets
from ._common import STATUS_HOOKS, count, open_mesh

__all__ = ["register"]


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _one_line(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _weight(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a weight must be a number: {value!r}") from None
    if not number >= 0.0 or number == float("inf"):
        raise argparse.ArgumentTypeError(f"a weight must be a finite number >= 0: {value!r}")
    return number


def _fraction(value: str) -> float:
    """A threshold from 0 to 1 (``--similarity``, ``--max-importance``)."""
    number = _weight(value)
    if number > 1.0:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {value!r}")
    return number


# -- sync -----------------------------------------------------------------------------------------


async def cmd_sync(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        if args.source is not None:
            report = await mesh.sync_from(args.source, format=args.format)
            if args.json:
                _emit_json(report.model_dump(mode="json"))
            else:
                print(
                    f"Read {report.entries} entries from {report.path}: "
                    f"{len(report.created)} new, {len(report.updated)} edited, "
                    f"{report.unchanged} unchanged"
                )
            return 0
        defaults = SyncWeights()
        weights = SyncWeights(
            importance=defaults.importance if args.w_importance is None else args.w_importance,
            recency=defaults.recency if args.w_recency is None else args.w_recency,
            frequency=defaults.frequency if args.w_frequency is None else args.w_frequency,
        )
        reports = await mesh.sync_to(
            args.target, format=args.format, limit=args.limit, weights=weights
        )
    if args.json:
        _emit_json([r.model_dump(mode="json") for r in reports])
    else:
        for r in reports:
            state = "updated" if r.changed else "already up to date"
            print(f"{r.path} ({r.format}): {r.entries} memories, {state}")
    return 0


# -- review ---------------------------------------------------------------------------------------


async def cmd_review(args: argparse.Namespace) -> int:
    if args.quality:
        return await _quality(args)
    async with open_mesh(args) as mesh:
        result: dict[str, Any] = {}
        if args.edit is not None:
            if not args.text:
                raise InvalidInputError("--edit ID needs --text 'the corrected text'")
            memory_id = await mesh.resolve_id(args.edit)
            if memory_id not in {m.id for m in await mesh.review_queue(limit=10_000)}:
                raise InvalidInputError(f"{args.edit} is not in the review queue")
            edited = await mesh.update(memory_id, text=" ".join(args.text))
            result["edited"] = [edited.id]
        accept = [await mesh.resolve_id(i) for i in args.accept or []]
        reject = [await mesh.resolve_id(i) for i in args.reject or []]
        if args.accept_all:
            accept += [m.id for m in await mesh.review_queue(limit=10_000)]
        for option, action in (("replace", "replace"), ("keep_both", "keep_both")):
            for given_new, given_old in getattr(args, option) or []:
                new_id, old_id = await mesh.resolve_id(given_new), await mesh.resolve_id(given_old)
                decided = await mesh.resolve_conflict(new_id, old_id, action=action)  # type: ignore[arg-type]
                result.setdefault("decided", []).append(decided.model_dump(mode="json"))
        if accept:
            result["accepted"] = [m.id for m in await mesh.accept(accept)]
        if reject:
            result["rejected"] = await mesh.reject(reject)
        queue = await mesh.review_queue(limit=args.limit)
        pairs = await mesh.conflict_pairs(limit=args.limit)
        if result.get("accepted") and not args.no_sync:
            # Accepted memories reach the instruction files already synced, with no extra step.
            result["synced"] = [
                r.path
                for path, fmt in await anyio.to_thread.run_sync(synced_targets)
                for r in await mesh.sync_to(path, format=fmt)
                if r.changed
            ]
    if args.json:
        result["queue"] = [m.model_dump(mode="json") for m in queue]
        result["conflicts"] = [p.model_dump(mode="json") for p in pairs]
        _emit_json(result)
        return 0
    for decided in result.get("decided", []):
        what = "replaced" if decided["action"] == "superseded" else "kept beside"
        print(f"The new memory {what} {decided['memory_id'][:8]}")
    if "edited" in result:
        print(f"Edited {result['edited'][0][:8]}")
    if "accepted" in result:
        print(f"Accepted {len(result['accepted'])}")
    if "rejected" in result:
        print(f"Rejected {result['rejected']}")
    for path in result.get("synced", []):
        print(f"Refreshed the MemoryMesh section of {path}")
    if not queue and not pairs:
        print("The review queue is empty.")
        return 0
    if queue:
        print(f"{len(queue)} memories waiting for review (accept with --accept ID):")
    for m in queue:
        print(f"{m.id[:8]}  {m.category.value:<15} {m.scope.value:<7} {_one_line(m.text, 60)}")
    if pairs:
        print(
            f"{len(pairs)} possible conflicts kept both (--replace NEW OLD makes the new one "
            "the replacement, --keep-both NEW OLD keeps both):"
        )
    for p in pairs:
        print(f"{p.new.id[:8]} {p.old.id[:8]}  {p.kind} ({p.reason})")
        print(f"      new: {_one_line(p.new.text, 62)}")
        print(f"      old: {_one_line(p.old.text, 62)}")
    return 0


# -- judge ----------------------------------------------------------------------------------------


async def cmd_judge(args: argparse.Namespace) -> int:
    options = {} if args.model is None else {"judge": args.model}
    async with open_mesh(args, **options) as mesh:
        if mesh.judge is None:
            waiting = len(await mesh.conflict_pairs(limit=10_000))
            raise InvalidInputError(
                "no judge is configured: set MEMORYMESH_JUDGE (e.g. ollama:llama3.2) or pass "
                f"--model; {waiting} possible conflicts wait in `memorymesh review`"
            )
        report = await mesh.judge_pending(limit=args.limit)
    if args.json:
        _emit_json(report.model_dump(mode="json"))
        return 0
    print(
        f"{report.judge}: {report.pairs} possible conflicts, {report.sent} sent, "
        f"{report.cached} from the cache; {report.applied} decided, "
        f"{report.unsure} left for `memorymesh review`"
    )
    for c in report.decisions:
        print(f"  {c.memory_id[:8]} {c.kind}: {c.action}")
    return 0


async def _quality(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        report = await mesh.quality_report()
        texts = {i.memory_id: (await mesh.get(i.memory_id)).text for i in report.issues[:40]}
    if args.json:
        _emit_json({**report.model_dump(mode="json"), "by_kind": report.by_kind})
        return 0
    print(f"Quality score {report.score:.1f}/100 over {report.examined} memories")
    if not report.issues:
        print("No issues found.")
        return 0
    print("Issues: " + ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind.items())))
    for issue in report.issues[:40]:
        score = report.scores.get(issue.memory_id, 100.0)
        print(f"\n[{score:>3.0f}] {issue.memory_id[:8]} {issue.kind}: {issue.detail}")
        print(f"      {_one_line(texts.get(issue.memory_id, ''), 70)}")
        print(f"      fix: {issue.suggestion}")
    if len(report.issues) > 40:
        print(f"\n... and {len(report.issues) - 40} more (--json for all)")
    return 0


# -- hooks ----------------------------------------------------------------------------------------


async def cmd_hook(args: argparse.Namespace) -> int:
    from ..context._hooks import install_claude_hooks, settings_path
    from ._capture import capture_async

    if args.event == "install":
        path = args.settings or settings_path(args.scope)
        merged, changed = install_claude_hooks(path, dry_run=args.dry_run)
        if args.json:
            _emit_json({"path": str(path), "changed": changed, "settings": merged})
        elif args.dry_run:
            print(f"Would {'update' if changed else 'leave'} {path}:")
            print(json.dumps({"hooks": merged["hooks"]}, indent=2))
        else:
            print(f"{'Installed the hooks in' if changed else 'Already installed in'} {path}")
        return 0
    import memorymesh_hook

    try:
        found = memorymesh_hook.gate(args.event, sys.stdin.read())
    except ValueError as exc:
        raise InvalidInputError(f"stdin is not a hook's JSON object: {exc}") from None
    queued = (
        []
        if found is None
        else await capture_async(args.event, *found, path=args.db, global_path=args.global_db)
    )
    # Claude Code reads a Stop hook's stdout as instructions: print only when asked.
    if args.json:
        _emit_json({"queued": queued})
    return 0


# -- import-v4 ------------------------------------------------------------------------------------


async def cmd_import_v4(args: argparse.Namespace) -> int:
    import anyio.to_thread

    sources, notes = await anyio.to_thread.run_sync(_v4_sources, args)
    async with open_mesh(args) as mesh:
        reports = [await mesh.import_v4(path, scope=scope) for path, scope in sources]
    if args.json:
        _emit_json([r.model_dump(mode="json") for r in reports])
        return 0
    for note in notes:
        print(note)
    for r in reports:
        print(
            f"{r.source} ({r.scope}): {r.read} memories read, {r.imported} imported, "
            f"{r.already_present} already present"
        )
    return 0


def _v4_sources(args: argparse.Namespace) -> tuple[list[tuple[Path, str | None]], list[str]]:
    from .._paths import default_global_path, find_project_root, project_store_path
    from ..io._import_v4 import is_v4_database, move_aside

    root = find_project_root()
    project_file = args.db or (project_store_path(root) if root is not None else None)
    global_file = args.global_db or default_global_path()
    sources: list[tuple[Path, str | None]] = []
    notes: list[str] = []
    # 4.x kept its stores where 5.x keeps its own: move a 4.x file found there aside first
    # (renamed, never changed), or pick up the copy an earlier run moved aside.
    for store_file, scope in ((project_file, "project"), (global_file, "global")):
        if store_file is None:
            continue
        where = Path(store_file)
        moved = move_aside(where)
        if moved is not None:
            notes.append(f"Moved the 4.x database {where} aside to {moved.name}")
        backup = where.with_name(f"{where.stem}.v4{where.suffix}")
        if args.path is None and is_v4_database(backup):
            sources.append((backup, scope))
        elif moved is not None and args.path is not None and Path(args.path) == where:
            sources.append((moved, scope))
    if args.path is not None and not sources:
        given = Path(args.path)
        if given.is_dir():
            given = project_store_path(given)
        sources.append((given, args.scope))
    if not sources:
        raise InvalidInputError(
            "no MemoryMesh 4.x database found at the default places; give its path"
        )
    return sources, notes


# -- compact --------------------------------------------------------------------------------------


async def cmd_compact(args: argparse.Namespace) -> int:
    from ..context._compact import CompactPolicy

    if args.archived or args.restore:
        return await _archive(args)

    defaults = CompactPolicy()
    try:
        policy = CompactPolicy(
            similarity=args.similarity if args.similarity is not None else defaults.similarity,
            stale_days=args.stale_days if args.stale_days is not None else defaults.stale_days,
            max_importance=(
                args.max_importance if args.max_importance is not None else defaults.max_importance
            ),
        )
    except ValidationError as exc:  # a limit the policy itself sets, beyond argparse's checks
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"compact: {problems}") from None
    async with open_mesh(args) as mesh:
        report = await mesh.compact(dry_run=args.dry_run, policy=policy)
        shown = [i for g in report.merges[:20] for i in (g.kept, *g.merged)]
        shown += report.archived[:20]
        texts = {} if args.json else {i: (await mesh.get(i)).text for i in shown}
    if args.json:
        _emit_json(report.model_dump(mode="json"))
        return 0
    verb = "Would merge" if report.dry_run else "Merged"
    print(
        f"Examined {report.examined} memories in {report.seconds:.2f} s. {verb} "
        f"{report.merged_count} near-duplicates into {len(report.merges)} memories; "
        f"{'would archive' if report.dry_run else 'archived'} {len(report.archived)}."
    )
    for group in report.merges[:20]:
        print(f"  keep  {group.kept[:8]}  {_one_line(texts.get(group.kept, ''), 60)}")
        for memory_id in group.merged:
            print(f"  merge {memory_id[:8]}  {_one_line(texts.get(memory_id, ''), 60)}")
    for memory_id in report.archived[:20]:
        print(f"  archive {memory_id[:8]}  {_one_line(texts.get(memory_id, ''), 58)}")
    if report.dry_run:
        print("Nothing was changed (dry run).")
    return 0


async def _archive(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        restored = (
            []
            if not args.restore
            else await mesh.restore_compacted([await mesh.resolve_id(i) for i in args.restore])
        )
        archived = await mesh.archived(limit=1000) if args.archived else []
    if args.json:
        _emit_json(
            {
                "restored": [m.id for m in restored],
                "archived": [m.model_dump(mode="json") for m in archived],
            }
        )
        return 0
    for m in restored:
        print(f"Restored {m.id[:8]}  {_one_line(m.text, 60)}")
    if args.archived:
        print(f"{len(archived)} archived memories" + (":" if archived else "."))
        for m in archived:
            print(f"{m.id[:8]}  {m.category.value:<15} {_one_line(m.text, 60)}")
    return 0


# -- registration ---------------------------------------------------------------------------------


def _status() -> dict[str, Any]:
    """``memorymesh status`` lines: is auto-remember on, and where are the hooks installed."""
    from memorymesh_hook import auto_remember_enabled

    from ..context._hooks import HOOK_COMMANDS, _is_ours, settings_path

    installed: list[str] = []
    for scope in ("user", "project"):
        path = settings_path(scope)
        try:
            hooks = json.loads(path.read_text(encoding="utf-8")).get("hooks", {})
            groups = hooks.get("Stop", []) if isinstance(hooks, dict) else []
            if any(
                _is_ours(h, HOOK_COMMANDS["Stop"][1])
                for g in groups
                if isinstance(g, dict)
                for h in g.get("hooks", [])
            ):
                installed.append(str(path))
        except (OSError, ValueError, AttributeError):
            continue
    return {
        "auto_remember": "on" if auto_remember_enabled() else "off (MEMORYMESH_AUTO_REMEMBER)",
        "claude_code_hooks": ", ".join(installed) or "not installed (memorymesh hook install)",
    }


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the invisible-memory commands to the ``memorymesh`` parser."""
    if _status not in STATUS_HOOKS:
        STATUS_HOOKS.append(_status)

    def command(name: str, handler: Any, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, parents=[common], help=help_text, description=help_text
        )
        p.set_defaults(handler=handler)
        return p

    p = command(
        "sync",
        cmd_sync,
        "Write top memories into CLAUDE.md/AGENTS.md/GEMINI.md/Cursor rules, or read edits back.",
    )
    direction = p.add_mutually_exclusive_group(required=True)
    direction.add_argument(
        "--to", dest="target", metavar="FILE|auto", help="file to write, or auto (files present)"
    )
    direction.add_argument("--from", dest="source", metavar="FILE", help="file to import from")
    p.add_argument("--format", choices=FORMATS, help="default: from the file name")
    p.add_argument(
        "--limit", type=count(1, 1000), default=30, help="how many memories (default 30)"
    )
    p.add_argument("--weight-importance", dest="w_importance", type=_weight, metavar="W")
    p.add_argument("--weight-recency", dest="w_recency", type=_weight, metavar="W")
    p.add_argument("--weight-frequency", dest="w_frequency", type=_weight, metavar="W")

    p = command("review", cmd_review, "List, accept, edit or reject auto-captured memories.")
    p.add_argument("--accept", nargs="+", metavar="ID", help="accept these queued memories")
    p.add_argument("--accept-all", action="store_true", help="accept the whole queue")
    p.add_argument("--reject", nargs="+", metavar="ID", help="reject these queued memories")
    p.add_argument("--edit", metavar="ID", help="correct a queued memory's text (with --text)")
    p.add_argument("--text", nargs="+", help="the corrected text for --edit")
    p.add_argument(
        "--limit", type=count(1, 10_000), default=50, help="how many to list (default 50)"
    )
    p.add_argument(
        "--quality", action="store_true", help="score every memory and suggest fixes instead"
    )
    p.add_argument(
        "--no-sync",
        action="store_true",
        help="do not refresh instruction files already synced after accepting",
    )

    p.add_argument(
        "--replace",
        nargs=2,
        action="append",
        metavar=("NEW", "OLD"),
        help="accept a possible conflict: NEW replaces OLD (undo with restore OLD)",
    )
    p.add_argument(
        "--keep-both",
        nargs=2,
        action="append",
        metavar=("NEW", "OLD"),
        help="settle a possible conflict by keeping both memories",
    )

    p = command(
        "judge",
        cmd_judge,
        "Ask the configured judge model about the possible conflicts waiting for review.",
    )
    p.add_argument(
        "--model", metavar="PROVIDER:MODEL", help="the judge, instead of $MEMORYMESH_JUDGE"
    )
    p.add_argument(
        "--limit", type=count(1, 10_000), default=200, help="pairs per store (default 200)"
    )

    p = command("import-v4", cmd_import_v4, "Import memories from a MemoryMesh 4.x database.")
    p.add_argument("path", nargs="?", help="a 4.x database file or project folder")
    p.add_argument("--scope", choices=["project", "global"], help="default: by file name")

    p = command("compact", cmd_compact, "Merge near-duplicates and archive stale memories.")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--similarity", type=_fraction, metavar="0..1", help="merge threshold (0.8)")
    p.add_argument("--stale-days", type=_weight, metavar="DAYS", help="archive after (180)")
    p.add_argument("--max-importance", type=_fraction, metavar="0..1", help="archive below (0.3)")
    p.add_argument("--archived", action="store_true", help="list archived memories instead")
    p.add_argument("--restore", nargs="+", metavar="ID", help="restore merged/archived memories")

    p = command(
        "hook",
        cmd_hook,
        "Claude Code hooks: capture memories from an event on stdin, or install the hooks.",
    )
    p.add_argument("event", choices=["post-tool-use", "stop", "install"])
    p.add_argument("--scope", choices=["user", "project"], default="user", help="for install")
    p.add_argument("--settings", metavar="PATH", help="install into this settings.json")
    p.add_argument("--dry-run", action="store_true", help="install: show, do not write")
