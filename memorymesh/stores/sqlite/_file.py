"""A store's file made ready before SQLite opens it, refused with the store's own errors.

Kept apart from the store (stdlib and the shared errors only) so a process that opens the
store later, such as the MCP server on its first request, can refuse a bad path at once.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..._errors import CorruptDatabaseError, StoreError, V4StoreError
from ..._paths import NotADatabaseFileError, ReadOnlyFileError, prepare_database_file

__all__ = ["prepare_store_file", "refuse_v4_store"]


def prepare_store_file(path: Path) -> None:
    """:func:`~memorymesh._paths.prepare_database_file` (the folder and a private file made,
    an existing file checked and left untouched), its refusals as a store reports them.

    Raises:
        CorruptDatabaseError: ``path`` exists and cannot be a SQLite database.
        StoreError: ``path`` is read-only, a directory, or cannot be created.
    """
    try:
        prepare_database_file(path)
    except NotADatabaseFileError as exc:
        # The message says why; nothing of SQLite's to chain, it never opened the file.
        raise CorruptDatabaseError(
            f"{path} is not a MemoryMesh store: {exc}; MemoryMesh left it "
            "untouched (if it was a store, `memorymesh doctor` says what is wrong)"
        ) from None
    except ReadOnlyFileError as exc:
        raise StoreError(f"cannot write the store {path}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot create the database at {path}: {exc}") from exc


def refuse_v4_store(path: Path, scope: str) -> None:
    """Refuse a MemoryMesh 4.x store at ``path`` as opening it would (read-only: nothing is
    written), naming the ``memorymesh import-v4`` command for its ``scope``.

    Raises:
        V4StoreError: ``path`` is a 4.x store.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return  # opening it says what is wrong
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        columns = {r[1] for r in conn.execute("PRAGMA table_info(memories)")}
    except sqlite3.Error:
        return
    finally:
        conn.close()
    if "schema_migrations" not in tables and "metadata_json" in columns:
        from ._maintenance import _import_command

        raise V4StoreError(str(path), command=_import_command(path, scope))
