"""``MemoryMesh``: the blocking twin of ``AsyncMemoryMesh`` for scripts and notebooks.

Every method is one line: it runs the async method on an event loop in a private thread
(an anyio blocking portal), so there is exactly one implementation of each operation. It works
inside Jupyter too, whose own event loop is never touched.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from functools import partial
from types import TracebackType
from typing import Any, Literal, ParamSpec, Self, TextIO, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._errors import ClosedError
from ._mesh import (
    DEFAULT_MAX_METADATA_BYTES,
    DEFAULT_MAX_TEXT_CHARS,
    AsyncMemoryMesh,
    PathLike,
)
from ._models import (
    Category,
    Conflict,
    ConflictPair,
    ConflictPolicy,
    JudgeReport,
    ListOrder,
    Memory,
    MemoryStats,
    NewMemory,
    RecallResults,
    Scope,
    ScoringWeights,
    SessionRecord,
    WriteLogEntry,
)
from ._validate import CategoryArg
from .context._compact import CompactPolicy, CompactReport
from .context._instructions import SyncReport, SyncWeights
from .context._quality import QualityReport
from .context._session import DEFAULT_BUDGET_TOKENS, SessionContext
from .embeddings._chat import ChatModel
from .embeddings._embedders import Embedder
from .io._export import ExportFormat, ImportReport
from .io._import_v4 import V4ImportReport
from .search._recall import RecallMode
from .stores._filters import TimeField
from .writes._privacy import PrivacyMode

__all__ = ["MemoryMesh"]

P = ParamSpec("P")
T = TypeVar("T")


class MemoryMesh:
    """Blocking MemoryMesh: the same methods as :class:`AsyncMemoryMesh`, without ``await``.

    ::

        with MemoryMesh() as mesh:
            mesh.remember("User prefers dark mode", category="preference")
            print(mesh.recall("which theme?")[0].memory.text)

    Takes the same arguments as :class:`AsyncMemoryMesh`. Call :meth:`close` (or use ``with``)
    when done.
    """

    def __init__(
        self,
        path: PathLike | None = None,
        *,
        global_path: PathLike | None = None,
        embedding: str | Embedder | None = "none",
        weights: ScoringWeights | None = None,
        max_text_chars: int = DEFAULT_MAX_TEXT_CHARS,
        max_metadata_bytes: int = DEFAULT_MAX_METADATA_BYTES,
        source: str = "api",
        agent: str | None = None,
        busy_timeout: float = 5.0,
        on_conflict: ConflictPolicy = "supersede",
        privacy: PrivacyMode = "redact",
        encryption_key: str | bytes | None = None,
        project: str | None = None,
        user: str | None = None,
        judge: str | ChatModel | None = None,
    ) -> None:
        self._closed = False
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal("asyncio")
        self._portal = self._portal_cm.__enter__()
        try:
            factory = partial(
                AsyncMemoryMesh,
                path,
                global_path=global_path,
                embedding=embedding,
                weights=weights,
                max_text_chars=max_text_chars,
                max_metadata_bytes=max_metadata_bytes,
                source=source,
                agent=agent,
                busy_timeout=busy_timeout,
                on_conflict=on_conflict,
                privacy=privacy,
                encryption_key=encryption_key,
                project=project,
                user=user,
                judge=judge,
            )
            self._mesh: AsyncMemoryMesh = self._portal.call(_construct, factory)
            self._mesh_cm = self._portal.wrap_async_context_manager(self._mesh)
            self._mesh_cm.__enter__()
        except BaseException:
            self._closed = True
            self._portal_cm.__exit__(None, None, None)
            raise
        # A mesh left open (no `with`, no close(), an exception before it) is closed when it
        # is garbage-collected or at interpreter exit at the latest: otherwise stopping its
        # event loop during finalisation, when that loop's thread can no longer run, hangs
        # the process. The callback holds the context managers, never `self`.
        self._finalizer = weakref.finalize(self, _close_left_open, self._mesh_cm, self._portal_cm)

    def _call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._closed:
            raise ClosedError("this MemoryMesh is closed; create a new one")
        return self._portal.call(partial(fn, *args, **kwargs))

    @property
    def async_mesh(self) -> AsyncMemoryMesh:
        """The :class:`AsyncMemoryMesh` this facade drives (for adapters that want both)."""
        return self._mesh

    @property
    def portal(self) -> BlockingPortal:
        """The blocking portal the facade runs the async mesh through."""
        return self._portal

    @property
    def project_path(self) -> str | None:
        return self._mesh.project_path

    @property
    def global_path(self) -> str:
        return self._mesh.global_path

    @property
    def judge(self) -> ChatModel | None:
        """See :attr:`AsyncMemoryMesh.judge`."""
        return self._mesh.judge

    @property
    def privacy(self) -> PrivacyMode:
        return self._mesh.privacy

    @property
    def closed(self) -> bool:
        return self._closed

    def open(self) -> Self:
        """Open both stores and apply migrations now rather than on first use.

        See :meth:`AsyncMemoryMesh.open`.
        """
        self._call(self._mesh.open)
        return self

    def close(self) -> None:
        """Close the stores and stop the private event loop. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        try:
            self._mesh_cm.__exit__(None, None, None)
        finally:
            self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def remember(
        self,
        text: str,
        *,
        category: Category | str | None = None,
        importance: float | None = None,
        scope: Scope | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        pin: bool = False,
        session_id: str | None = None,
        event_time: datetime | None = None,
        expires_at: datetime | None = None,
        ttl: timedelta | None = None,
        source: str | None = None,
        agent: str | None = None,
        on_conflict: ConflictPolicy | None = None,
        max_metadata_bytes: int | None = None,
    ) -> Memory:
        """See :meth:`AsyncMemoryMesh.remember`."""
        return self._call(
            self._mesh.remember,
            text,
            category=category,
            importance=importance,
            scope=scope,
            metadata=metadata,
            pin=pin,
            session_id=session_id,
            event_time=event_time,
            expires_at=expires_at,
            ttl=ttl,
            source=source,
            agent=agent,
            on_conflict=on_conflict,
            max_metadata_bytes=max_metadata_bytes,
        )

    def remember_many(
        self,
        items: Iterable[str | Mapping[str, Any] | NewMemory],
        *,
        review: bool = False,
        max_metadata_bytes: int | None = None,
    ) -> list[Memory]:
        """See :meth:`AsyncMemoryMesh.remember_many`."""
        return self._call(
            self._mesh.remember_many, items, review=review, max_metadata_bytes=max_metadata_bytes
        )

    def recall(
        self,
        query: str,
        *,
        k: int = 5,
        category: CategoryArg = None,
        scope: Scope | str | None = None,
        min_importance: float | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        time_field: TimeField = "created",
        as_of: datetime | None = None,
        current_only: bool = True,
        explain: bool = False,
        mode: RecallMode = "auto",
        source: str | None = None,
        agent: str | None = None,
    ) -> RecallResults:
        """See :meth:`AsyncMemoryMesh.recall`."""
        return self._call(
            self._mesh.recall,
            query,
            k=k,
            category=category,
            scope=scope,
            min_importance=min_importance,
            since=since,
            until=until,
            metadata_filter=metadata_filter,
            session_id=session_id,
            time_field=time_field,
            as_of=as_of,
            current_only=current_only,
            explain=explain,
            mode=mode,
            source=source,
            agent=agent,
        )

    def get(self, memory_id: str) -> Memory:
        """See :meth:`AsyncMemoryMesh.get`."""
        return self._call(self._mesh.get, memory_id)

    def resolve_id(self, prefix: str) -> str:
        """See :meth:`AsyncMemoryMesh.resolve_id`."""
        return self._call(self._mesh.resolve_id, prefix)

    def update(
        self,
        memory_id: str,
        *,
        text: str | None = None,
        importance: float | None = None,
        category: Category | str | None = None,
        metadata: Mapping[str, Any] | None = None,
        pin: bool | None = None,
        event_time: datetime | None = None,
        expires_at: datetime | None = None,
        max_metadata_bytes: int | None = None,
    ) -> Memory:
        """See :meth:`AsyncMemoryMesh.update`."""
        return self._call(
            self._mesh.update,
            memory_id,
            text=text,
            importance=importance,
            category=category,
            metadata=metadata,
            pin=pin,
            event_time=event_time,
            expires_at=expires_at,
            max_metadata_bytes=max_metadata_bytes,
        )

    def pin(self, memory_id: str) -> Memory:
        """See :meth:`AsyncMemoryMesh.pin`."""
        return self._call(self._mesh.pin, memory_id)

    def unpin(self, memory_id: str) -> Memory:
        """See :meth:`AsyncMemoryMesh.unpin`."""
        return self._call(self._mesh.unpin, memory_id)

    def forget(self, memory_id: str) -> Memory:
        """See :meth:`AsyncMemoryMesh.forget`."""
        return self._call(self._mesh.forget, memory_id)

    def forget_many(self, ids: Iterable[str]) -> int:
        """See :meth:`AsyncMemoryMesh.forget_many`."""
        return self._call(self._mesh.forget_many, ids)

    def list(
        self,
        *,
        scope: Scope | str | None = None,
        category: CategoryArg = None,
        limit: int = 50,
        offset: int = 0,
        order: ListOrder = "newest",
        session_id: str | None = None,
        pinned: bool | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        source: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Memory]:
        """See :meth:`AsyncMemoryMesh.list`."""
        return self._call(
            self._mesh.list,
            scope=scope,
            category=category,
            limit=limit,
            offset=offset,
            order=order,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
            source=source,
            agent=agent,
            since=since,
            until=until,
        )

    def count(
        self,
        *,
        scope: Scope | str | None = None,
        category: CategoryArg = None,
        session_id: str | None = None,
        pinned: bool | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
        include_superseded: bool = False,
        include_expired: bool = False,
        source: str | None = None,
        agent: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """See :meth:`AsyncMemoryMesh.count`."""
        return self._call(
            self._mesh.count,
            scope=scope,
            category=category,
            session_id=session_id,
            pinned=pinned,
            metadata_filter=metadata_filter,
            include_superseded=include_superseded,
            include_expired=include_expired,
            source=source,
            agent=agent,
            since=since,
            until=until,
        )

    def metadata_values(
        self,
        key: str,
        *,
        scope: Scope | str | None = None,
        metadata_filter: Mapping[str, Any] | None = None,
    ) -> builtins.list[str | int | float]:
        """See :meth:`AsyncMemoryMesh.metadata_values`."""
        return self._call(
            self._mesh.metadata_values, key, scope=scope, metadata_filter=metadata_filter
        )

    def restore(self, memory_id: str) -> Memory:
        """See :meth:`AsyncMemoryMesh.restore`."""
        return self._call(self._mesh.restore, memory_id)

    def history(self, memory_id: str) -> builtins.list[Memory]:
        """See :meth:`AsyncMemoryMesh.history`."""
        return self._call(self._mesh.history, memory_id)

    def judge_pending(self, *, limit: int = 200) -> JudgeReport:
        """See :meth:`AsyncMemoryMesh.judge_pending`."""
        return self._call(self._mesh.judge_pending, limit=limit)

    def conflict_pairs(self, *, limit: int = 100) -> builtins.list[ConflictPair]:
        """See :meth:`AsyncMemoryMesh.conflict_pairs`."""
        return self._call(self._mesh.conflict_pairs, limit=limit)

    def resolve_conflict(
        self, new_id: str, old_id: str, *, action: Literal["replace", "keep_both"]
    ) -> Conflict:
        """See :meth:`AsyncMemoryMesh.resolve_conflict`."""
        return self._call(self._mesh.resolve_conflict, new_id, old_id, action=action)

    def reembed(self, *, progress: Callable[[int], None] | None = None) -> int:
        """See :meth:`AsyncMemoryMesh.reembed`."""
        return self._call(self._mesh.reembed, progress=progress)

    def embedding_backlog(self) -> int:
        """See :meth:`AsyncMemoryMesh.embedding_backlog`."""
        return self._call(self._mesh.embedding_backlog)

    def stats(self) -> MemoryStats:
        """See :meth:`AsyncMemoryMesh.stats`."""
        return self._call(self._mesh.stats)

    def export(
        self,
        target: PathLike | TextIO,
        *,
        scope: Scope | str | None = None,
        format: ExportFormat = "jsonl",
        include_embeddings: bool = False,
        overwrite: bool = False,
        encrypt: bool | None = None,
        include_log: bool = False,
    ) -> int:
        """See :meth:`AsyncMemoryMesh.export`."""
        return self._call(
            self._mesh.export,
            target,
            scope=scope,
            format=format,
            include_embeddings=include_embeddings,
            overwrite=overwrite,
            encrypt=encrypt,
            include_log=include_log,
        )

    def import_(
        self, source: PathLike | TextIO, *, on_clash: Literal["skip", "replace", "newer"] = "skip"
    ) -> ImportReport:
        """See :meth:`AsyncMemoryMesh.import_`."""
        return self._call(self._mesh.import_, source, on_clash=on_clash)

    def log(self, *, limit: int = 20, memory_id: str | None = None) -> builtins.list[WriteLogEntry]:
        """See :meth:`AsyncMemoryMesh.log`."""
        return self._call(self._mesh.log, limit=limit, memory_id=memory_id)

    def session_start(
        self,
        query: str | None = None,
        *,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        session_id: str | None = None,
        client: str | None = None,
        continues: str | None = None,
    ) -> SessionContext:
        """See :meth:`AsyncMemoryMesh.session_start`."""
        return self._call(
            self._mesh.session_start,
            query,
            budget_tokens=budget_tokens,
            session_id=session_id,
            client=client,
            continues=continues,
        )

    def session_history(
        self, session_id: str | None = None, *, limit: int = 20
    ) -> builtins.list[SessionRecord]:
        """See :meth:`AsyncMemoryMesh.session_history`."""
        return self._call(self._mesh.session_history, session_id, limit=limit)

    def health(self) -> dict[str, builtins.list[str]]:
        """See :meth:`AsyncMemoryMesh.health`."""
        return self._call(self._mesh.health)

    # -- invisible memory (see _invisible.py) ---------------------------------------------------

    def sync_to(
        self,
        target: str | os.PathLike[str] = "auto",
        *,
        format: str | None = None,
        limit: int = 30,
        weights: SyncWeights | None = None,
    ) -> builtins.list[SyncReport]:
        """See :meth:`AsyncMemoryMesh.sync_to`."""
        return self._call(self._mesh.sync_to, target, format=format, limit=limit, weights=weights)

    def sync_from(self, source: str | os.PathLike[str], *, format: str | None = None) -> SyncReport:
        """See :meth:`AsyncMemoryMesh.sync_from`."""
        return self._call(self._mesh.sync_from, source, format=format)

    def review_queue(self, *, limit: int = 50) -> builtins.list[Memory]:
        """See :meth:`AsyncMemoryMesh.review_queue`."""
        return self._call(self._mesh.review_queue, limit=limit)

    def accept(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """See :meth:`AsyncMemoryMesh.accept`."""
        return self._call(self._mesh.accept, ids)

    def reject(self, ids: Iterable[str]) -> int:
        """See :meth:`AsyncMemoryMesh.reject`."""
        return self._call(self._mesh.reject, ids)

    def compact(
        self, *, dry_run: bool = False, policy: CompactPolicy | None = None
    ) -> CompactReport:
        """See :meth:`AsyncMemoryMesh.compact`."""
        return self._call(self._mesh.compact, dry_run=dry_run, policy=policy)

    def archived(self, *, limit: int = 50) -> builtins.list[Memory]:
        """See :meth:`AsyncMemoryMesh.archived`."""
        return self._call(self._mesh.archived, limit=limit)

    def restore_compacted(self, ids: Iterable[str]) -> builtins.list[Memory]:
        """See :meth:`AsyncMemoryMesh.restore_compacted`."""
        return self._call(self._mesh.restore_compacted, ids)

    def quality_report(self, *, limit: int = 10_000) -> QualityReport:
        """See :meth:`AsyncMemoryMesh.quality_report`."""
        return self._call(self._mesh.quality_report, limit=limit)

    def import_v4(
        self, path: str | os.PathLike[str], *, scope: Scope | str | None = None
    ) -> V4ImportReport:
        """See :meth:`AsyncMemoryMesh.import_v4`."""
        return self._call(self._mesh.import_v4, path, scope=scope)


async def _construct(factory: Callable[[], AsyncMemoryMesh]) -> AsyncMemoryMesh:
    # Built on the portal's loop thread so its locks belong to that loop.
    return factory()


def _close_left_open(
    mesh_cm: AbstractContextManager[Any], portal_cm: AbstractContextManager[Any]
) -> None:
    """Close a :class:`MemoryMesh` its owner never closed (see ``MemoryMesh.__init__``)."""
    warnings.warn(
        "MemoryMesh was not closed: use `with` or call close(); MemoryMesh closed it for you",
        ResourceWarning,
        stacklevel=2,
    )

    def close() -> None:
        try:
            mesh_cm.__exit__(None, None, None)
        finally:
            portal_cm.__exit__(None, None, None)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        close()
        return
    # Collected on an event loop's thread (perhaps the mesh's own): blocking on the portal
    # here could wait for this very loop, so another thread does it.
    threading.Thread(target=close, name="memorymesh-close").start()
