"""The ``Embedder`` protocol and the registry of named embedding providers.

Any object with ``name``, ``dim`` and an async ``embed(texts)`` is an embedder: implement the
protocol, no base class needed. Named providers are looked up in a registry so third parties
can plug theirs in with :func:`register_embedder` without touching MemoryMesh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ._errors import EmbeddingError, InvalidInputError

__all__ = [
    "Embedder",
    "available_embedders",
    "register_embedder",
    "resolve_embedder",
]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into one float32 vector each."""

    @property
    def name(self) -> str:
        """A stable id of the model, recorded in the store (``local:all-MiniLM-L6-v2``)."""
        ...

    @property
    def dim(self) -> int:
        """The length of every vector ``embed`` returns."""
        ...

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Embed ``texts`` into an array of shape ``(len(texts), dim)``."""
        ...


EmbedderFactory = Callable[..., Embedder]

_REGISTRY: dict[str, EmbedderFactory] = {}


def register_embedder(name: str, factory: EmbedderFactory, *, replace: bool = False) -> None:
    """Make ``AsyncMemoryMesh(embedding=name)`` build its embedder with ``factory(**options)``.

    :raises InvalidInputError: ``name`` is taken and ``replace`` is false.
    """
    if not name or not isinstance(name, str):
        raise InvalidInputError("an embedder needs a non-empty name")
    if name in _REGISTRY and not replace:
        raise InvalidInputError(f"an embedder named {name!r} is already registered")
    _REGISTRY[name] = factory


def available_embedders() -> list[str]:
    """The registered provider names, plus ``none``."""
    return sorted({"none", *_REGISTRY})


def resolve_embedder(spec: str | Embedder | None, **options: Any) -> Embedder | None:
    """``None`` for keyword-only recall, else the embedder ``spec`` names or is.

    :raises EmbeddingError: an unknown provider name, or an object that is not an embedder.
    """
    if spec is None or spec == "none":
        return None
    if isinstance(spec, str):
        try:
            factory = _REGISTRY[spec]
        except KeyError:
            known = ", ".join(available_embedders())
            raise EmbeddingError(f"unknown embedding provider {spec!r}; known: {known}") from None
        return factory(**options)
    if isinstance(spec, Embedder):
        return spec
    raise EmbeddingError(
        f"{type(spec).__name__} is not an embedder: it needs `name`, `dim` and async `embed(texts)`"
    )
