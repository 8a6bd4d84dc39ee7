"""Which engine serves a store location: plain paths and ``sqlite://`` URLs, or a registered scheme.

``AsyncMemoryMesh("postgresql://...")`` and ``AsyncMemoryMesh("~/notes.db")`` differ only here:
the mesh hands the location and the options to :func:`open_store`, which returns an unopened
:class:`~memorymesh.stores.base.Store`. Third parties add engines with :func:`register_store`,
the way embedders are added with :func:`memorymesh.register_embedder`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from .._errors import InvalidInputError
from .._paths import IN_MEMORY
from .base import Store, StoreOptions

__all__ = [
    "StoreFactory",
    "StoreOptions",
    "holds_both_scopes",
    "open_store",
    "register_store",
    "registered_schemes",
    "resolve_location",
]

# A URL has a scheme of two or more characters before "://"; "C:\\x" is a Windows path.
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")


#: Builds an unopened store for a resolved location (see :func:`resolve_location`).
StoreFactory = Callable[[str, StoreOptions], Store]

_FACTORIES: dict[str, StoreFactory] = {}


def _open_postgres(location: str, options: StoreOptions) -> Store:
    # Imported on first use, so `import memorymesh` never imports the driver.
    from .postgres import open_postgres

    return open_postgres(location, options)


#: Built-in engines for server URLs, registered lazily (the factory imports the engine).
_BUILT_IN: dict[str, StoreFactory] = {"postgresql": _open_postgres, "postgres": _open_postgres}
#: Schemes whose one location (a database) holds both scopes, kept apart by tenant key.
_SHARED_SCHEMES: frozenset[str] = frozenset(_BUILT_IN)
_FACTORIES.update(_BUILT_IN)


def register_store(scheme: str, factory: StoreFactory) -> None:
    """Serve locations of the form ``scheme://...`` with ``factory``.

    Raises:
        InvalidInputError: ``scheme`` is not a URL scheme, or is ``sqlite`` (built in).
    """
    if not isinstance(scheme, str) or not _URL.match(f"{scheme}://"):
        raise InvalidInputError(f"{scheme!r} is not a URL scheme")
    if scheme.lower() == "sqlite":
        raise InvalidInputError("the sqlite scheme is built in and cannot be replaced")
    _FACTORIES[scheme.lower()] = factory


def registered_schemes() -> list[str]:
    """Every scheme a location may use, ``sqlite`` first."""
    return ["sqlite", *sorted(_FACTORIES)]


def holds_both_scopes(location: str) -> bool:
    """Whether one resolved ``location`` serves the project and the global store apart (a
    shared server database, where each store is a tenant), so it may be given for both."""
    match = _URL.match(location)
    return match is not None and match["scheme"].lower() in _SHARED_SCHEMES


def _sqlite_path(location: str) -> str:
    # SQLAlchemy's spelling, which people know: sqlite:///relative.db, sqlite:////abs.db,
    # and sqlite:// or sqlite:///:memory: for a store that lives in memory only.
    rest = location[len("sqlite://") :]
    if rest in ("", "/", "/" + IN_MEMORY):
        return IN_MEMORY
    if not rest.startswith("/"):
        raise InvalidInputError(
            f"{location!r}: write sqlite:///relative/path or sqlite:////absolute/path"
        )
    return rest[1:]


def resolve_location(location: str | os.PathLike[str]) -> str:
    """The canonical form of a store location: an absolute file path, ``":memory:"`` or a URL.

    Two locations that resolve to the same string are the same store.

    Raises:
        InvalidInputError: a URL whose scheme no engine serves.
    """
    text = os.fspath(location)
    match = _URL.match(text)
    if match is not None:
        scheme = match["scheme"].lower()
        if scheme != "sqlite":
            if scheme not in _FACTORIES:
                raise InvalidInputError(
                    f"no store engine for {scheme}:// locations; known: "
                    f"{', '.join(registered_schemes())} (install the extra that provides it, "
                    "or register_store() your own)"
                )
            return text
        text = _sqlite_path(text)
    return text if text == IN_MEMORY else str(Path(text).expanduser().resolve())


def open_store(location: str | os.PathLike[str], options: StoreOptions) -> Store:
    """An unopened store for ``location``: a file path or ``sqlite://`` URL, or a registered
    scheme's URL.

    Raises:
        InvalidInputError: an unknown scheme or a malformed location.
    """
    resolved = resolve_location(location)
    match = _URL.match(resolved)
    if match is None:
        return _open_sqlite(resolved, options)
    return _FACTORIES[match["scheme"].lower()](resolved, options)


def _open_sqlite(path: str, options: StoreOptions) -> Store:
    from .sqlite import SQLiteStore
    from .sqlite._crypto import EncryptionKey

    return SQLiteStore(
        path,
        scope=options.scope,
        busy_timeout_ms=int(options.busy_timeout * 1000),
        encryption_key=EncryptionKey.of(options.encryption_key),
    )
