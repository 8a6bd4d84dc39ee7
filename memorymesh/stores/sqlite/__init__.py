"""The SQLite engine: the zero-config default store, one file per scope.

``_store`` (the store itself, over aiosqlite), ``_schema`` (named migrations), ``_crypto``
(encryption at rest), ``_maintenance`` (file checks, ``doctor`` reports, repairs and
backups), ``_sql`` (the statements the store and the one-shot reader share) and
``_oneshot`` (a read-only, synchronous reader for one-shot commands: ``memorymesh list``
and ``stats``), ``_empty`` (knowing a store is still empty without a trip to its thread).

The public names load their module on first use, so a one-shot command that imports one
module of this package does not pay for aiosqlite and pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_names

if TYPE_CHECKING:
    from ._maintenance import (
        KeywordIndexRepair,
        StoreReport,
        backup,
        check_file,
        repair_keyword_index,
    )
    from ._store import SQLiteStore

__all__ = [
    "KeywordIndexRepair",
    "SQLiteStore",
    "StoreReport",
    "backup",
    "check_file",
    "repair_keyword_index",
]

_LAZY = {
    "SQLiteStore": "._store",
    "StoreReport": "._maintenance",
    "backup": "._maintenance",
    "check_file": "._maintenance",
    "KeywordIndexRepair": "._maintenance",
    "repair_keyword_index": "._maintenance",
}

__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
