"""A store's file made ready before SQLite opens it, refused with the store's own errors.

Kept apart from the store (stdlib and the shared errors only) so a process that opens the
store later, such as the MCP server on its first request, can refuse a bad path at once.
"""

from __future__ import annotations

from pathlib import Path

from ..._errors import CorruptDatabaseError, StoreError
from ..._paths import NotADatabaseFileError, ReadOnlyFileError, prepare_database_file

__all__ = ["prepare_store_file"]


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
