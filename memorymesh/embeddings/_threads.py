"""Thread pools sized on purpose when the local model shares the CPU with numpy.

The ``local`` embedder runs torch, whose intra-op pool takes every core, in the same process as
numpy, whose BLAS (OpenBLAS) takes every core too for MemoryMesh's matrix products (the vector
scan, conflict similarities). Each pool's threads spin for a while after their work, so on a
small machine the two fight: with two cores, recall's embedding plus scan and a single
``remember`` ran several times slower than with one BLAS thread
(``benchmarks/bench_threads.py``). So when the local model loads, the process's pools are
sized once: torch gets half the cores (at least one), BLAS one thread (a vector scan is one
matrix-vector product, bound by memory, not by arithmetic).

``MEMORYMESH_EMBED_THREADS`` and ``MEMORYMESH_BLAS_THREADS`` override either number; ``0``
leaves that pool as torch or numpy set it. Without the local embedder nothing is changed:
HTTP embedders compute elsewhere, and numpy alone has no one to fight.
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import InvalidInputError

__all__ = [
    "BLAS_THREADS_ENV",
    "EMBED_THREADS_ENV",
    "blas_threads",
    "embed_threads",
    "size_pools",
]

EMBED_THREADS_ENV = "MEMORYMESH_EMBED_THREADS"
BLAS_THREADS_ENV = "MEMORYMESH_BLAS_THREADS"


def _setting(name: str, default: int) -> int | None:
    """The thread count ``name`` asks for (``default`` when unset), or None for ``0``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise InvalidInputError(
            f"{name} must be a whole number >= 0 (0 = leave as is), not {raw!r}"
        )
    return value or None


def embed_threads() -> int | None:
    """Threads for the local model's torch pool: half the cores, at least one; None: leave it."""
    return _setting(EMBED_THREADS_ENV, max(1, (os.cpu_count() or 2) // 2))


def blas_threads() -> int | None:
    """Threads for numpy's BLAS beside the local model: one; None: leave it."""
    return _setting(BLAS_THREADS_ENV, 1)


# threadpoolctl's limiter, kept alive: dropping it would not undo the limit, but keeping it
# makes plain that the limit holds for the life of the process.
_LIMITS: list[Any] = []


def size_pools(torch: Any) -> dict[str, int | None]:
    """Size torch's intra-op pool and numpy's BLAS pool for a process running the local model.

    Called once, when the model loads. BLAS is limited through ``threadpoolctl`` (installed
    with the ``local`` extra); without it, BLAS keeps its own setting.

    Returns:
        What was set: ``{"torch": n, "blas": n}``, None where the pool was left alone.
    """
    torch_n, blas_n = embed_threads(), blas_threads()
    if torch_n is not None:
        torch.set_num_threads(torch_n)
    if blas_n is not None:
        try:
            from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
        except ImportError:  # pragma: no cover - the local extra installs it
            blas_n = None
        else:
            import numpy  # noqa: F401  (its BLAS must be loaded to be limited)

            _LIMITS.append(threadpool_limits(limits=blas_n, user_api="blas"))
    return {"torch": torch_n, "blas": blas_n}
