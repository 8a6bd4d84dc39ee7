"""The ``memorymesh`` command line: the same memory, for people.

Every command that prints data takes ``--json``. Global options (``--db``, ``--global-db``,
``--json``) may come before or after the command name. Commands from other parts of MemoryMesh
(the MCP server, client set-up, sync, hooks, ...) register themselves in :data:`EXTENSIONS`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import sys
import textwrap
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

# Only what parsing needs is imported here: `memorymesh --version` and a usage error must not
# pay for anyio, pydantic or numpy. Each command imports what it uses when it runs.
from .._version import __version__
from .._vocab import MAX_RECALL_K, Category
from ._common import STATUS_HOOKS, count, open_mesh
from ._common import resolve_id as _resolve
from ._progress import Progress
from ._terminal import neutralised_stdout

if TYPE_CHECKING:
    from .._mesh import AsyncMemoryMesh
    from .._models import Memory, MemoryStats, RecallResult, RecallResults
    from ..stores.sqlite._oneshot import MemoryRecord

__all__ = ["EXTENSIONS", "STATUS_HOOKS", "build_parser", "main", "open_mesh"]

Handler = Callable[[argparse.Namespace], Awaitable[int]]

#: Modules that add subcommands: each has ``register(subparsers, common) -> None``. Imported
#: only when the parser is built, and skipped when their optional extra is not installed.
EXTENSIONS: list[str] = [
    "memorymesh.cli._session",  # session-start, session-history
    "memorymesh_mcp._cli",  # mcp, setup (the MCP server and AI-client set-up)
    "memorymesh.cli._upkeep",  # sync, review, judge, hook, import-v4, compact
    "memorymesh.cli._files",  # doctor, backup
    "memorymesh.cli._history",  # reembed, config, history, restore
    "memorymesh.cli._migrate",  # migrate (to and from a server database)
    "memorymesh.cli._ui",  # ui (the web dashboard)
]

_ORDERS = ["newest", "oldest", "importance", "updated", "accessed"]
_CATEGORIES = [c.value for c in Category]


# -- shared helpers -------------------------------------------------------------------------------


def _emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _memory_json(memory: Memory) -> dict[str, Any]:
    return memory.model_dump(mode="json")


def _short(memory_id: str) -> str:
    return memory_id[:8]


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone().strftime("%Y-%m-%d %H:%M")


def _one_line(text: str, width: int = 72) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _print_memories(memories: Sequence[Memory] | Sequence[MemoryRecord]) -> None:
    if not memories:
        print("(no memories)")
        return
    for m in memories:
        pin = "*" if m.pinned else " "
        print(
            f"{_short(m.id)} {pin} {m.category.value:<15} {m.scope.value:<7} "
            f"{m.importance:.2f}  {_one_line(m.text, 60)}"
        )


def _print_memory(m: Memory) -> None:
    rows = [
        ("id", m.id),
        ("category", m.category.value),
        ("scope", m.scope.value),
        ("importance", f"{m.importance:.2f}"),
        ("pinned", "yes" if m.pinned else "no"),
        ("created", _when(m.created_at)),
        ("updated", _when(m.updated_at)),
        ("event time", _when(m.event_time)),
        ("expires", _when(m.expires_at)),
        ("accessed", f"{m.access_count} times, last {_when(m.last_accessed_at)}"),
        ("session", m.session_id or "-"),
        ("source", m.source),
        ("agent", m.agent or "-"),
        ("superseded by", m.superseded_by or "-"),
        ("metadata", json.dumps(m.metadata, ensure_ascii=False) if m.metadata else "-"),
    ]
    if m.redactions:
        rows.append(("redacted", ", ".join(m.redactions)))
    for label, value in rows:
        print(f"{label:>14}: {value}")
    print()
    print(textwrap.indent(textwrap.fill(m.text, 88), "  "))


def _print_results(results: Sequence[RecallResult]) -> None:
    if not results:
        print("(nothing recalled)")
        return
    for rank, r in enumerate(results, 1):
        m = r.memory
        print(f"{rank:>2}. [{r.score:.3f}] {_one_line(m.text, 70)}")
        print(
            f"    {_short(m.id)} · {m.category.value} · {m.scope.value} · "
            f"importance {m.importance:.2f} · {_when(m.created_at)}"
        )


async def _read_text(name: str) -> str:
    """The UTF-8 text of file ``name`` (``-``: standard input), or one clear error."""
    import anyio

    from .._errors import InvalidInputError

    shown = "standard input" if name == "-" else name
    try:
        if name == "-":
            return sys.stdin.read()
        return await anyio.Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"cannot read {shown}: not UTF-8 text (byte {exc.start} is {exc.object[exc.start]:#x})"
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {shown}: {exc.strerror or exc}") from None


def _parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.astimezone()


def _parse_metadata(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"metadata is not valid JSON: {exc}") from None
    except RecursionError:
        raise argparse.ArgumentTypeError("metadata nests too deeply") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError("metadata must be a JSON object")
    return data


def _importance(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"importance must be a number: {value!r}") from None


# -- commands -------------------------------------------------------------------------------------


async def cmd_remember(args: argparse.Namespace) -> int:
    from .._errors import InvalidInputError

    if args.file is None and not args.text:
        raise InvalidInputError("give the text to remember, or --file FILE ('-' reads stdin)")
    async with open_mesh(args) as mesh:
        if args.file is not None:
            return await _remember_file(mesh, args)
        memory = await mesh.remember(
            " ".join(args.text),
            category=args.category,
            importance=args.importance,
            scope=args.scope,
            metadata=args.metadata,
            pin=args.pin,
            session_id=args.session,
            on_conflict=args.on_conflict,
        )
        notes = await _write_notes(mesh, memory)
    if args.json:
        _emit_json(_memory_json(memory))
    elif memory.conflicts and memory.conflicts[0].action == "deduplicated":
        print(f"Already remembered as {_short(memory.id)}: nothing new stored")
    elif memory.conflicts and memory.conflicts[0].action == "skipped":
        print(f"Not stored (--on-conflict skip): {_short(memory.id)} stays current")
    else:
        print(
            f"Remembered {_short(memory.id)} ({memory.category.value}, {memory.scope.value}, "
            f"importance {memory.importance:.2f})"
        )
    _print_notes(notes)
    return 0


async def _write_notes(mesh: AsyncMemoryMesh, memory: Memory) -> list[str]:
    """One line for each thing a write did besides storing the text as given: a memory it
    superseded or merged, a duplicate it collapsed into, a contradiction it kept or skipped,
    a secret it redacted. Without them the CLI would hide that an older fact is now history.
    """
    from .._errors import MemoryNotFoundError

    notes: list[str] = []
    for c in memory.conflicts:
        why = f" ({c.reason})" if c.reason else ""
        other = _short(c.memory_id)
        if c.action == "superseded":
            try:
                old = _one_line((await mesh.get(c.memory_id)).text, 50)
            except MemoryNotFoundError:
                old = ""
            notes.append(
                f"superseded {other} {old!r}{why}; `memorymesh restore {other}` brings it back"
                if old
                else f"superseded {other}{why}"
            )
        elif c.action == "deduplicated":
            notes.append(f"duplicate of {other}{why}: stored once")
        elif c.action == "merged":
            notes.append(f"merged into {other}{why}")
        elif c.action == "skipped":
            notes.append(f"skipped: {c.kind.replace('_', ' ')} of {other}{why}")
        else:
            notes.append(f"kept both: {c.kind.replace('_', ' ')} of {other}{why}")
    for kind in memory.redactions:
        notes.append(f"redacted a secret ({kind}) before storing: it never reached the disk")
    return notes


def _print_notes(notes: Sequence[str]) -> None:
    # On stderr: stdout stays the command's result (one line, or --json), safe in a pipe.
    sys.stdout.flush()
    for note in notes:
        print(f"memorymesh: {note}", file=sys.stderr)


async def _remember_file(mesh: AsyncMemoryMesh, args: argparse.Namespace) -> int:
    content = await _read_text(args.file)
    # privacy guard, on the whole file before it is cut into lines: a multi-line secret (a PEM
    # private key's body) is one secret, and its lines on their own look like nothing.
    from ..writes._privacy import PrivacyGuard

    content, file_kinds = PrivacyGuard(mesh.privacy).check_text(content, where=str(args.file))
    numbered = [(n, line.strip()) for n, line in enumerate(content.splitlines(), 1)]
    numbered = [(n, line) for n, line in numbered if line]
    lines = [line for _, line in numbered]
    common = {
        "category": args.category,
        "importance": args.importance,
        "scope": args.scope,
        "metadata": args.metadata,
        "pin": args.pin,
        "session_id": args.session,
        "on_conflict": args.on_conflict,
    }
    stored: list[Memory] = []
    batch = 1000
    with Progress(len(lines), "Remembering") as bar:
        for start in range(0, len(lines), batch):
            chunk = [{"text": t, **common} for t in lines[start : start + batch]]
            stored.extend(await mesh.remember_many(chunk))
            bar.advance(len(chunk))
    notes = [
        f"redacted a secret ({kind}) from {args.file} before storing: it never reached the disk"
        for kind in file_kinds
    ]
    notes += [
        f"line {n}: {note}"
        for (n, _), memory in zip(numbered, stored, strict=True)
        for note in await _write_notes(mesh, memory)
    ]
    if args.json:
        _emit_json([_memory_json(m) for m in stored])
    else:
        print(f"Remembered {len(stored)} memories from {args.file}")
    _print_notes(notes)
    return 0


async def cmd_recall(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        results = await mesh.recall(
            " ".join(args.query),
            k=args.k,
            category=args.category,
            scope=args.scope,
            min_importance=args.min_importance,
            since=args.since,
            until=args.until,
            session_id=args.session,
            time_field=args.time_field,
            as_of=args.as_of,
            current_only=not args.all,
            explain=args.explain,
        )
    if args.json:
        data: Any = [r.model_dump(mode="json") for r in results]
        if results.explanation is not None:
            data = {"results": data, "explanation": results.explanation.model_dump(mode="json")}
        _emit_json(data)
    else:
        _print_results(results)
        if results.explanation is not None:
            _print_explanation(results)
    return 0


def _print_explanation(results: RecallResults) -> None:
    explanation = results.explanation
    assert explanation is not None
    w = explanation.weights
    print()
    print(f"terms: {', '.join(explanation.query_terms) or '-'}")
    filters = ", ".join(f"{k}={v}" for k, v in explanation.filters.items())
    print(f"filters: {filters or '-'}")
    print(f"candidates: {explanation.candidates} matched, {explanation.returned} returned")
    if explanation.reason:
        print(f"why nothing: {explanation.reason}")
        return
    print()
    print(
        f"{'#':>2}  {'score':>6}  {'relevance':>9}  {'recency':>7}  {'importance':>10}  "
        f"{'frequency':>9}  id"
    )
    print(
        f"{'':>2}  {'weight':>6}  {w.relevance:>9.2f}  {w.recency:>7.2f}  "
        f"{w.importance:>10.2f}  {w.frequency:>9.2f}"
    )
    for rank, r in enumerate(results, 1):
        b = r.breakdown
        print(
            f"{rank:>2}  {r.score:>6.3f}  {b.relevance:>9.3f}  {b.recency:>7.3f}  "
            f"{b.importance:>10.3f}  {b.frequency:>9.3f}  {_short(r.memory.id)}"
        )


async def cmd_list(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        memories = await mesh.list(
            scope=args.scope,
            category=args.category,
            limit=args.limit,
            offset=args.offset,
            order=args.order,
            pinned=True if args.pinned else None,
        )
    _show_list(args, memories)
    return 0


def _show_list(
    args: argparse.Namespace, memories: Sequence[Memory] | Sequence[MemoryRecord]
) -> None:
    if args.json:
        _emit_json([_memory_json(m) for m in memories])  # type: ignore[arg-type]
    else:
        _print_memories(memories)


async def cmd_show(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        memory = await mesh.get(await _resolve(mesh, args.id))
    if args.json:
        _emit_json(_memory_json(memory))
    else:
        _print_memory(memory)
    return 0


async def cmd_forget(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        # Resolve every id before deleting any: one bad id must not leave half the list gone.
        ids = list(dict.fromkeys([await _resolve(mesh, given) for given in args.ids]))
        forgotten = [await mesh.get(memory_id) for memory_id in ids]
        await mesh.forget_many(ids)
    if args.json:
        _emit_json({"forgotten": [m.id for m in forgotten]})
    else:
        for memory in forgotten:
            print(f"Forgot {_short(memory.id)}: {_one_line(memory.text, 60)}")
    return 0


async def cmd_pin(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        memory_id = await _resolve(mesh, args.id)
        memory = await (mesh.unpin(memory_id) if args.command == "unpin" else mesh.pin(memory_id))
    if args.json:
        _emit_json(_memory_json(memory))
    else:
        print(f"{'Pinned' if memory.pinned else 'Unpinned'} {_short(memory.id)}")
    return 0


async def cmd_update(args: argparse.Namespace) -> int:
    from .._errors import InvalidInputError

    if all(getattr(args, name) is None for name in ("text", "importance", "category", "metadata")):
        raise InvalidInputError(
            "nothing to update: give --text, --importance, --category or --metadata"
        )
    async with open_mesh(args) as mesh:
        memory = await mesh.update(
            await _resolve(mesh, args.id),
            text=" ".join(args.text) if args.text else None,
            importance=args.importance,
            category=args.category,
            metadata=args.metadata,
        )
    if args.json:
        _emit_json(_memory_json(memory))
    else:
        print(f"Updated {_short(memory.id)}")
    return 0


async def cmd_log(args: argparse.Namespace) -> int:
    from .._errors import MemoryNotFoundError

    async with open_mesh(args) as mesh:
        memory_id, known = args.id, True
        if memory_id:
            # A forgotten memory has no row left, but its log entries stay: take the full id.
            try:
                memory_id = await _resolve(mesh, memory_id)
            except MemoryNotFoundError:
                known = False
        entries = await mesh.log(limit=args.limit, memory_id=memory_id)
    if not known and not entries:
        raise MemoryNotFoundError(args.id)
    if args.json:
        _emit_json([e.model_dump(mode="json") for e in entries])
        return 0
    if not entries:
        print("(no writes logged)")
    for e in entries:
        detail = ", ".join(f"{k}={v}" for k, v in e.detail.items())
        about = _short(e.memory_id) if e.memory_id else "-"
        print(
            f"{_when(e.at)}  {e.action:<13} {about:<8} {e.scope.value:<7} "
            f"{e.source or '-':<8} {detail}"
        )
    return 0


async def cmd_export(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        target = args.output if args.output and args.output != "-" else sys.stdout
        count = await mesh.export(
            target,
            scope=args.scope,
            format=args.format,
            include_embeddings=args.include_embeddings,
            overwrite=args.force,
            include_log=args.include_log,
        )
    if target is not sys.stdout:
        print(f"Exported {count} memories to {args.output}", file=sys.stderr)
    return 0


async def cmd_import(args: argparse.Namespace) -> int:
    # Read first, so a missing, unreadable or binary file is one clear line.
    text = await _read_text(args.file)
    async with open_mesh(args, source="import") as mesh:
        report = await mesh.import_(io.StringIO(text), on_clash=args.on_clash)
    if args.json:
        _emit_json(report.model_dump(mode="json"))
    else:
        print(
            f"Imported {report.imported}, replaced {report.replaced}, "
            f"skipped {report.skipped} (already there)"
        )
        if report.links_dropped:
            print(
                f"{report.links_dropped} history links pointed at memories not in the file "
                "or the store and were dropped"
            )
        if report.rescoped:
            print(f"{report.rescoped} project memories went to the global store (no project)")
    return 0


async def cmd_stats(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        stats = await mesh.stats()
    _show_stats(args, stats)
    return 0


def _show_stats(args: argparse.Namespace, stats: MemoryStats) -> None:
    if args.json:
        _emit_json(stats.model_dump(mode="json"))
        return
    print(f"Total memories: {stats.total}")
    print("By scope:     " + ", ".join(f"{k} {v}" for k, v in stats.by_scope.items()))
    print("By category:  " + (", ".join(f"{k} {v}" for k, v in stats.by_category.items()) or "-"))
    print(f"Pinned {stats.pinned} · superseded {stats.superseded} · expired {stats.expired}")


def _plain(args: argparse.Namespace) -> int | None:
    """``list`` and ``stats`` read straight from the store files when opening the mesh would
    change nothing (see ``_oneshot``): a fraction of the imports. None: open the mesh."""
    from ._oneshot import plain_list, plain_stats

    if args.command == "list":
        memories = plain_list(args)
        if memories is None:
            return None
        _show_list(args, memories)
        return 0
    fields = plain_stats(args)
    if fields is None:
        return None
    if args.json:
        from .._models import MemoryStats

        _show_stats(args, MemoryStats(**fields))
    else:
        _show_stats(args, argparse.Namespace(**fields))  # type: ignore[arg-type]
    return 0


#: Commands :func:`_plain` can answer without opening the mesh.
_PLAIN_COMMANDS = frozenset({"list", "stats"})


async def cmd_status(args: argparse.Namespace) -> int:
    async with open_mesh(args) as mesh:
        stats = await mesh.stats()
        health = await mesh.health()
    report: dict[str, Any] = {
        "version": __version__,
        "project_store": stats.project_path,
        "global_store": stats.global_path,
        "embedder": stats.embedder,
        "total": stats.total,
        "by_scope": stats.by_scope,
        "healthy": all(result == ["ok"] for result in health.values()),
        "health": health,
    }
    for hook in STATUS_HOOKS:
        report.update(hook())
    if args.json:
        _emit_json(report)
        return 0 if report["healthy"] else 1
    print(f"MemoryMesh {__version__}")
    print(f"  project store: {stats.project_path or '(no project detected: using global)'}")
    print(f"  global store:  {stats.global_path}")
    print(f"  embedder:      {stats.embedder}")
    print(
        f"  memories:      {stats.total} "
        f"({', '.join(f'{k} {v}' for k, v in stats.by_scope.items())})"
    )
    for path, result in health.items():
        print(f"  health:        {'ok' if result == ['ok'] else '; '.join(result)} ({path})")
    for key, value in report.items():
        if key not in _STATUS_CORE:
            _print_status_item(key, value)
    return 0 if report["healthy"] else 1


_STATUS_CORE = frozenset(
    {
        "version",
        "project_store",
        "global_store",
        "embedder",
        "total",
        "by_scope",
        "healthy",
        "health",
    }
)


def _print_status_item(key: str, value: Any) -> None:
    """A hook's entry as people read it: ``mcp_clients`` → ``MCP clients:``, one line per item
    of a mapping or list, not a Python ``repr``."""
    label = key.replace("_", " ").replace("mcp", "MCP") + ":"
    if isinstance(value, dict):
        print(f"  {label}")
        width = max((len(str(k)) for k in value), default=0) + 1
        for name, item in value.items():
            print(f"    {str(name) + ':':<{width}} {_status_value(item)}")
    else:
        print(f"  {label:<14} {_status_value(value)}")


def _status_value(value: Any) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


_DEMO_MEMORIES = [
    ("User prefers dark mode in every editor and terminal", None),
    ("Never commit .env files or API keys to the repository", None),
    ("We decided to use PostgreSQL 16 for the billing service", None),
    ("The flaky CI failure was caused by a race in the cache warm-up; fixed with a lock", None),
    ("Tests live in tests/ and run with `make test`", None),
    ("User is a senior backend engineer who likes concise answers", None),
]
_DEMO_QUERIES = [
    "what editor theme does the user prefer?",
    "what database do we use for billing?",
    "what should I never commit?",
    "why did CI fail?",
]


async def cmd_demo(args: argparse.Namespace) -> int:
    """remember → recall on a fresh local SQLite file, narrated for a first-time user."""
    import tempfile

    from .._mesh import AsyncMemoryMesh

    # With --json the narration is replaced by one JSON object of what was stored and found.
    say = (lambda *_: None) if args.json else print
    with tempfile.TemporaryDirectory(prefix="memorymesh-demo-") as scratch:
        folder = Path(args.path) if args.path else Path(scratch)
        project_db = folder / "project" / ".memorymesh" / "memories.db"
        global_db = folder / "home" / "global.db"
        say(f"MemoryMesh {__version__} demo — a fresh local store in {folder}\n")
        recalls: list[dict[str, Any]] = []
        async with AsyncMemoryMesh(project_db, global_path=global_db, source="demo") as mesh:
            say("1. remember: category, importance and scope are inferred when not given")
            stored = await mesh.remember_many(text for text, _ in _DEMO_MEMORIES)
            for memory in stored:
                say(
                    f"   + {memory.category.value:<11} {memory.scope.value:<7} "
                    f"{memory.importance:.2f}  {memory.text}"
                )
            say("\n2. recall: keyword search (SQLite FTS5) blended with recency and importance")
            for query in _DEMO_QUERIES:
                hits = await mesh.recall(query, k=1)
                answer = hits[0].memory.text if hits else "(nothing)"
                score = f"{hits[0].score:.2f}" if hits else "-"
                say(f"   ? {query}\n     → {answer}  [score {score}]")
                recalls.append(
                    {
                        "query": query,
                        "results": [r.model_dump(mode="json") for r in hits],
                    }
                )
            stats = await mesh.stats()
        size = sum(p.stat().st_size for p in (project_db, global_db) if p.exists())
        if args.json:
            _emit_json(
                {
                    "version": __version__,
                    "remembered": [_memory_json(m) for m in stored],
                    "recalled": recalls,
                    "total": stats.total,
                    "stores": {"project": str(project_db), "global": str(global_db)},
                    "bytes": size,
                    "kept": bool(args.path),
                }
            )
            return 0
        print(
            f"\n3. it persists: {stats.total} memories in two SQLite files ({size / 1024:.0f} KiB):"
        )
        print(f"   project: {project_db}\n   global:  {global_db}")
        if not args.path:
            print("\n(The demo store is deleted now; pass --path DIR to keep it.)")
    return 0


# -- parser ---------------------------------------------------------------------------------------

# argparse's wording for an unknown choice, with or without quotes (it changed in 3.14).
_INVALID_CHOICE = re.compile(
    r"invalid choice: (['\"]?)(?P<given>.*?)\1 \(choose from (?P<choices>.*)\)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, with a "did you mean" for a mistyped command or choice instead of the list of
    every choice on one line (subcommand parsers are built with this class too)."""

    def error(self, message: str) -> NoReturn:
        found = _INVALID_CHOICE.search(message)
        if found is not None:
            import difflib

            # 'a', 'b' up to 3.13; a, b from 3.14 on.
            choices = [c.strip("'\"") for c in found["choices"].split(", ")]
            close = difflib.get_close_matches(found["given"], choices, n=3, cutoff=0.6)
            hint = (
                f"did you mean {' or '.join(repr(c) for c in close)}?"
                if close
                else f"choose from {', '.join(choices)}"
            )
            if self.prog == "memorymesh" and not close:
                hint = "see `memorymesh --help` for the commands"
            message = f"{message[: found.start()]}invalid choice: {found['given']!r} ({hint})"
        super().error(message)


def _common() -> _Parser:
    common = _Parser(add_help=False)
    group = common.add_argument_group("stores")
    group.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="project store file or server URL (default: $MEMORYMESH_DB, else "
        "<project>/.memorymesh/memories.db)",
    )
    group.add_argument(
        "--global-db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="global store file (default: ~/.memorymesh/global.db)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print machine-readable JSON"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The whole parser: the core commands and every extension's."""
    parser, sub, common = _core_parser()
    _add_extensions(sub, common)
    return parser


def _core_parser() -> tuple[argparse.ArgumentParser, Any, argparse.ArgumentParser]:
    """The parser with the core commands only (its subparsers action and the shared options
    come with it, for the extensions to add theirs)."""
    common = _common()
    parser = _Parser(
        prog="memorymesh",
        description="Persistent, local, private memory for AI agents and the tools you use.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"memorymesh {__version__}")
    # Not `required`: a bare `memorymesh` prints the next steps (see main), not only usage.
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        p.set_defaults(handler=handler)
        return p

    def write_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--category", choices=_CATEGORIES)
        p.add_argument("--importance", type=_importance, metavar="0..1")
        p.add_argument("--metadata", type=_parse_metadata, metavar="JSON")

    p = command("remember", cmd_remember, "Store a memory (or one per line of --file).")
    p.add_argument("text", nargs="*", help="what to remember")
    write_options(p)
    p.add_argument("--scope", choices=["project", "global"])
    p.add_argument("--pin", action="store_true", help="pin it: top importance, never expires")
    p.add_argument("--session", metavar="ID", help="session id to record")
    p.add_argument(
        "--on-conflict",
        choices=["supersede", "keep_both", "skip", "merge"],
        help="when it duplicates or contradicts a memory (default: supersede, keeping history)",
    )
    p.add_argument(
        "--file", metavar="FILE", help="remember each non-empty line of FILE ('-' for stdin)"
    )

    p = command("recall", cmd_recall, "Find the memories that best answer a query.")
    p.add_argument("query", nargs="+")
    p.add_argument(
        "-k", type=count(1, MAX_RECALL_K), default=5, help="how many results (default 5)"
    )
    p.add_argument("--category", choices=_CATEGORIES, action="append")
    p.add_argument("--scope", choices=["project", "global"])
    p.add_argument("--min-importance", type=_importance, metavar="0..1")
    p.add_argument("--since", type=_parse_time, metavar="ISO", help="recorded at or after")
    p.add_argument("--until", type=_parse_time, metavar="ISO", help="recorded before")
    p.add_argument("--session", metavar="ID")
    p.add_argument(
        "--time-field",
        choices=["created", "event"],
        default="created",
        help="what --since/--until compare: when recorded (default) or happened",
    )
    p.add_argument(
        "--as-of",
        type=_parse_time,
        metavar="ISO",
        help="answer as of this moment: what was true then",
    )
    p.add_argument("--all", action="store_true", help="include superseded and expired memories")
    p.add_argument(
        "--explain",
        action="store_true",
        help="show the score breakdown, filters, and why nothing matched",
    )

    p = command("list", cmd_list, "List memories, newest first.")
    p.add_argument("--scope", choices=["project", "global"])
    p.add_argument("--category", choices=_CATEGORIES, action="append")
    p.add_argument("--limit", type=count(1), default=50)
    p.add_argument("--offset", type=count(0), default=0)
    p.add_argument("--order", choices=_ORDERS, default="newest")
    p.add_argument("--pinned", action="store_true", help="only pinned memories")

    p = command("show", cmd_show, "Show one memory with every field.")
    p.add_argument("id", help="id or unique id prefix")

    p = command("forget", cmd_forget, "Delete memories for good.")
    p.add_argument("ids", nargs="+", metavar="id", help="ids or unique id prefixes")

    for name, help_text in (
        ("pin", "Pin a memory: it ranks as most important and never expires."),
        ("unpin", "Unpin a memory: its own importance and expiry count again."),
    ):
        p = command(name, cmd_pin, help_text)
        p.add_argument("id", help="id or unique id prefix")

    p = command("update", cmd_update, "Change a memory's text, category, importance or metadata.")
    p.add_argument("id", help="id or unique id prefix")
    p.add_argument("--text", nargs="+")
    write_options(p)

    p = command("log", cmd_log, "Show the latest write decisions and their reasons.")
    p.add_argument("id", nargs="?", help="only entries about this memory")
    p.add_argument("-n", "--limit", type=count(1, 10_000), default=20)

    p = command("export", cmd_export, "Export every memory, with history and timestamps.")
    p.set_defaults(data_on_stdout=True)  # JSON lines for programs: written exactly
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")
    p.add_argument("--scope", choices=["project", "global"])
    p.add_argument("--format", choices=["jsonl", "json", "markdown"], default="jsonl")
    p.add_argument("--include-embeddings", action="store_true")
    p.add_argument(
        "--include-log", action="store_true", help="also write the write log (memorymesh log)"
    )
    p.add_argument(
        "--force", action="store_true", help="replace FILE if it exists (otherwise refused)"
    )

    p = command("import", cmd_import, "Import an export file (idempotent).")
    p.add_argument("file", help="a jsonl or json export ('-' for stdin)")
    p.add_argument(
        "--on-clash",
        choices=["skip", "replace", "newer"],
        default="skip",
        help="for ids already stored: keep them (default), replace, or keep newer",
    )

    command("stats", cmd_stats, "Count memories by scope and category.")
    command("status", cmd_status, "Show store paths, counts, embedder and health.")

    p = command("demo", cmd_demo, "Show remember → recall on a fresh local store.")
    p.add_argument("--path", metavar="DIR", help="keep the demo store in DIR")

    return parser, sub, common


def _add_extensions(sub: Any, common: argparse.ArgumentParser) -> None:
    for module_name in EXTENSIONS:
        try:
            module = __import__(module_name, fromlist=["register"])
        except ImportError:
            continue  # the optional extra that provides it is not installed
        module.register(sub, common)


#: Core commands that still need the extensions: ``status`` prints the lines they add.
_USES_EXTENSIONS = frozenset({"status"})
#: Global options that take a value (the value is not the command's name).
_VALUED_OPTIONS = frozenset({"--db", "--global-db"})


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser ``argv`` needs: a core command, or ``--version`` alone, skips importing the
    extensions (the MCP server, sync, doctor, ...), which a one-shot command never uses."""
    parser, sub, common = _core_parser()
    named = _command_name(argv)
    if named is None:
        core = "--version" in argv and not {"-h", "--help"} & set(argv)
    else:
        core = named in sub.choices and named not in _USES_EXTENSIONS
    if not core:
        _add_extensions(sub, common)
    return parser


def _command_name(argv: Sequence[str]) -> str | None:
    """The first word of ``argv`` that is neither an option nor a global option's value."""
    words = iter(argv)
    for word in words:
        if word in _VALUED_OPTIONS:
            next(words, None)
        elif word == "--":
            return next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def _offer_v4_migration(args: argparse.Namespace, handler: Handler) -> int:
    """A 4.x store where 5.x keeps its own: at a terminal, offer ``import-v4`` and then run the
    command again; elsewhere (scripts, hooks, pipes in) the error already names the fix."""
    import anyio

    from .._errors import MemoryMeshError

    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    if args.command == "import-v4" or not interactive:
        return 1
    sys.stderr.write("Migrate it now (the 4.x file is kept as a backup)? [Y/n] ")
    sys.stderr.flush()
    if sys.stdin.readline().strip().lower() not in {"", "y", "yes"}:
        return 1
    from ._upkeep import cmd_import_v4

    migrate = argparse.Namespace(
        path=None, scope=None, db=args.db, global_db=args.global_db, json=False
    )
    try:
        # What the migration did goes to stderr: stdout belongs to the command asked for.
        with contextlib.redirect_stdout(sys.stderr):
            anyio.run(cmd_import_v4, migrate)
        return anyio.run(handler, args)
    except MemoryMeshError as exc:
        print(f"memorymesh: error: {exc}", file=sys.stderr)
        return 1


# The first steps, in the order a new user takes them; a step is shown only when its command
# exists in this build (`ui` needs the dashboard).
_NEXT_STEPS = (
    ("setup", "memorymesh setup claude", "give Claude Code this memory (or cursor, gemini, codex)"),
    ("status", "memorymesh status", "check which AI tools are set up and what is stored"),
    ("remember", 'memorymesh remember "..."', "store a memory yourself"),
    ("recall", 'memorymesh recall "..."', "find the memories that answer a question"),
    ("ui", "memorymesh ui", "see, search and fix your memories in the browser"),
    ("demo", "memorymesh demo", "watch remember → recall on a scratch store"),
)


def _what_next(parser: argparse.ArgumentParser) -> str:
    """The short guide a bare `memorymesh` prints: the next steps that exist in this build."""
    commands: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands.update(action.choices)
    steps = [(example, why) for name, example, why in _NEXT_STEPS if name in commands]
    width = max(len(example) for example, _ in steps)
    lines = [
        f"memorymesh {__version__}: one local, private memory for your AI tools and agents.",
        "",
        "Next steps:",
        *(f"  {example:<{width}}  {why}" for example, why in steps),
        "",
        "Every command: memorymesh --help",
        "Docs: https://github.com/memorymesh/memorymesh/tree/main/docs",
    ]
    return "\n".join(lines)


def _undecodable(argv: Sequence[str]) -> str | None:
    """What is wrong with an argument that is not valid UTF-8, or None when all are.

    The OS hands Python undecodable bytes as lone surrogates (``surrogateescape``); no store,
    file or terminal can hold them, so they are refused before anything runs.
    """
    for position, arg in enumerate(argv, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            try:  # the undecodable bytes themselves, as the OS passed them
                raw = arg[exc.start : exc.end].encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:  # a lone surrogate that was never a byte
                raw = arg[exc.start : exc.end].encode("utf-8", "surrogatepass")
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "replace")
            return (
                f"argument {position} ({shown[:60]}) is not valid UTF-8 (bytes {raw.hex(' ')}); "
                "pass text in UTF-8"
            )
    return None


def _exit_status(exc: BaseException) -> int:
    """2 for input the command refused (like a usage error: fix the command and run it
    again), 1 for everything else that went wrong (a store, a file, an embedder)."""
    from .._errors import InvalidInputError

    return 2 if isinstance(exc, InvalidInputError) else 1


def _run(handler: Handler, args: argparse.Namespace) -> int:
    if args.command in _PLAIN_COMMANDS:
        done = _plain(args)
        if done is not None:
            return done
    import anyio

    return anyio.run(handler, args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code (0 ok, 1 error, 2 usage or refused input).

    Without ``argv`` (the ``memorymesh`` script, ``python -m memorymesh``) this is the
    process's command, and the process exits when it returns (see :mod:`memorymesh._gc`).
    """
    exiting = argv is None
    if argv is None:
        argv = sys.argv[1:]
    bad = _undecodable(argv)
    if bad is not None:
        print(f"memorymesh: error: {bad}", file=sys.stderr)
        return 2
    from .._gc import one_shot

    # Decided from the command's name before the parser is built: for an extension command
    # (session-start) building it imports every extension and the facade, and the pause must
    # cover those imports without a break (see `one_shot`).
    with one_shot(bounded=_command_name(argv) in _BOUNDED_COMMANDS, exiting=exiting) as block:
        parser = _parser_for(argv)
        args = parser.parse_args(argv)
        if args.command is None:
            if not argv:
                # A bare `memorymesh` is a person asking "what now?": answer that, not "usage".
                print(_what_next(parser))
                return 0
            # Options but no command (`memorymesh --json`): a usage mistake, so the command list.
            parser.print_help(sys.stderr)
            return 2
        from .._paths import configured_db

        for name, default in (("json", False), ("db", configured_db()), ("global_db", None)):
            if not hasattr(args, name):
                setattr(args, name, default)
        handler: Handler = args.handler
        from .._errors import MemoryMeshError, V4StoreError

        if not _bounded(args):
            block.resume()  # `remember --file`: as many writes as the file has lines
        try:
            return _run_command(handler, args)
        except V4StoreError as exc:
            print(f"memorymesh: error: {exc}", file=sys.stderr)
            block.resume()  # the 4.x store migration it may offer is no bounded command
            return _offer_v4_migration(args, handler)
        except MemoryMeshError as exc:
            print(f"memorymesh: error: {exc}", file=sys.stderr)
            return _exit_status(exc)
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            # `memorymesh list --json | head`: the reader left. Point stdout at /dev/null so
            # the interpreter's final flush does not print a second traceback.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return 1


#: Commands whose work is one bounded write or read (a page, a memory, one text, the context
#: of one session, one hook event): they run without the cyclic garbage collector (see
#: :mod:`memorymesh._gc`), from before their parser is built.
_BOUNDED_COMMANDS = frozenset(
    {
        "remember",
        "recall",
        "list",
        "stats",
        "show",
        "log",
        "forget",
        "pin",
        "unpin",
        "update",
        "status",
        "session-start",
        "session-history",
        "hook",
        "history",
        "restore",
    }
)


def _bounded(args: argparse.Namespace) -> bool:
    # `remember --file` writes as many memories as the file has lines: not bounded.
    return args.command in _BOUNDED_COMMANDS and getattr(args, "file", None) is None


def _run_command(handler: Handler, args: argparse.Namespace) -> int:
    if args.json or getattr(args, "data_on_stdout", False):
        return _run(handler, args)
    # Human output shows memory text, which anyone who could write a memory chose:
    # terminal escapes and bidi controls in it are shown, never obeyed.
    with neutralised_stdout():
        return _run(handler, args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
