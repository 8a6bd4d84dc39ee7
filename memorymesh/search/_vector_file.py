"""The vector index cache file beside a SQLite store: opened by memory map, not rebuilt.

Building the in-memory :class:`VectorIndex` reads every row of the store, so opening would
cost more as the store grows. Instead a process writes the index to ``<db>-vectors`` and the
next process maps it: the float32 matrix and the per-row filter columns are views of the
file (copy-on-write, so in-place changes stay private to the process), and ids are decoded
only for the hits a search keeps. The file records the change-feed mark it reflects; the
opener applies the feed since that mark, as a long-lived process catches up with others.

Layout (little-endian): ``MMVECS01``, the header's length (u64), the header as JSON, then at
64-byte boundaries: the matrix (n x dim float32, rows grouped by category), importance f32,
pinned u8, created f64, expires f64, session i32, active u8, ids (fixed-width bytes), the
ids sorted, and their row positions (i64). The header names the embedder, dim, store token,
mark, per-category row counts, session names, id width, and a CRC32 of itself.

A file is used only when everything matches: magic, a header that parses and checks, the
exact size the header implies, the embedder and dim, the store's token (so a file left by
another database is ignored) and a mark not beyond the store's. Anything else means "no
file": the index is rebuilt from the store and written again. A writer writes a new file
and renames it over the old one, so a reader maps either the old or the new file, never a
torn one; processes that mapped the old file keep their view of it.

What the file holds is what the database already keeps in clear on an encrypted store too
(vectors, ids, category, importance, times, session ids): see docs/security.md.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._vectors import FileIds, VectorIndex, _Block

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["FileKey", "blank_rows", "cache_path", "read_index", "write_index"]

_MAGIC = b"MMVECS01"
_VERSION = 1
_ALIGN = 64
#: Per-row columns after the matrix: (name, numpy dtype).
_COLUMNS = (
    ("importance", "<f4"),
    ("pinned", "?"),
    ("created", "<f8"),
    ("expires", "<f8"),
    ("session", "<i4"),
    ("active", "?"),
)


def cache_path(db: Path) -> Path:
    """Where a store's vector cache lives: beside the database, as ``<db>-vectors``."""
    return db.with_name(db.name + "-vectors")


@dataclass(frozen=True, slots=True)
class FileKey:
    """What a cache file must match to be used."""

    model: str
    dim: int
    token: str


def _aligned(offset: int) -> int:
    return -(-offset // _ALIGN) * _ALIGN


Section = tuple[int, str, tuple[int, ...]]


def _sections(n: int, dim: int, width: int, start: int) -> dict[str, Section]:
    """Offset, dtype and shape of each section, from where the data starts."""
    out: dict[str, Section] = {}
    at = start
    parts = [("matrix", "<f4", (n, dim)), *((name, dt, (n,)) for name, dt in _COLUMNS)]
    parts += [("ids", f"S{width}", (n,)), ("sorted", f"S{width}", (n,)), ("order", "<i8", (n,))]
    import numpy as np

    for name, dtype, shape in parts:
        at = _aligned(at)
        out[name] = (at, dtype, shape)
        size = int(np.dtype(dtype).itemsize)
        for d in shape:
            size *= d
        at += size
    out["end"] = (at, "", ())
    return out


def write_index(index: VectorIndex, path: Path, key: FileKey, mark: int) -> None:
    """Write ``index`` as the cache file at ``path`` reflecting the store up to ``mark``:
    to a new file renamed over the old one (a reader never sees it half-written)."""
    import numpy as np

    blocks = index.blocks()
    n = sum(b.n for _, b in blocks)
    ids = [block.ids[at] for _, block in blocks for at in range(block.n)]
    width = max((len(i.encode()) for i in ids), default=1)
    id_array = (
        np.array([i.encode() for i in ids], dtype=f"S{width}")
        if ids
        else np.zeros(0, dtype=f"S{width}")
    )
    order = np.argsort(id_array, kind="stable").astype("<i8")
    header: dict[str, Any] = {
        "version": _VERSION,
        "model": key.model,
        "dim": key.dim,
        "token": key.token,
        "mark": mark,
        "n": n,
        "width": width,
        "categories": [[category, block.n] for category, block in blocks],
        "sessions": index.session_names(),
    }
    body = json.dumps(header, separators=(",", ":")).encode()
    head = body + struct.pack("<I", zlib.crc32(body))
    start = len(_MAGIC) + 8 + len(head)
    sections = _sections(n, key.dim, width, start)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:

            def put(name: str, parts: list[npt.NDArray[Any]]) -> None:
                out.write(b"\0" * (sections[name][0] - out.tell()))
                for part in parts:
                    # Block by block: never a copy of the whole matrix in memory.
                    out.write(np.ascontiguousarray(part, dtype=sections[name][1]).tobytes())

            out.write(_MAGIC + struct.pack("<Q", len(head)) + head)
            put("matrix", [b.matrix[: b.n] for _, b in blocks])
            for name, _ in _COLUMNS:
                put(name, [getattr(b, name)[: b.n] for _, b in blocks])
            put("ids", [id_array])
            put("sorted", [id_array[order]])
            put("order", [order])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _header(f: BinaryIO) -> tuple[dict[str, Any], int, int] | None:
    """The header of an open cache file (checked: magic, length, checksum), where its data
    starts and the file's size; None for anything else."""
    lead = f.read(len(_MAGIC) + 8)
    if len(lead) != len(_MAGIC) + 8 or lead[: len(_MAGIC)] != _MAGIC:
        return None
    (length,) = struct.unpack("<Q", lead[len(_MAGIC) :])
    if length < 4 or length > 1 << 30:
        return None
    head = f.read(length)
    size = os.fstat(f.fileno()).st_size
    if len(head) != length:
        return None
    body, crc = head[:-4], struct.unpack("<I", head[-4:])[0]
    if zlib.crc32(body) != crc:
        return None
    try:
        header = json.loads(body)
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    return header, len(_MAGIC) + 8 + length, size


def _view(
    mapped: npt.NDArray[np.uint8], sections: dict[str, Section], name: str
) -> npt.NDArray[Any]:
    """One section of a mapped file as an array of its dtype and shape (no copy)."""
    import numpy as np

    offset, dtype, shape = sections[name]
    count = 1
    for d in shape:
        count *= d
    width_bytes = np.dtype(dtype).itemsize * count
    raw = mapped[offset : offset + width_bytes].view(np.ndarray)
    return raw.view(dtype).reshape(shape)


def read_index(path: Path, key: FileKey, newest_mark: int) -> tuple[VectorIndex, int] | None:
    """Map the cache file at ``path`` as an index and the mark it reflects, or None when
    it is missing, damaged, or not for this store, embedder or mark."""
    import numpy as np

    try:
        with open(path, "rb") as f:
            found = _header(f)
    except OSError:
        return None
    if found is None:
        return None
    header, start, size = found
    try:
        n, width, mark = int(header["n"]), int(header["width"]), int(header["mark"])
        categories = [(str(c), int(count)) for c, count in header["categories"]]
        sessions = [str(s) for s in header["sessions"]]
        matches = (
            header["version"] == _VERSION
            and header["model"] == key.model
            and int(header["dim"]) == key.dim
            and header["token"] == key.token
        )
    except (ValueError, KeyError, TypeError):
        return None
    if not matches or mark > newest_mark or n < 0 or width < 1:
        return None
    if sum(count for _, count in categories) != n or any(c < 0 for _, c in categories):
        return None
    sections = _sections(n, key.dim, width, start)
    if sections["end"][0] != size:
        return None
    if n == 0:
        return VectorIndex(key.dim), mark
    try:
        mapped = np.memmap(path, dtype=np.uint8, mode="c")
    except (OSError, ValueError):
        return None

    def view(name: str) -> npt.NDArray[Any]:
        return _view(mapped, sections, name)

    matrix = view("matrix")
    columns = {name: view(name) for name, _ in _COLUMNS}
    ids = view("ids")
    blocks: list[tuple[str, _Block]] = []
    start = 0
    for category, count in categories:
        stop = start + count
        block = _Block.mapped(
            matrix[start:stop],
            {name: column[start:stop] for name, column in columns.items()},
            FileIds(ids[start:stop]),
        )
        blocks.append((category, block))
        start = stop
    index = VectorIndex(key.dim)
    order: np.ndarray[Any, np.dtype[np.int64]] = view("order")
    index.map_file(matrix, blocks, sessions, view("sorted"), order)
    return index, mark


def blank_rows(path: Path, ids: Iterable[str], *, older_than: int | None = None) -> int:
    """Zero the vectors of ``ids`` in the cache file at ``path``, in place; return how many
    rows were blanked.

    A forgotten memory's vector must not stay on disk until a process rewrites the file
    (at its next write or close, or never if it crashes): the process that deletes it, and
    every process that learns of the deletion from the change feed, blanks its row in
    whatever file is at ``path`` now. The file stays valid and keeps its mark: a process
    mapping it still applies the feed since then, which removes the row from its index
    before any search (until then the row would score 0). Only the vector changes: the
    per-row columns stay as the processes that mapped the file counted them (their
    superseded and expiring counts decide which masks a search applies). Processes that
    mapped the file see the blank too, in the pages they have not written to themselves (a
    copy-on-write mapping shares the file's pages until then); the rows they changed are
    already theirs.
    A missing or unreadable file blanks nothing, and so does one whose mark is not below
    ``older_than`` (when given): written after the deletion was seen, it cannot hold the
    deleted rows, and a row it holds under such an id is a memory put back since.
    """
    import numpy as np

    wanted = sorted({memory_id.encode() for memory_id in ids})
    if not wanted:
        return 0
    try:
        with open(path, "r+b") as f:
            found = _header(f)
            if found is None:
                return 0
            header, start, size = found
            try:
                n, width, dim = int(header["n"]), int(header["width"]), int(header["dim"])
                mark = int(header["mark"])
            except (ValueError, KeyError, TypeError):
                return 0
            if n <= 0 or width < 1 or dim < 1:
                return 0
            if older_than is not None and mark >= older_than:
                return 0
            sections = _sections(n, dim, width, start)
            if sections["end"][0] != size:
                return 0
            mapped = np.memmap(f, dtype=np.uint8, mode="r+")
            try:
                sorted_ids = _view(mapped, sections, "sorted")
                order = _view(mapped, sections, "order")
                matrix = _view(mapped, sections, "matrix")
                # An id longer than the file's ids is not in it (and must not match cut short).
                keys = np.array([k for k in wanted if len(k) <= width], dtype=f"S{width}")
                at = np.searchsorted(sorted_ids, keys)
                inside = at < n
                hit = np.zeros(len(keys), dtype=bool)
                hit[inside] = sorted_ids[at[inside]] == keys[inside]
                rows = order[at[hit]]
                rows = rows[(rows >= 0) & (rows < n)]  # a damaged order section: skip
                if len(rows):
                    matrix[rows] = 0
                    mapped.flush()
                return len(rows)
            finally:
                del mapped
    except (OSError, ValueError):
        return 0
