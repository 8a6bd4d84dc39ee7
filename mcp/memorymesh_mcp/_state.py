"""The server's lifetime state: the meshes it has open, and which one a request uses.

The lifespan opens one :class:`~memorymesh.AsyncMemoryMesh` on the default stores (the project
found from ``MEMORYMESH_PROJECT_ROOT`` or the working directory, and the global store). When the
client offers MCP roots, a request's project store follows the client's first ``file://`` root
instead: a mesh for that project is opened once, shares the global store, and is closed with
the server. Global memory is the same file for every client and every project.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio

from memorymesh import AsyncMemoryMesh, MemoryMeshError
from memorymesh._config import configured_embedding

from ._limits import MAX_METADATA_BYTES, MAX_TEXT_CHARS

__all__ = ["ProjectStoreError", "ServerState", "root_path"]

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


@dataclass
class ServerState:
    """Everything the tools share for the life of the server."""

    default: AsyncMemoryMesh
    by_project: dict[str, AsyncMemoryMesh] = field(default_factory=dict)
    lock: anyio.Lock = field(default_factory=anyio.Lock)

    @staticmethod
    def open_mesh(path: str | None, global_path: str | None) -> AsyncMemoryMesh:
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
        root = await _client_root(session)
        if root is None:
            return self.default
        store = str((root / ".memorymesh" / "memories.db").resolve())
        if store == self.default.project_path:
            return self.default
        async with self.lock:
            mesh = self.by_project.get(store)
            if mesh is None:
                mesh = self.open_mesh(store, self.default.global_path)
                try:
                    await mesh.open()
                except (MemoryMeshError, OSError) as exc:
                    # Never fall back silently: the memory would land in another project.
                    raise ProjectStoreError(
                        f"cannot open the project store {store} for the client's root {root}: {exc}"
                    ) from exc
                self.by_project[store] = mesh
        return mesh

    async def aclose(self) -> None:
        meshes, self.by_project = list(self.by_project.values()), {}
        for mesh in meshes:
            await mesh.aclose()


async def _client_root(session: Any) -> Path | None:
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
    home = Path.home().resolve()
    for root in result.roots:
        path = root_path(str(root.uri))
        if path is not None and path.is_dir():
            # As in project detection, the home directory itself is never a project.
            return None if path.resolve() == home else path
    return None
