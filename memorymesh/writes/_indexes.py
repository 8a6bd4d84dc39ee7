"""This process's in-memory indexes of each store, and keeping them in step with the store.

Per store: the vector index (with an embedder) that vector recall and conflict checks search,
and the token index that keyword-mode conflict checks use once this mesh has written enough
to a store for it to pay (until then, and in one-shot processes, they read the tokens the
store keeps: ``_postings.py``), or always for a store that keeps none (an encrypted file).
A store that finds its own neighbours (``stores.base.NeighbourSearch``: PostgreSQL) gets no
vector index: its vectors stay in the database, and only its change feed is followed here. Other
processes write to the same store (two MCP servers on one file); before a search and inside
every write transaction, :meth:`Indexes.catch_up` applies the store's change feed since this
process's mark (see ``_catchup.py``). A store holding another embedder's vectors is marked
stale and refuses vector work until it is re-embedded, rather than mixing models.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import EmbeddingError, StoreError
from ..embeddings._embedders import Embedder, as_matrix
from ..search._lexical import LexicalIndex
from ..search._vector_file import FileKey, blank_rows, cache_path, read_index, write_index
from ..search._vectors import IndexRow, VectorIndex, to_blob, unit_rows
from ..stores.base import Store, StoreTransaction, neighbour_searcher
from ._catchup import apply_changes
from ._conflicts import content_tokens_many

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Indexes"]

_EMBED_PAGE = 256
#: The store's meta key naming its vector cache file (see ``search/_vector_file.py``): a
#: file carrying another token was written for another database and is ignored.
_FILE_KEY = "vectors_file"
#: Rows changed since the cache file before a closing process rewrites it (a fraction of the
#: store, at most this many: well inside the change feed kept, so an opener catches up by
#: the feed rather than re-reading the store).
_REWRITE_AFTER = 10_000
_REWRITE_MIN = 1_000


def cache_file(store: Store) -> Path | None:
    """The vector cache file of a store kept in a database file (None for others)."""
    path = getattr(store, "path", None)
    return cache_path(path) if isinstance(path, Path) else None


class Indexes:
    """The vector and token indexes of a mesh's stores, and the embedder that fills them."""

    def __init__(self, embedder: Embedder | None) -> None:
        self.embedder = embedder
        # Memories embedded while opening (a store's backlog), reported by the next reembed().
        self.embedded_on_open = 0
        # Per store: its vector index (only with an embedder), and the embedders whose vectors
        # it holds instead of ours (vector search refuses it until `reembed`).
        self.vectors: dict[Store, VectorIndex] = {}
        # Stores that find their own neighbours (``stores.base.NeighbourSearch``): no
        # vector index is built for them; the change feed is still followed, for memories
        # another process wrote without a vector or with another embedder's.
        self.searching: set[Store] = set()
        self.stale: dict[Store, list[str]] = {}
        # Per store: the token index behind keyword-mode conflict detection, built lazily on
        # the first write (reads never pay for it).
        self.lexicons: dict[Store, LexicalIndex[str]] = {}
        # Per store: texts checked through its stored tokens so far (see `warm_lexicon`).
        self.token_lookups: dict[Store, int] = {}
        # Per store, the change-feed mark up to which both indexes reflect the store, writes
        # by other processes included.
        self.marks: dict[Store, int] = {}
        # Stores whose vector index is built on first need (no usable cache file at open),
        # and those whose cache file must be rewritten at close whatever its lag (a memory
        # was forgotten: its vector must not stay behind in the file).
        self.pending: set[Store] = set()
        self.must_rewrite: set[Store] = set()

    @property
    def embedder_name(self) -> str | None:
        return None if self.embedder is None else self.embedder.name

    async def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Unit vectors for ``texts`` from the mesh's embedder, checked for shape."""
        assert self.embedder is not None
        try:
            raw = await self.embedder.embed(texts)
        except EmbeddingError:
            raise
        except Exception as exc:  # a third-party embedder's own failure, typed for callers
            raise EmbeddingError(f"{self.embedder.name} failed: {exc}") from exc
        dim = self.embedder.dim or None
        return unit_rows(as_matrix(raw, len(texts), dim, who=self.embedder.name))

    async def vectors_for(
        self, texts: list[str], stores: Iterable[Store]
    ) -> npt.NDArray[np.float32] | None:
        """Vectors for texts about to be written to ``stores`` (None without an embedder)."""
        if self.embedder is None:
            return None
        stores = list(stores)
        await self.ensure(stores)
        self.check_fresh(stores)
        return await self.embed(texts)

    def check_fresh(self, stores: Iterable[Store]) -> None:
        """Refuse vectors in a store embedded by another model until it is re-embedded."""
        for store in stores:
            if store in self.stale:
                raise EmbeddingError(
                    f"{store.label} holds vectors from {', '.join(self.stale[store])}, not "
                    f"{self.embedder_name}: run `memorymesh reembed` (or mesh.reembed()) "
                    "before using vectors with this embedder"
                )

    async def open(self, stores: Iterable[Store]) -> None:
        """Map each store's vector cache file; a store without a usable one gets its index
        built on first need (:meth:`ensure`), except one that is not a file, built now."""
        if self.embedder is None:
            return
        if not self.embedder.dim:
            await self.embed(["dimension probe"])  # HTTP providers learn dim from an answer
        for store in stores:
            path = cache_file(store)
            if path is None:
                await self._open_store(store)
            elif not await self._map(store, path):
                self.pending.add(store)

    async def ensure(self, stores: Iterable[Store]) -> None:
        """Build the vector index of those ``stores`` that had no usable cache file."""
        for store in stores:
            if store in self.pending:
                self.pending.discard(store)
                await self._open_store(store)

    async def _map(self, store: Store, path: Path) -> bool:
        """Take ``store``'s index from its cache file, if the file is current enough."""
        assert self.embedder is not None
        token = await store.get_meta(_FILE_KEY)
        if not token:
            return False
        key = FileKey(self.embedder.name, self.embedder.dim, token)
        found = read_index(path, key, await store.change_mark())
        if found is None:
            return False
        index, mark = found
        self.vectors[store] = index
        # The feed since the file's mark is applied by the next catch-up; re-applying what
        # the token index already holds is harmless.
        self.marks[store] = min(mark, self.marks.get(store, mark))
        return True

    async def _save(self, store: Store, *, remap: bool = False) -> None:
        """Write ``store``'s vector index to its cache file, as of this process's mark; with
        ``remap``, then search the file's mapping instead of the index just built (the file's
        matrix is one piece, and its pages are the page cache's, shared between processes)."""
        path = cache_file(store)
        index = self.vectors.get(store)
        if path is None or index is None or self.embedder is None or store in self.stale:
            return
        try:
            token = await store.get_meta(_FILE_KEY)
            if not token:
                token = uuid.uuid4().hex
                async with store.write() as tx:
                    await tx.set_meta(_FILE_KEY, token)
            key = FileKey(self.embedder.name, self.embedder.dim, token)
            mark = self.marks.get(store, 0)
            write_index(index, path, key, mark)
        except (OSError, StoreError):
            return  # a cache: a read-only store or a full disk costs speed, not answers
        index.changes = 0
        self.must_rewrite.discard(store)
        if remap:
            found = read_index(path, key, mark)
            if found is not None:
                # Another process may have renamed its own file in meanwhile: its mark counts.
                self.vectors[store] = found[0]
                self.marks[store] = min(mark, found[1])

    async def persist(self, stores: Iterable[Store], *, remap: bool = False) -> None:
        """Rewrite the cache file of each store whose index has moved far from it (or lost
        a forgotten memory), so the next process opens it flat. Writers call this with
        ``remap`` after each batch: the rows they added move from small in-memory blocks
        into the file's one matrix, and their catch-up stays short for everyone."""
        for store in stores:
            index = self.vectors.get(store)
            if index is None:
                continue
            lag = min(_REWRITE_AFTER, max(_REWRITE_MIN, len(index) // 20))
            if store in self.must_rewrite or index.changes >= lag:
                await self._save(store, remap=remap)

    def forgotten(self, store: Store, ids: Sequence[str] = ()) -> None:
        """Memories were deleted for good: their vectors must leave the cache file too.

        Mapped here, their rows are blanked in the file at once (``blank_rows``), and the
        file is rewritten without them at the next write or close (their ids go too)."""
        path = cache_file(store)
        if store in self.vectors:
            self.must_rewrite.add(store)
            if path is not None and ids:
                blank_rows(path, ids)
            return
        if path is not None:
            # Not mapped here: the file goes, and the next process to need it rebuilds it.
            path.unlink(missing_ok=True)

    async def _open_store(self, store: Store) -> None:
        """Check ``store``'s recorded embedder, build its index and write its cache file."""
        assert self.embedder is not None
        name = self.embedder.name
        models = await store.embedding_models()
        others = sorted(m for m in models if m is not None and m != name)
        if others:
            self.stale[store] = others
            return
        if models.get(None):
            self.embedded_on_open += await self.embed_missing(store)
        elif await store.get_meta("embedder") != name:
            await self.record_embedder(store)
        await self.load(store)
        await self._save(store, remap=True)

    def tracks(self, store: Store) -> bool:
        """Whether this process follows ``store``'s vectors (an index, built or still to build
        from the rows, or the store's own)."""
        return store in self.vectors or store in self.searching or store in self.pending

    async def record_embedder(self, store: Store) -> None:
        assert self.embedder is not None
        async with store.write() as tx:
            await tx.set_meta("embedder", self.embedder.name)
            await tx.set_meta("embedder_dim", str(self.embedder.dim))

    async def embed_missing(
        self, store: Store, progress: Callable[[int], None] | None = None
    ) -> int:
        """Give every memory of ``store`` a vector from the current embedder; return how many."""
        assert self.embedder is not None
        name = self.embedder.name
        done = 0
        after = 0
        while True:
            page = await store.texts_to_embed(name, after_seq=after, limit=_EMBED_PAGE)
            if not page:
                break
            vectors = await self.embed([text for _, _, text in page])
            async with store.write() as tx:
                await tx.set_embeddings(
                    [(mid, to_blob(v), name) for (_, mid, _), v in zip(page, vectors, strict=True)]
                )
            after = page[-1][0]
            done += len(page)
            if progress is not None:
                progress(len(page))
        await self.record_embedder(store)
        return done

    async def load(self, store: Store) -> None:
        import numpy as np

        assert self.embedder is not None
        await self._mark_before_building(store)
        if neighbour_searcher(store) is not None:
            # The store answers the write path's neighbour searches itself (and recall's,
            # see VectorSearch): nothing to hold here.
            self.searching.add(store)
            return
        dim = self.embedder.dim
        index = VectorIndex(dim)
        after = 0
        while True:
            page = await store.vector_rows(self.embedder.name, after_seq=after)
            if not page:
                break
            rows = []
            blobs = []
            for seq, mid, cat, imp, pinned, created, expires, session, superseded, blob in page:
                del seq
                if len(blob) != dim * 4:
                    raise EmbeddingError(
                        f"{store.label}: memory {mid} has a vector of the wrong size; "
                        "run `memorymesh reembed`"
                    )
                rows.append(
                    IndexRow(
                        id=mid,
                        category=cat,
                        importance=imp,
                        pinned=bool(pinned),
                        created_at=created,
                        expires_at=expires,
                        session_id=session,
                        superseded=bool(superseded),
                    )
                )
                blobs.append(blob)
            matrix = np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(rows), dim)
            index.add(rows, matrix.astype(np.float32))
            after = page[-1][0]
        self.vectors[store] = index

    def warm_lexicon(self, store: Store, texts: int, after: int) -> bool:
        """Count ``texts`` about to be checked against ``store``; True once ``after`` have
        been: this mesh writes enough for an in-memory token index to pay for itself."""
        self.token_lookups[store] = done = self.token_lookups.get(store, 0) + texts
        return done >= after

    async def lexicon(self, store: Store) -> LexicalIndex[str]:
        lexicon = self.lexicons.get(store)
        if lexicon is None:
            # Registered before it is filled, so writes committing meanwhile still land in it.
            lexicon = self.lexicons[store] = LexicalIndex[str]()
            await self._mark_before_building(store)
            after = 0
            while True:
                page = await store.current_texts(after_seq=after)
                if not page:
                    break
                tokens = content_tokens_many(text for _, _, text in page)
                lexicon.add(zip((mid for _, mid, _ in page), tokens, strict=True))
                after = page[-1][0]
        return lexicon

    async def _mark_before_building(self, store: Store) -> None:
        # Read before the rows: a write landing meanwhile is applied again later, harmlessly.
        if store not in self.marks:
            self.marks[store] = await store.change_mark()

    async def catch_up(self, store: Store, tx: StoreTransaction | None = None) -> bool:
        """Apply the writes made to ``store`` since this process's mark (by other processes
        sharing the file, mostly) to its in-memory indexes. Returns whether memories without
        a vector were found: :meth:`embed_missing` should run once no write is open."""
        index = self.vectors.get(store)
        lexicon = self.lexicons.get(store)
        searching = store in self.searching
        if index is None and lexicon is None and not searching:
            return False
        mark = self.marks.get(store, 0)
        source: Store | StoreTransaction = store if tx is None else tx
        changes = await source.changes_since(mark)
        if changes.ids:
            found = apply_changes(
                changes.ids,
                await source.changed_memories(changes.ids),
                everything=changes.everything,
                index=index,
                lexicon=lexicon,
                model=self.embedder_name,
                vectors_elsewhere=searching,
            )
            if found.other_models:
                self.stale[store] = sorted({*self.stale.get(store, ()), *found.other_models})
            path = cache_file(store)
            if found.deleted and index is not None and path is not None:
                # Another process forgot them: if a file was written with them meanwhile
                # (a writer racing that forget), their vectors leave it now, not at a rewrite.
                blank_rows(path, found.deleted, older_than=changes.mark)
        else:
            found = None
        self.marks[store] = changes.mark
        return found is not None and bool(found.unembedded) and (index is not None or searching)

    async def refresh(self, store: Store) -> None:
        """Catch ``store``'s indexes up before a search, embedding what arrived unembedded."""
        await self.ensure([store])
        # A store holding another embedder's vectors waits for `reembed` instead.
        if await self.catch_up(store) and store not in self.stale:
            await self.embed_missing(store)
            await self.catch_up(store)

    async def reembed(
        self, stores: Iterable[Store], progress: Callable[[int], None] | None = None
    ) -> int:
        """Embed every memory of ``stores`` lacking a vector from the embedder; rebuild.
        The count includes what :meth:`open` embedded and no reembed has reported yet."""
        total, self.embedded_on_open = self.embedded_on_open, 0
        for store in stores:
            self.pending.discard(store)
            total += await self.embed_missing(store, progress)
            self.stale.pop(store, None)
            await self.load(store)
            await self._save(store, remap=True)
        return total

    async def backlog(self, stores: Iterable[Store]) -> int:
        """How many memories lack a vector from the embedder (0 without one)."""
        if self.embedder is None:
            return 0
        total = 0
        for store in stores:
            models = await store.embedding_models()
            total += sum(n for m, n in models.items() if m != self.embedder.name)
        return total
