"""The SQLite engine: the zero-config default store, one file per scope.

``_store`` (the store itself, over aiosqlite), ``_schema`` (named migrations), ``_crypto``
(encryption at rest) and ``_maintenance`` (file checks, ``doctor`` reports, repairs and
backups).
"""

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
