"""The SQLite engine: the zero-config default store, one file per scope.

``_store`` (the store itself, over aiosqlite), ``_schema`` (named migrations), ``_crypto``
(encryption at rest) and ``_maintenance`` (file checks, ``doctor`` reports and backups).
"""

from ._maintenance import StoreReport, backup, check_file
from ._store import SQLiteStore

__all__ = ["SQLiteStore", "StoreReport", "backup", "check_file"]
