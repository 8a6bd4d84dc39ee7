"""What the engine needs from psycopg: error translation in one place, and vector adapters.

Driver: psycopg 3 (async) with ``psycopg_pool``. Chosen over asyncpg for a first pass because
it binds every value server-side with the same ``%s`` placeholders for any statement,
pipelines ``executemany`` (a batch of inserts is one round trip), has a maintained async pool
(``_store.py`` hands its connections out unchecked and replaces one the server dropped on its
first failed statement) and speaks libpq's URL and environment (``PGPASSWORD``, ``.pgpass``,
``sslmode``) exactly as ``psql`` does. ``benchmarks/bench_pg_drivers.py`` measures both on
this engine's statements: asyncpg is faster (about 3x on a one-memory write transaction, 2-3x
on batch inserts and vector loads; figures in ``docs/benchmarks.md``), so a port to asyncpg is
the first follow-up; everything driver-specific is in this module and ``_store.py``.

Vectors cross the wire in pgvector's binary format (big-endian ``float32`` after a
``dim, 0`` header); MemoryMesh's blobs are little-endian ``float32`` (``search/_vectors.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from psycopg import errors as pg_errors
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo
from psycopg_pool import PoolTimeout

from ..._errors import CorruptDatabaseError, DatabaseLockedError, KeyConflictError, StoreError
from ..base import TransientWriteError
from ._schema import UNIQUE_ITEM_INDEX

__all__ = ["Vector", "register_vector", "translate", "translated"]

_HEADER = struct.Struct(">HH")


class Vector:
    """A MemoryMesh vector blob bound as a pgvector ``vector`` parameter."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes) -> None:
        self.blob = blob


class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> Buffer:
        values = np.frombuffer(obj.blob, dtype="<f4")
        return _HEADER.pack(len(values), 0) + values.astype(">f4").tobytes()


class _VectorBinaryLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> bytes:
        dim = _HEADER.unpack_from(data)[0]
        return np.frombuffer(data, dtype=">f4", count=dim, offset=4).astype("<f4").tobytes()


class _VectorTextLoader(Loader):
    def load(self, data: Buffer) -> bytes:
        text = bytes(data).decode("ascii").strip("[]")
        values = [float(v) for v in text.split(",")] if text else []
        return np.asarray(values, dtype="<f4").tobytes()


async def register_vector(conn: psycopg.AsyncConnection[Any]) -> None:
    """Teach this connection to send and read pgvector's ``vector`` as MemoryMesh blobs."""
    info = await TypeInfo.fetch(conn, "vector")
    if info is None:
        raise StoreError("the pgvector extension is not installed in this database")
    # Known to the connection's type registry too, so a list of vectors binds as vector[]
    # (the write path's batch neighbour search sends a whole batch in one parameter).
    info.register(conn)
    dumper = type("VectorDumper", (_VectorDumper,), {"oid": info.oid})
    conn.adapters.register_dumper(Vector, dumper)
    conn.adapters.register_loader(info.oid, _VectorBinaryLoader)
    conn.adapters.register_loader(info.oid, _VectorTextLoader)


def translate(exc: BaseException, label: str) -> StoreError:
    """The :mod:`memorymesh._errors` type for a driver or pool error."""
    if isinstance(exc, PoolTimeout):
        return StoreError(f"{label}: no connection to the server within the timeout ({exc})")
    message = str(exc).strip()
    if isinstance(exc, pg_errors.DeadlockDetected | pg_errors.SerializationFailure):
        # The server aborted the whole transaction: the write path runs it again.
        return TransientWriteError(f"{label}: a concurrent write conflicted ({message})")
    if isinstance(exc, pg_errors.LockNotAvailable):
        return DatabaseLockedError(
            f"{label}: another writer held this store past the busy timeout ({message})"
        )
    if isinstance(exc, pg_errors.QueryCanceled):
        return StoreError(f"{label}: the statement ran past its timeout and was cancelled")
    if isinstance(exc, pg_errors.DiskFull | pg_errors.OutOfMemory):
        return StoreError(f"{label}: the server is out of space; nothing was written ({message})")
    if isinstance(exc, pg_errors.DataCorrupted | pg_errors.IndexCorrupted):
        return CorruptDatabaseError(f"{label}: the server reports damaged data ({message})")
    if isinstance(exc, pg_errors.InsufficientPrivilege):
        return StoreError(f"{label}: the database role lacks a privilege ({message})")
    if isinstance(exc, pg_errors.UniqueViolation) and (
        getattr(exc.diag, "constraint_name", None) == UNIQUE_ITEM_INDEX
    ):
        return KeyConflictError(f"{label}: another current memory already holds that item")
    if isinstance(exc, pg_errors.UniqueViolation):
        return StoreError(f"{label}: a memory with that id already exists ({message})")
    if isinstance(exc, psycopg.OperationalError):
        return StoreError(
            f"{label}: the server cannot be reached or closed the connection "
            f"({message}); the next call reconnects"
        )
    return StoreError(f"PostgreSQL error on {label}: {message}")


@contextmanager
def translated(label: str) -> Iterator[None]:
    """Raise driver and pool errors inside the block as :class:`StoreError` types."""
    try:
        yield
    except (psycopg.Error, PoolTimeout) as exc:
        raise translate(exc, label) from exc
