"""``memorymesh list`` and ``stats`` straight from the store files, for a process that reads once.

Opening a mesh imports asyncio, anyio, aiosqlite, pydantic and the whole facade before the
first row is read: most of what these two commands cost. When both stores are current SQLite
files that opening would not change (see :mod:`memorymesh.stores.sqlite._oneshot`) and no
embedder has to be loaded, the command reads them here instead, synchronously, with the same
statements, the same merge of the two stores (:mod:`memorymesh.search._listing`) and the same
privacy scrub on the way out; any other case returns ``None`` and the command opens the mesh
as always (which migrates, creates or refuses the files with the usual errors).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import configured_embedding
from .._paths import IN_MEMORY, default_global_path, find_project_root, project_store_path
from .._vocab import Scope
from ..search import _listing as listing
from ..stores.sqlite._oneshot import MemoryRecord, OneShotReader

if TYPE_CHECKING:
    from .._models import Memory

__all__ = ["plain_list", "plain_stats"]


@dataclasses.dataclass(frozen=True, slots=True)
class _Stores:
    """The mesh's two stores as readers: the project one is None outside any project."""

    project: OneShotReader | None
    global_: OneShotReader

    def all(self) -> tuple[OneShotReader, ...]:
        return tuple(s for s in (self.project, self.global_) if s is not None)

    def of(self, scope: Scope | None) -> tuple[OneShotReader, ...]:
        # As AsyncMemoryMesh._stores_for.
        if scope is None:
            return self.all()
        if scope is Scope.GLOBAL:
            return (self.global_,)
        return () if self.project is None else (self.project,)


def _file(location: str | None) -> Path | None:
    """A ``--db``/``--global-db`` that names a plain file, resolved as the registry resolves
    it; None for ``:memory:``, a ``sqlite://`` or server URL (the mesh opens those)."""
    if location is None or location == IN_MEMORY or "://" in location:
        return None
    return Path(location).expanduser().resolve()


@contextmanager
def _readers(args: argparse.Namespace) -> Iterator[_Stores | None]:
    """The stores ``open_mesh(args)`` would open, as readers, or None when it must open them."""
    if os.environ.get("MEMORYMESH_ENCRYPTION_KEY"):
        yield None  # the stores may be (or become) encrypted: the mesh handles the key
        return
    embedding = configured_embedding()[0]
    if embedding not in ("none", "auto"):
        yield None  # the mesh loads that embedder first (and may embed on opening)
        return
    given_global, given_project = getattr(args, "global_db", None), getattr(args, "db", None)
    global_path = _file(given_global) if given_global is not None else default_global_path()
    if given_project is None:
        root = find_project_root()
        project_path = None if root is None else project_store_path(root)
    else:
        project_path = _file(given_project)
        if project_path is None:
            yield None
            return
    if global_path is None:
        yield None
        return
    if project_path is not None and project_path == global_path:
        project_path = None  # one file: the mesh opens it once, as the global store
    opened: list[OneShotReader] = []
    try:
        # "auto" takes the embedder a store recorded: such a store is opened by the mesh.
        ok = embedding == "none"
        for path in (project_path, global_path):
            if path is None:
                continue
            reader = OneShotReader.open(path, recorded_embedder_ok=ok)
            if reader is None:
                yield None
                return
            opened.append(reader)
        project = opened[0] if project_path is not None else None
        yield _Stores(project, opened[-1])
    finally:
        for reader in opened:
            reader.close()


def plain_list(args: argparse.Namespace) -> list[Memory] | list[MemoryRecord] | None:
    """``list``'s page (``Memory`` objects with ``--json``, plain records otherwise), scrubbed
    as the mesh scrubs it; None when the mesh must answer."""
    from ..stores.base import checked_filters
    from ..writes._privacy import PrivacyGuard

    if args.order not in listing.ORDERS or args.limit < 1 or args.offset < 0:
        return None  # the mesh says what is wrong
    filters = checked_filters(
        scope=args.scope, category=args.category, pinned=True if args.pinned else None
    )
    try:
        with _readers(args) as stores:
            if stores is None:
                return None
            now = time.time()
            rows = listing.page_rows(args.limit, args.offset)
            pages = [
                reader.select(filters, order=args.order, limit=rows, offset=0, now=now)
                for reader in stores.of(filters.scope)
            ]
    except sqlite3.Error:
        return None  # the mesh meets it too, and reports it as a store error
    page = listing.merged_page(pages, order=args.order, limit=args.limit, offset=args.offset)
    guard = PrivacyGuard()  # the mesh's default, as open_mesh opens it
    if args.json:
        from .._models import trusted_memory

        memories = [trusted_memory(record.fields()) for record in page]
        return [_scrubbed(guard, memory) for memory in memories]
    return [dataclasses.replace(r, **guard.scrub_memory(r)) for r in page]  # type: ignore[arg-type]


def _scrubbed(guard: Any, memory: Memory) -> Memory:
    # As AsyncMemoryMesh._scrubbed.
    update = guard.scrub_memory(memory)
    return memory.model_copy(update=update) if update else memory


def plain_stats(args: argparse.Namespace) -> dict[str, Any] | None:
    """``stats``'s fields (those of :class:`~memorymesh.MemoryStats`); None when the mesh must
    answer."""
    try:
        with _readers(args) as stores:
            if stores is None:
                return None
            now = time.time()
            counts = [reader.counts(now=now) for reader in stores.all()]
            project = None if stores.project is None else stores.project.label
            global_label = stores.global_.label
    except sqlite3.Error:
        return None
    return {
        **listing.totals(counts),
        "project_path": project,
        "global_path": global_label,
        "embedder": "none",  # no embedder was configured or recorded (see _readers)
    }
