"""The server's lifetime state: the meshes it has open, and which one a request uses.

One :class:`~memorymesh.AsyncMemoryMesh` serves the default stores (the project found from
``MEMORYMESH_PROJECT_ROOT`` or the working directory, and the global store). It is imported
and opened by the first request that needs it, not at start-up, so a client's first
``tools/list`` waits for neither; the start-up only checks that the default store files can
be stores (:func:`check_store_files`), so a bad path still ends the server at once. When the
client offers MCP roots, a request's project store follows the client's first ``file://`` root
that the server may open (see :func:`allowed_root_folders`) and that is a project (it, or a
folder above it inside the allowed one, holds ``.git``, ``.hg`` or an existing ``.memorymesh``):
a client cannot make the server read another project's memories, nor create ``.memorymesh/``
in any folder it names. Roots that fail either test are skipped; with none left the default
project is used, as for a client without roots.

Project meshes share the global store and are kept in a small LRU: at most
``MAX_OPEN_PROJECTS`` stay open, the least recently used idle one is closed when another
opens (a mesh a request is still using is never closed under it), and all close with the
server. Each is entered as ``async with`` would (an exit stack of its own), as the default one
is, so its background work runs while it is open: access statistics written in the
background, and the judge (``MEMORYMESH_JUDGE``) settling uncertain conflicts shortly after a
write. Global memory is the same file for every client and every project.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import anyio

from memorymesh._errors import MemoryMeshError
from memorymesh._paths import STORE_FOLDER, find_project_root

if TYPE_CHECKING:
    from memorymesh import AsyncMemoryMesh

from ._limits import (
    MAX_METADATA_BYTES,
    MAX_OPEN_PROJECTS,
    MAX_TEXT_CHARS,
    MAX_TRACKED_CONNECTIONS,
)

__all__ = [
    "ProjectStoreError",
    "ServerState",
    "allowed_root_folders",
    "check_store_files",
    "request_scope",
    "root_path",
]

#: Folders whose presence makes a client's root a project the server may create a store in.
ROOT_PROJECT_MARKERS = (".git", ".hg", STORE_FOLDER)

#: The releases of the project meshes the current request uses (set by ``request_scope``).
_LEASES: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar(
    "memorymesh_mcp_leases", default=None
)


@asynccontextmanager
async def request_scope() -> AsyncIterator[None]:
    """Hold every project mesh a request uses until the request ends, so the LRU never closes
    a mesh under a running call."""
    token = _LEASES.set([])
    try:
        yield
    finally:
        releases = _LEASES.get() or []
        _LEASES.reset(token)
        for release in releases:
            await release()


def _usable_start(folder: Path) -> bool:
    # The home folder or the filesystem root would allow every project below it.
    return folder != Path.home().resolve() and folder.parent != folder


def allowed_root_folders(configured: Iterable[str | Path] = ()) -> tuple[Path, ...]:
    """The folders a client's roots must lie in (each resolved, symlinks followed).

    ``configured`` (``--allow-root``, ``MEMORYMESH_MCP_ROOTS``) plus the folder the server was
    started for: the client's declared workspace ``MEMORYMESH_PROJECT_ROOT`` (what
    ``memorymesh setup cursor`` writes), else the project found from the working directory the
    client started the server in, else that working directory itself. The home folder and
    ``/`` never count as the start folder: they would allow everything.
    """
    folders = [Path(p).expanduser().resolve() for p in configured]
    env = os.environ.get("MEMORYMESH_MCP_ROOTS", "")
    folders += [Path(p).expanduser().resolve() for p in env.split(os.pathsep) if p.strip()]
    start = find_project_root() or Path.cwd().resolve()
    if _usable_start(start):
        folders.append(start)
    return tuple(dict.fromkeys(folders))


def _project_of(root: Path, allowed: tuple[Path, ...]) -> Path | None:
    """The project a root belongs to, if the server may open it: the nearest folder at or
    above ``root``, still inside an allowed folder, that holds a project marker."""
    try:
        resolved = root.resolve(strict=True)
    except OSError:
        return None
    if not resolved.is_dir():
        return None
    home = Path.home().resolve()
    for folder in allowed:
        if resolved != folder and folder not in resolved.parents:
            continue
        for candidate in (resolved, *resolved.parents):
            if candidate == home:
                break  # as in project detection, the home folder is never a project
            if any((candidate / marker).exists() for marker in ROOT_PROJECT_MARKERS):
                return candidate
            if candidate == folder:
                break
    return None


logger = logging.getLogger("memorymesh_mcp")

# Roots are asked for on each request (they can change), but a client that offers roots and
# then never answers must not stall every tool call for long.
_ROOTS_TIMEOUT = 2.0
# Handshake-era protocol versions, where the server may send roots/list mid-call. From
# 2026-07-28 roots are deprecated and requests carry no back-channel for it.
_HANDSHAKE_PREFIXES = ("2024-", "2025-")


def root_path(uri: str) -> Path | None:
    """The local directory a ``file://`` root URI names, or None for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = Path(unquote(parsed.path))
    return path if path.is_absolute() else None


class ProjectStoreError(MemoryMeshError):
    """The project store of the client's root cannot be opened."""


def check_store_files(path: str | None, global_path: str | None) -> None:
    """Refuse, as opening them would, default store files that cannot be stores (a folder, a
    file that is not SQLite, a read-only one, a 4.x store that ``memorymesh import-v4`` must
    migrate first): the files the mesh would open for ``path`` and
    ``global_path``, made ready as it would make them. Server URLs are left to the first
    request.

    Raises:
        MemoryMeshError: a location or a file the mesh would refuse.
    """
    from memorymesh._paths import IN_MEMORY, default_global_path, project_store_path
    from memorymesh.stores._registry import resolve_location
    from memorymesh.stores.sqlite._file import prepare_store_file, refuse_v4_store

    locations: dict[str, str] = {}
    if path is None:
        root = find_project_root()
        if root is not None:
            locations[str(project_store_path(root))] = "project"
    else:
        locations[resolve_location(path)] = "project"
    glob = resolve_location(global_path) if global_path is not None else str(default_global_path())
    locations.setdefault(glob, "global")
    for location, scope in locations.items():
        if location != IN_MEMORY and "://" not in location:
            prepare_store_file(Path(location))
            refuse_v4_store(Path(location), scope)


@dataclass
class ServerState:
    """Everything the tools share for the life of the server."""

    paths: tuple[str | None, str | None] = (None, None)
    """The default stores (``--db``, ``--global-db``; None: found as the mesh finds them),
    opened by :meth:`default_mesh` on first use."""
    allowed: tuple[Path, ...] = ()
    max_open: int = MAX_OPEN_PROJECTS
    by_project: OrderedDict[str, AsyncMemoryMesh] = field(default_factory=OrderedDict)
    # How each project mesh is left: its `async with`, entered when it opened.
    exits: dict[str, AsyncExitStack] = field(default_factory=dict)
    in_use: dict[str, int] = field(default_factory=dict)
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    # The MemoryMesh session each client connection started by calling session_start, so
    # what it remembers afterwards is linked to that session (the next session's "last time")
    # even when the assistant does not pass the id back. The SDK builds a session object per
    # request; what lasts for a connection is its handshake (`client_params`), so that is the
    # key, held here (so its id is not reused) and bounded like the open project stores.
    sessions: OrderedDict[int, tuple[object, str]] = field(default_factory=OrderedDict)
    # The default mesh once opened, and how it is left (after the project meshes).
    opened: AsyncMemoryMesh | None = None
    opened_exit: AsyncExitStack = field(default_factory=AsyncExitStack)
    opening: anyio.Lock = field(default_factory=anyio.Lock)

    async def default_mesh(self) -> AsyncMemoryMesh:
        """The mesh on the default stores, opened (``async with``) by the first call."""
        if self.opened is not None:
            return self.opened
        async with self.opening:
            if self.opened is None:
                self.opened = await self.opened_exit.enter_async_context(
                    self.open_mesh(*self.paths)
                )
        return self.opened

    def started_session(self, session: Any) -> str | None:
        """The MemoryMesh session this client connection started, if it called session_start."""
        handshake = getattr(session, "client_params", None)
        entry = None if handshake is None else self.sessions.get(id(handshake))
        return entry[1] if entry is not None and entry[0] is handshake else None

    def record_session(self, session: Any, session_id: str) -> None:
        handshake = getattr(session, "client_params", None)
        if handshake is None:  # a stateless request: nothing outlives it to link
            return
        self.sessions[id(handshake)] = (handshake, session_id)
        self.sessions.move_to_end(id(handshake))
        while len(self.sessions) > MAX_TRACKED_CONNECTIONS:
            self.sessions.popitem(last=False)

    @staticmethod
    def open_mesh(path: str | None, global_path: str | None) -> AsyncMemoryMesh:
        from memorymesh import AsyncMemoryMesh
        from memorymesh._config import configured_embedding

        return AsyncMemoryMesh(
            path,
            global_path=global_path,
            # MEMORYMESH_EMBEDDING, config.toml, else the embedder the store recorded.
            embedding=configured_embedding()[0],
            source="mcp",
            max_text_chars=MAX_TEXT_CHARS,
            max_metadata_bytes=MAX_METADATA_BYTES,
        )

    async def mesh_for(self, session: Any) -> AsyncMemoryMesh:
        """The mesh for this request: the client's root project if it offers roots."""
        root = await _client_root(session, self.allowed)
        default = await self.default_mesh()
        if root is None:
            return default
        store = str((root / STORE_FOLDER / "memories.db").resolve())
        if store == default.project_path:
            return default
        async with self.lock:
            mesh = self.by_project.get(store)
            if mesh is None:
                exit_stack = AsyncExitStack()
                try:
                    mesh = await exit_stack.enter_async_context(
                        self.open_mesh(store, default.global_path)
                    )
                except (MemoryMeshError, OSError) as exc:
                    # Never fall back silently: the memory would land in another project.
                    raise ProjectStoreError(
                        f"cannot open the project store {store} for the client's root {root}: {exc}"
                    ) from exc
                self.by_project[store] = mesh
                self.exits[store] = exit_stack
            self.by_project.move_to_end(store)
            leases = _LEASES.get()
            if leases is not None:
                self.in_use[store] = self.in_use.get(store, 0) + 1
                leases.append(lambda: self._release(store))
            await self._evict()
        return mesh

    async def _release(self, store: str) -> None:
        async with self.lock:
            left = self.in_use.get(store, 1) - 1
            if left > 0:
                self.in_use[store] = left
            else:
                self.in_use.pop(store, None)
            await self._evict()

    async def _evict(self) -> None:
        """Close the least recently used idle project meshes beyond ``max_open`` (lock held)."""
        for store in list(self.by_project):
            if len(self.by_project) <= self.max_open:
                return
            if self.in_use.get(store):
                continue  # a request is using it: closed once it is done and still old
            del self.by_project[store]
            await self.exits.pop(store).aclose()

    async def aclose(self) -> None:
        """Leave every project mesh, then the default one (the server's lifespan does, on
        shutdown)."""
        exits, self.exits, self.by_project = list(self.exits.values()), {}, OrderedDict()
        for exit_stack in exits:
            await exit_stack.aclose()
        self.opened = None
        await self.opened_exit.aclose()


async def _client_root(session: Any, allowed: tuple[Path, ...]) -> Path | None:
    capabilities = getattr(session, "client_capabilities", None)
    if capabilities is None or getattr(capabilities, "roots", None) is None:
        return None
    if not str(getattr(session, "protocol_version", "")).startswith(_HANDSHAKE_PREFIXES):
        return None
    try:
        with anyio.fail_after(_ROOTS_TIMEOUT), warnings.catch_warnings():
            # The SDK marks roots deprecated for 2026-07-28; on the handshake protocols this
            # server speaks them on, they are the client's way of naming its workspace.
            warnings.simplefilter("ignore")
            result = await session.list_roots()
    except Exception as exc:  # a client that offers roots but fails to list them
        logger.info("roots/list failed (%s); using the default project", exc)
        return None
    for root in result.roots:
        path = root_path(str(root.uri))
        project = None if path is None else _project_of(path, allowed)
        if project is not None:
            return project
        # A root outside the allowed folders, or not a project: never opened, never created.
        logger.info("ignoring the client's root %s: not a project in %s", root.uri, allowed)
    return None
