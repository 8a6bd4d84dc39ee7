"""How framework adapters reach an ``AsyncMemoryMesh`` from sync and async callers alike.

An ``AsyncMemoryMesh`` belongs to the event loop it was opened on. Adapters call it directly
from async code on that loop; their sync methods go back to that loop through anyio's
``from_thread`` machinery (an event loop token taken when the adapter was built), or through a
``BlockingPortal`` the caller passes when the mesh lives in a portal's loop (as in sync scripts
and notebooks). Never a thread pool around the sync facade: there is one implementation.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Awaitable, Callable
from functools import partial
from typing import ParamSpec, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread
from anyio.from_thread import BlockingPortal

from ._errors import BlockingCallError, InvalidMeshError
from ._mesh import AsyncMemoryMesh
from ._sync import MemoryMesh

__all__ = ["MeshBridge", "MeshLike", "adapt_mesh", "mesh_by_token", "mesh_token"]

#: What every adapter's ``mesh=`` accepts.
MeshLike = AsyncMemoryMesh | MemoryMesh

P = ParamSpec("P")
T = TypeVar("T")


def adapt_mesh(
    mesh: object, portal: BlockingPortal | None = None
) -> tuple[AsyncMemoryMesh, BlockingPortal | None]:
    """The async mesh and portal an adapter runs on, from what the caller passed as ``mesh=``.

    A sync :class:`~memorymesh.MemoryMesh` brings its own: the async mesh it drives and the
    portal whose loop that mesh lives in, so sync users never assemble the pair themselves.

    Raises:
        InvalidMeshError: ``mesh`` is neither kind of mesh, or a ``MemoryMesh`` came with a
            different ``portal``.
    """
    if isinstance(mesh, MemoryMesh):
        if portal is not None and portal is not mesh.portal:
            raise InvalidMeshError(
                "a MemoryMesh runs on its own portal; pass portal= only with an AsyncMemoryMesh"
            )
        return mesh.async_mesh, mesh.portal
    if isinstance(mesh, AsyncMemoryMesh):
        return mesh, portal
    raise InvalidMeshError(
        f"mesh= must be a MemoryMesh or an AsyncMemoryMesh, not {type(mesh).__name__}; "
        "open one with `MemoryMesh()` (sync code) or `async with AsyncMemoryMesh() as mesh:`"
    )


# Pickling an adapter: a mesh is a live connection on one event loop, so a pickled adapter
# carries a token naming the open mesh it used, valid in the process that made it.
_TOKENS: weakref.WeakKeyDictionary[AsyncMemoryMesh, str] = weakref.WeakKeyDictionary()
_MESHES: weakref.WeakValueDictionary[str, AsyncMemoryMesh] = weakref.WeakValueDictionary()
_PORTALS: dict[str, BlockingPortal | None] = {}


def mesh_token(mesh: AsyncMemoryMesh, portal: BlockingPortal | None) -> str:
    """A token that :func:`mesh_by_token` turns back into ``mesh`` and ``portal``, in this
    process, while the mesh is open (what a pickled adapter carries instead of the mesh)."""
    token = _TOKENS.get(mesh)
    if token is None:
        token = uuid.uuid4().hex
        _TOKENS[mesh] = token
        _MESHES[token] = mesh
    _PORTALS[token] = portal
    return token


def mesh_by_token(token: str) -> tuple[AsyncMemoryMesh, BlockingPortal | None]:
    """The open mesh and portal :func:`mesh_token` named.

    Raises:
        InvalidMeshError: the mesh is gone: closed, or the token comes from another process.
    """
    mesh = _MESHES.get(token)
    if mesh is None or mesh.closed:
        raise InvalidMeshError(
            "this adapter was pickled with a mesh that is not open in this process: an "
            "adapter can be unpickled (copied, cached) only where its mesh is still open; "
            "elsewhere build a new one with mesh="
        )
    return mesh, _PORTALS.get(token)


class MeshBridge:
    """Runs ``AsyncMemoryMesh`` coroutines for an adapter, from sync or async callers.

    Args:
        mesh: The open mesh the adapter works on: an ``AsyncMemoryMesh``, or a sync
            ``MemoryMesh`` (whose async mesh and portal are used).
        portal: A blocking portal whose event loop an ``AsyncMemoryMesh`` belongs to. Without
            one, the adapter must be built inside the mesh's event loop (``async with`` block)
            so its sync methods can find their way back to it.

    Raises:
        InvalidMeshError: ``mesh`` is not a mesh (see :func:`adapt_mesh`).
    """

    def __init__(self, mesh: MeshLike, portal: BlockingPortal | None = None) -> None:
        self.mesh, portal = adapt_mesh(mesh, portal)
        self.portal = portal
        self._token: anyio.lowlevel.EventLoopToken | None = None
        if portal is None:
            try:
                self._token = anyio.lowlevel.current_token()
            except RuntimeError:
                self._token = None

    async def acall(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``fn`` on the mesh's event loop (directly, unless the mesh lives in a portal)."""
        if self.portal is None:
            return await fn(*args, **kwargs)
        # The mesh belongs to the portal's loop: hop there without blocking this loop.
        call = partial(self.portal.call, partial(fn, *args, **kwargs))
        return await anyio.to_thread.run_sync(call)

    def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` to completion from sync code and return its result.

        Raises:
            BlockingCallError: called on the mesh's own event loop thread (use the async
                method); a ``RuntimeError`` and an ``asyncio.InvalidStateError``.
            RuntimeError: the adapter has no way back to the mesh's loop.
        """
        bound: Callable[[], Awaitable[T]] = partial(fn, *args, **kwargs)
        if self.portal is not None:
            return self.portal.call(bound)
        if self._token is None:
            raise RuntimeError(
                "this adapter was built outside an event loop, so its sync methods cannot "
                "reach the mesh: build it inside `async with AsyncMemoryMesh() as mesh:`, "
                "or pass portal= (an anyio BlockingPortal the mesh was opened in)"
            )
        if _on_loop_thread():
            # Blocking here would wait forever for the very loop this call is blocking.
            raise BlockingCallError(
                "a sync MemoryMesh adapter method was called from async code, on the event "
                "loop the mesh runs on: await the async method (aput, ainvoke, ...) instead"
            )
        return anyio.from_thread.run(_await, bound, token=self._token)


def _on_loop_thread() -> bool:
    try:
        anyio.lowlevel.current_token()
    except RuntimeError:
        return False
    return True


async def _await(bound: Callable[[], Awaitable[T]]) -> T:
    return await bound()
