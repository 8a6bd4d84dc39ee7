"""The "invisible memory" operations of ``AsyncMemoryMesh``: sync, review queue, upkeep.

They live in a mixin so ``_mesh.py`` stays about storing and recalling; each method is still
one operation of the one async implementation (the sync twin mirrors them in ``_sync.py``).
Heavier modules are imported inside the methods, so a plain ``remember`` never pays for them.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from .._errors import InvalidInputError
from .._text import content_hash
from ..stores._filters import Filters

if TYPE_CHECKING:
    from .._mesh import AsyncMemoryMesh
    from .._models import Memory, Scope
    from ..io._import_v4 import V4ImportReport
    from ._compact import CompactPolicy, CompactReport
    from ._instructions import SyncReport, SyncWeights
    from ._quality import QualityReport

__all__ = ["InvisibleMixin"]


def _id_list(ids: Iterable[str], name: str) -> list[str]:
    if isinstance(ids, str):
        raise InvalidInputError(f"{name} takes a list of ids")
    wanted = list(dict.fromkeys(ids))
    if not all(isinstance(i, str) and i for i in wanted):
        raise InvalidInputError("every id must be a non-empty string")
    return wanted


class InvisibleMixin:
    """Smart Sync, the review queue, compaction, quality review and the 4.x import."""

    def _mesh(self) -> AsyncMemoryMesh:
        return cast("AsyncMemoryMesh", self)

    # -- Smart Sync ---------------------------------------------------------------------------

    async def sync_to(
        self,
        target: str | os.PathLike[str] = "auto",
        *,
        format: str | None = None,
        limit: int = 30,
        weights: SyncWeights | None = None,
    ) -> builtins.list[SyncReport]:
        """Write the top ``limit`` memories into the marked MemoryMesh section of instruction
        files (``CLAUDE.md``, ``MEMORY.md``, ``AGENTS.md``, ``GEMINI.md``,
        ``.cursor/rules/memorymesh.mdc``), leaving the rest of each file untouched.

        Args:
            target: A file, or ``"auto"`` for every instruction file present in the project.
            format: ``claude``, ``codex``, ``gemini`` or ``cursor`` (default: from the name).
            limit: How many memories at most (1 to 1000).
            weights: A :class:`~memorymesh.SyncWeights` ranking by importance and recency.

        Raises:
            InvalidInputError: an unknown format, no instruction file for ``"auto"``, a file
                whose section is broken, or a file that cannot be written.
        """
        from ._instructions import sync_to

        return await sync_to(self._mesh(), target, format=format, limit=limit, weights=weights)

    async def sync_from(
        self, source: str | os.PathLike[str], *, format: str | None = None
    ) -> SyncReport:
        """Import the hand-edited entries of a file's MemoryMesh section back into memory,
        without duplicating anything: a round trip ``sync_to`` → ``sync_from`` changes nothing.

        Raises:
            InvalidInputError: an unknown format, a missing file or a broken section.
        """
        from ._instructions import sync_from

        return await sync_from(self._mesh(), source, format=format)

    # -- review queue -------------------------------------------------------------------------

    async def review_queue(self, *, limit: int = 50) -> builtins.list[Memory]:
        """Memories waiting for review (captured by hooks with ``review=True``), oldest first.

        They are not recalled, listed or synced until :meth:`accept` makes them active.

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        return await self._by_status("pending", limit=limit, newest_first=False)

    async def _by_status(
        self, status: str, *, limit: int, newest_first: bool
    ) -> builtins.list[Memory]:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        mesh = self._mesh()
        await mesh.open()
        now = time.time()
        found: list[Memory] = []
        for store in mesh.stores:
            found += await store.select(
                Filters(status=status, include_expired=True),
                order="updated" if newest_first else "oldest",
                limit=limit,
                offset=0,
                now=now,
            )
        # Stable sorts: rows of one batch keep their order.
        if newest_first:
            found.sort(key=lambda m: m.updated_at, reverse=True)
        else:
            found.sort(key=lambda m: m.created_at)
        return found[:limit]

    async def accept(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """Move queued memories into memory; return the ones accepted.

        A queued memory whose text is by now already remembered is marked rejected instead
        (it would be a duplicate). Ids that are not queued are skipped. Edit a queued memory
        first with :meth:`update` to accept a corrected version.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        wanted = _id_list(ids, "accept")
        mesh = self._mesh()
        await mesh.open()
        accepted: list[Memory] = []
        for store in mesh.stores:
            async with store.write() as tx:
                statuses = await tx.statuses(wanted)
                pending = [i for i in wanted if statuses.get(i) == "pending"]
                if not pending:
                    continue
                memories = await tx.get_many(pending)
                known = await tx.active_ids_by_hash([content_hash(m.text) for m in memories])
                duplicates = [m.id for m in memories if content_hash(m.text) in known]
                fresh = [m.id for m in memories if m.id not in duplicates]
                await tx.set_status(duplicates, "rejected", only_from=("pending",))
                moved = await tx.set_status(fresh, "active", only_from=("pending",))
                await tx.log(
                    [("accepted", i, "review", {}) for i in moved]
                    + [("rejected", i, "review", {"duplicate_text": True}) for i in duplicates]
                )
                accepted += await tx.get_many(moved)
        order = {memory_id: index for index, memory_id in enumerate(wanted)}
        return sorted(accepted, key=lambda m: order[m.id])

    async def reject(self, ids: Iterable[str]) -> int:
        """Reject queued memories; return how many. Rejected text is kept (never recalled)
        only so that the same capture is not queued again; :meth:`forget` deletes it.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        wanted = _id_list(ids, "reject")
        mesh = self._mesh()
        await mesh.open()
        total = 0
        for store in mesh.stores:
            async with store.write() as tx:
                moved = await tx.set_status(wanted, "rejected", only_from=("pending",))
                await tx.log([("rejected", i, "review", {}) for i in moved])
                total += len(moved)
        return total

    # -- MemoryMesh 4.x -----------------------------------------------------------------------

    async def import_v4(
        self, path: str | os.PathLike[str], *, scope: Scope | str | None = None
    ) -> V4ImportReport:
        """Import a MemoryMesh 4.x database, losslessly (ids, timestamps, access counts,
        category, pinned, metadata) and idempotently (importing it twice adds nothing).

        Args:
            path: The 4.x database file (opened read-only, never changed).
            scope: ``project`` or ``global``; by default ``global`` for ``global*.db`` files.

        Raises:
            InvalidInputError: not a 4.x database, a malformed row, or no project store for
                a project file; nothing is written then.
        """
        from ..io._import_v4 import import_v4

        return await import_v4(self._mesh(), path, scope=scope)

    # -- compaction ---------------------------------------------------------------------------

    async def compact(
        self, *, dry_run: bool = False, policy: CompactPolicy | None = None
    ) -> CompactReport:
        """Merge near-duplicate memories and archive stale, unimportant, never-used, unpinned
        (or expired) ones, losing nothing: merged memories stay as history superseded by the
        survivor, archived ones keep their text; :meth:`restore_compacted` brings either back.

        Near-duplicate candidates come from the FTS5 index (rare shared terms), never from a
        pass over all pairs. ``dry_run=True`` reports what would change and changes nothing.

        Args:
            dry_run: Only report.
            policy: A :class:`~memorymesh.CompactPolicy` (similarity, stale_days,
                max_importance).

        Raises:
            InvalidInputError: ``policy`` is not a ``CompactPolicy``.
            StoreError: the database failed; that store is left as it was.
        """
        from ._compact import compact

        return await compact(self._mesh(), dry_run=dry_run, policy=policy)

    async def archived(self, *, limit: int = 50) -> builtins.list[Memory]:
        """Memories compaction archived, most recently archived first (merged ones are
        superseded instead: ``list(include_superseded=True)`` shows them).

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        return await self._by_status("archived", limit=limit, newest_first=True)

    async def restore_compacted(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """Make merged (superseded) or archived memories current again; return them.

        Raises:
            InvalidInputError: ``ids`` is not a list of strings.
            StoreError: the database failed; nothing changed.
        """
        wanted = _id_list(ids, "restore_compacted")
        mesh = self._mesh()
        await mesh.open()
        restored: list[Memory] = []
        for store in mesh.stores:
            async with store.write() as tx:
                present = await tx.statuses(wanted)
                if not present:
                    continue
                for memory_id in present:
                    await tx.update(memory_id, {"superseded_by": None, "superseded_at": None})
                await tx.set_status(list(present), "active", only_from=("archived",))
                await tx.log([("restored", i, "compact", {}) for i in present])
                restored += await tx.get_many(list(present))
        return restored

    # -- quality review -----------------------------------------------------------------------

    async def quality_report(self, *, limit: int = 10_000) -> QualityReport:
        """Score every active memory (0 to 100) and list its problems with a suggested fix:
        scope mismatches, too verbose, uncategorised, stale, near-duplicate, low quality.
        Changes nothing.

        Args:
            limit: At most this many memories per store, most important first.

        Raises:
            InvalidInputError: ``limit`` is not an integer from 1 to 10000.
        """
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidInputError("limit must be an integer from 1 to 10000")
        from ._quality import review_quality

        return await review_quality(self._mesh(), limit=limit)
