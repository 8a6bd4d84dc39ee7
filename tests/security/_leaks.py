"""Reading a store's files past MemoryMesh, to say which secrets reached the disk in clear."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path


def checkpoint(*dbs: Path) -> None:
    """Fold each database's WAL into the file and truncate it, as a later open would."""
    for db in dbs:
        if db.exists():
            conn = sqlite3.connect(db)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()


def leaked(folders: Iterable[Path], secrets: Iterable[tuple[str, str, str]]) -> list[str]:
    """The formats whose secret is in any file under ``folders`` (database, WAL, backups),
    as written or lower-cased (the keyword index stores folded words)."""
    blobs = [p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()]
    found = []
    for fmt, _, secret in secrets:
        needles = {secret.encode(), secret.lower().encode()}
        if any(needle in blob for needle in needles for blob in blobs):
            found.append(fmt)
    return found
