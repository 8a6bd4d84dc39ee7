"""The vector cache file beside a store: a new process maps it instead of reading every row.

Each test compares a mesh whose index came from the file (``<db>-vectors``) against one that
rebuilt its index from the database after the file was removed: the file must change how
fast a process opens, never what it finds.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from _embedders import HashEmbedder

import memorymesh.writes._indexes
from memorymesh import AsyncMemoryMesh, Category
from memorymesh.search._vector_file import FileKey, cache_path, read_index, write_index
from memorymesh.search._vectors import VectorFilter

pytestmark = pytest.mark.anyio

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]
QUERIES = ["alpha bravo", "charlie delta echo", "golf hotel", "kilo lima alpha", "india"]


@pytest.fixture(autouse=True)
def _rewrite_small(monkeypatch: pytest.MonkeyPatch) -> None:
    # A closing process rewrites the file after this many changed rows (1,000 by default):
    # small stores here, so every close rewrites it.
    monkeypatch.setattr(memorymesh.writes._indexes, "_REWRITE_MIN", 1)


def _mesh(project_db: Path, global_db: Path, **kw: object) -> AsyncMemoryMesh:
    kw.setdefault("embedding", HashEmbedder())
    return AsyncMemoryMesh(project_db, global_path=global_db, **kw)  # type: ignore[arg-type]


def _items(n: int, offset: int = 0) -> list[dict[str, object]]:
    cats = ["decision", "pattern", "context"]
    return [
        {
            "text": " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(3)) + f" note{i}",
            "category": cats[i % 3],
            "importance": (i % 10) / 10,
            "session_id": "s1" if i % 4 == 0 else None,
            "scope": "project",
        }
        for i in range(offset, offset + n)
    ]


FILTERS = [
    VectorFilter(),
    VectorFilter(categories=(Category.DECISION,)),
    VectorFilter(session_id="s1"),
    VectorFilter(min_importance=0.5),
    VectorFilter(categories=(Category.PATTERN,), min_importance=0.3),
    VectorFilter(include_superseded=True),
]


async def _answers(mesh: AsyncMemoryMesh) -> list[list[tuple[float, str]]]:
    """The index's exact answers to each query under each filter (the recall scores add
    access counts, which the queries themselves change)."""
    store = mesh.stores[0]
    await mesh._indexes.refresh(store)
    index = mesh._indexes.vectors[store]
    queries = await mesh._indexes.embed(QUERIES)
    out = []
    for f in FILTERS:
        # Every row that passes (k beyond the store), in a tie-free order: the same rows
        # with the same cosines, or the file changed an answer.
        now = time.time()
        every = index.search(queries, 1000, f, now=now)
        for hits in every:
            out.append(sorted((-round(score, 5), mid) for mid, score in hits))
        # A conflict check's threshold search (over the file's whole product at once when
        # mapped, block by block when not) finds exactly the rows scoring that high.
        close = index.search(queries, 1000, f, now=now, min_score=_CLOSE)
        for hits, near in zip(every, close, strict=True):
            assert sorted(near) == sorted((m, s) for m, s in hits if s >= _CLOSE)
            out.append(sorted((-round(score, 5), mid) for mid, score in near))
    return out


_CLOSE = 0.3


async def _rebuilt(project_db: Path, global_db: Path) -> list[list[tuple[float, str]]]:
    """What a process finds with its index rebuilt from the database."""
    saved = cache_path(project_db).read_bytes() if cache_path(project_db).exists() else None
    cache_path(project_db).unlink(missing_ok=True)
    async with _mesh(project_db, global_db) as mesh:
        assert mesh.stores[0] in mesh._indexes.pending  # no file: built from the rows
        found = await _answers(mesh)
    if saved is not None:
        cache_path(project_db).write_bytes(saved)
    return found


def _mapped(mesh: AsyncMemoryMesh) -> bool:
    index = mesh._indexes.vectors.get(mesh.stores[0])
    return index is not None and index._file_sorted is not None


async def test_a_new_process_maps_the_file_and_applies_what_others_wrote_since(
    project_db: Path, global_db: Path
) -> None:
    async with _mesh(project_db, global_db) as a:
        written = await a.remember_many(_items(40))
    assert cache_path(project_db).exists()
    key_file = cache_path(project_db).read_bytes()
    # Another process writes, forgets, supersedes and edits; its changes stay in the feed
    # (the file is put back as it was, so it lags behind the store).
    async with _mesh(project_db, global_db) as b:
        await b.remember_many(_items(10, offset=40))
        await b.forget(written[0].id)
        await b.update(written[1].id, category="pattern", importance=0.95)
        await b.remember("alpha bravo charlie updated wording", category="decision")
        await b.update(written[2].id, text="kilo lima replaced wording")
    cache_path(project_db).write_bytes(key_file)
    async with _mesh(project_db, global_db) as c:
        assert _mapped(c)
        from_file = await _answers(c)
        ids = {mid for hits in from_file for _, mid in hits}
    assert written[0].id not in ids
    assert from_file == await _rebuilt(project_db, global_db)


async def test_a_damaged_or_truncated_file_is_rebuilt_not_trusted(
    project_db: Path, global_db: Path
) -> None:
    async with _mesh(project_db, global_db) as a:
        await a.remember_many(_items(30))
    expected = await _rebuilt(project_db, global_db)
    good = cache_path(project_db).read_bytes()
    damaged = [
        good[: len(good) // 2],  # truncated
        good[:20] + bytes(b ^ 0xFF for b in good[20:60]) + good[60:],  # header bytes
        b"",  # empty
        b"MMVECS01" + b"\xff" * 8,  # absurd header length
        good + b"\0" * 64,  # too long for its header
    ]
    for bad in damaged:
        cache_path(project_db).write_bytes(bad)
        async with _mesh(project_db, global_db) as mesh:
            assert not _mapped(mesh) or bad == good
            assert await _answers(mesh) == expected
        # The process that needed vectors wrote a good file again.
        async with _mesh(project_db, global_db) as mesh:
            assert _mapped(mesh)
            assert await _answers(mesh) == expected


async def test_a_file_for_another_embedder_or_database_is_ignored(
    project_db: Path, global_db: Path, tmp_path: Path
) -> None:
    async with _mesh(project_db, global_db) as a:
        await a.remember_many(_items(30))
        index = a._indexes.vectors[a.stores[0]]
        token = await a.stores[0].get_meta("vectors_file")
        assert token
    expected = await _rebuilt(project_db, global_db)
    path = cache_path(project_db)
    newest = 10**9
    for key in (
        FileKey("test:other-model", 64, token),
        FileKey("test:hash", 32, token),
        FileKey("test:hash", 64, "another-database"),
    ):
        write_index(index, path, key, 1)
        # A good file, only not for this store and embedder (a 32-d header over 64-d rows
        # does not even add up).
        assert (read_index(path, key, newest) is not None) == (key.dim == 64)
        async with _mesh(project_db, global_db) as mesh:
            assert mesh.stores[0] in mesh._indexes.pending  # the file was not taken
            assert await _answers(mesh) == expected
    # A file claiming a mark beyond the store's (the database was replaced) is ignored too.
    write_index(index, path, FileKey("test:hash", 64, token), newest)
    async with _mesh(project_db, global_db) as mesh:
        assert mesh.stores[0] in mesh._indexes.pending
        assert await _answers(mesh) == expected


async def test_forgotten_memories_leave_the_file(project_db: Path, global_db: Path) -> None:
    async with _mesh(project_db, global_db) as a:
        written = await a.remember_many(_items(30))
    async with _mesh(project_db, global_db) as b:
        assert _mapped(b)
        await b.forget(written[3].id)
        await b.forget_many([written[4].id])
    raw = cache_path(project_db).read_bytes()
    assert written[3].id.encode() not in raw and written[4].id.encode() not in raw
    assert written[5].id.encode() in raw
    # A process without vectors cannot rewrite the file: it removes it.
    async with AsyncMemoryMesh(project_db, global_path=global_db) as keyword_only:
        await keyword_only.forget(written[5].id)
    assert not cache_path(project_db).exists()
    async with _mesh(project_db, global_db) as c:
        ids = {mid for hits in await _answers(c) for _, mid in hits}
    assert not ids & {written[3].id, written[4].id, written[5].id}
    assert cache_path(project_db).exists()


async def test_a_forgotten_vector_leaves_the_file_at_once(
    project_db: Path, global_db: Path
) -> None:
    """Not at the forgetting process's next write or close: it may never come (a crash, a
    server that runs for weeks)."""
    async with _mesh(project_db, global_db) as a:
        written = await a.remember_many(_items(30))
    async with _mesh(project_db, global_db) as b:
        assert _mapped(b)
        index = b._indexes.vectors[b.stores[0]]
        ids = [written[3].id, written[4].id, written[5].id]
        blobs = [index.vectors([mid]).tobytes() for mid in ids]
        raw = cache_path(project_db).read_bytes()
        assert all(blob in raw for blob in blobs)
        await b.forget(ids[0])
        await b.forget_many([ids[1]])
        raw = cache_path(project_db).read_bytes()
        assert blobs[0] not in raw and blobs[1] not in raw
        assert blobs[2] in raw  # the others stay
        # A process opening the file meanwhile finds neither, and the rest as before.
        async with _mesh(project_db, global_db) as c:
            assert _mapped(c)
            found = {mid for hits in await _answers(c) for _, mid in hits}
        assert ids[2] in found and not found & set(ids[:2])
        assert await b.recall("alpha bravo", k=30, mode="vector")


async def test_a_forget_seen_in_the_feed_blanks_a_file_written_without_it(
    project_db: Path, global_db: Path
) -> None:
    """A writer that renames its file over the store's while another process forgets puts
    the vector back on disk; the next process to read the forget in the feed blanks it."""
    async with _mesh(project_db, global_db) as a:
        written = await a.remember_many(_items(30))
    racing = cache_path(project_db).read_bytes()  # what a writer still holding it renames in
    async with _mesh(project_db, global_db) as a, _mesh(project_db, global_db) as b:
        index = a._indexes.vectors[a.stores[0]]
        blob = index.vectors([written[7].id]).tobytes()
        await b.forget(written[7].id)
        cache_path(project_db).write_bytes(racing)
        assert blob in cache_path(project_db).read_bytes()
        hits = await a.recall("alpha bravo charlie", k=30, mode="vector")  # a catches up
        assert written[7].id not in {h.memory.id for h in hits}
        assert blob not in cache_path(project_db).read_bytes()


async def test_opening_reads_no_vectors_until_one_is_needed(
    project_db: Path, global_db: Path
) -> None:
    async with _mesh(project_db, global_db) as a:
        await a.remember_many(_items(10))
    cache_path(project_db).unlink()
    async with _mesh(project_db, global_db) as mesh:
        store = mesh.stores[0]
        assert store in mesh._indexes.pending and store not in mesh._indexes.vectors
        assert len(await mesh.recall("alpha", mode="keyword", k=3)) == 3
        assert store in mesh._indexes.pending
        assert len(await mesh.recall("alpha", mode="vector", k=3)) == 3
        assert store not in mesh._indexes.pending
    assert cache_path(project_db).exists()


async def test_an_encrypted_store_keeps_its_texts_out_of_the_file(tmp_path: Path) -> None:
    kw = {"encryption_key": "correct horse battery staple", "embedding": HashEmbedder()}
    db = tmp_path / "p.db"
    async with _mesh(db, tmp_path / "g.db", **kw) as a:
        await a.remember_many(_items(20))
        secret = await a.remember("the vault combination is zanzibar", category="decision")
    raw = cache_path(db).read_bytes()
    assert b"zanzibar" not in raw and b"vault" not in raw
    assert secret.id.encode() in raw  # ids are clear in the database too
    async with _mesh(db, tmp_path / "g.db", **kw) as b:
        assert _mapped(b)
        hits = await b.recall("vault combination zanzibar", mode="vector", k=1)
        assert hits[0].memory.id == secret.id
