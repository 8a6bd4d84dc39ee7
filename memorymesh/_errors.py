"""Every error MemoryMesh raises on purpose.

The tree::

    MemoryMeshError                      base of everything below
    ├── InvalidInputError (ValueError)   empty/oversized text, bad importance, non-JSON metadata
    │   ├── InvalidFilterError           a metadata filter key or operator that is not allowed
    │   ├── InjectedContextError         the text is only context MemoryMesh itself injected
    │   ├── TooLargeError                text, metadata or a store value over its size limit
    │   └── SecretDetectedError          a secret found while the privacy guard is set to reject
    ├── InvalidMeshError (TypeError)     an adapter's mesh= is not a MemoryMesh / AsyncMemoryMesh
    ├── MemoryNotFoundError (LookupError) no memory with that id
    ├── StoreError                       SQLite failed (translated in one place, original chained)
    │   ├── DatabaseLockedError          another process held the database past the busy timeout
    │   ├── CorruptDatabaseError         the file is not a healthy SQLite database
    │   ├── SchemaVersionError           the database was written by a newer MemoryMesh
    │   ├── KeyConflictError             another current memory already holds that keyed item
    │   └── V4StoreError                 the file is a MemoryMesh 4.x store (``import-v4`` migrates)
    ├── EmbeddingError                   an embedder failed or returned the wrong shape
    ├── JudgeError                       the conflict judge's model failed or cannot be reached
    ├── EncryptionError                  wrong key, or encrypted data that does not authenticate
    ├── ClosedError (RuntimeError)       the mesh was used after ``aclose()``
    └── BlockingCallError (RuntimeError, asyncio.InvalidStateError)
                                         a sync adapter call on the mesh's own event loop

Each subclass also inherits the built-in exception that fits, so ``except ValueError`` keeps
working for callers who do not know about MemoryMesh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = [
    "BlockingCallError",
    "ClosedError",
    "CorruptDatabaseError",
    "DatabaseLockedError",
    "EmbeddingError",
    "EncryptionError",
    "InjectedContextError",
    "InvalidFilterError",
    "InvalidInputError",
    "InvalidMeshError",
    "JudgeError",
    "KeyConflictError",
    "MemoryMeshError",
    "MemoryNotFoundError",
    "SchemaVersionError",
    "SecretDetectedError",
    "StoreError",
    "TargetExistsError",
    "TooLargeError",
    "V4StoreError",
]


class MemoryMeshError(Exception):
    """Base class of every error MemoryMesh raises on purpose."""


class InvalidInputError(MemoryMeshError, ValueError):
    """The caller passed a value MemoryMesh cannot store or use."""


class TargetExistsError(InvalidInputError, FileExistsError):
    """A file to write exists already and overwriting it was not asked for (``overwrite=True``,
    ``--force`` on the command line)."""


class InvalidFilterError(InvalidInputError):
    """A filter names a key or operator outside the allowlist."""


class InjectedContextError(InvalidInputError):
    """The text is nothing but context MemoryMesh injected, so storing it would duplicate."""


class TooLargeError(InvalidInputError):
    """Text, metadata or a store value is over its size limit (each limit is a setting:
    ``max_text_chars`` / ``max_metadata_bytes`` on the mesh, ``max_value_bytes`` on a
    LangGraph store)."""


class SecretDetectedError(InvalidInputError):
    """The privacy guard found a secret and is configured to reject it."""

    def __init__(self, message: str, *, kinds: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self._kinds = kinds

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of secret found (``"github_token"``, ``"password"``, ...), never the secret.

        An error re-raised with more context (``remember_many`` names the item's index) keeps
        the kinds of the error it chains.
        """
        if self._kinds:
            return self._kinds
        cause = self.__cause__
        return cause.kinds if isinstance(cause, SecretDetectedError) else ()


class InvalidMeshError(MemoryMeshError, TypeError):
    """An adapter was given something other than a ``MemoryMesh`` or ``AsyncMemoryMesh``."""


class MemoryNotFoundError(MemoryMeshError, LookupError):
    """No memory has the given id."""

    def __init__(self, memory_id: str) -> None:
        super().__init__(f"no memory with id {memory_id!r}")
        self.memory_id = memory_id


class StoreError(MemoryMeshError):
    """The SQLite store failed; the original ``sqlite3`` error is chained as ``__cause__``."""


class DatabaseLockedError(StoreError):
    """Another process kept the database locked for longer than the busy timeout."""


class CorruptDatabaseError(StoreError):
    """The database file is damaged or is not a SQLite database."""


class KeyConflictError(StoreError):
    """Another current memory already holds this keyed item (a LangGraph namespace + key).

    Stores keep such items unique (see ``UNIQUE_METADATA_KEYS`` in ``stores/base.py``), so of
    two writers racing to insert one key, the second gets this error and nothing it wrote is
    kept; the adapter then updates the item the first one stored.
    """


class SchemaVersionError(StoreError):
    """The database was migrated by a newer MemoryMesh than this one."""


class V4StoreError(StoreError):
    """The file is a MemoryMesh 4.x store, left untouched; ``memorymesh import-v4`` migrates it.

    Every 4.x user meets this first: 4.x kept its stores at the very paths 5.x uses.
    """

    def __init__(self, path: str, *, command: str = "memorymesh import-v4") -> None:
        super().__init__(
            f"{path} is a MemoryMesh 4.x store; 5.x left it untouched. Migrate it with one "
            f"command: `{command}` (it keeps the 4.x file as a backup beside it, renamed to "
            "*.v4.db, and imports every memory into a new 5.x store there)"
        )
        self.path = path
        self.command = command


class EmbeddingError(MemoryMeshError):
    """The embedder failed, timed out, or returned vectors of the wrong shape."""


class JudgeError(MemoryMeshError):
    """The conflict judge's model failed, timed out or cannot be reached (the pairs it was
    asked about stay queued: nothing is lost)."""


class EncryptionError(MemoryMeshError):
    """Encrypted data could not be decrypted: wrong key or tampered data."""


class ClosedError(MemoryMeshError, RuntimeError):
    """The mesh (or store) has been closed and cannot be used again."""


if TYPE_CHECKING:
    import asyncio

    class BlockingCallError(MemoryMeshError, RuntimeError, asyncio.InvalidStateError):
        """A sync adapter method was called on the event loop the mesh runs on (see below)."""

else:

    def __getattr__(name: str) -> type[Exception]:
        # Made on first use: its asyncio base costs every process that imports this module
        # (every command) ~20 ms to import, and only the sync adapters ever raise it.
        if name != "BlockingCallError":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import asyncio

        class BlockingCallError(MemoryMeshError, RuntimeError, asyncio.InvalidStateError):
            """A sync adapter method was called on the event loop the mesh runs on.

            Blocking there would wait forever for the loop it blocks: await the async method
            (``aput``, ``aget``, ``ainvoke``, ...) instead. Also an ``asyncio.InvalidStateError``,
            which LangGraph's own stores raise in the same situation.
            """

        BlockingCallError.__qualname__ = name  # as if defined at the top: tracebacks, pickle
        # setdefault: two threads asking at once still share one class.
        made: type[Exception] = globals().setdefault(name, BlockingCallError)
        return made
