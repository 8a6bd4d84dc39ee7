"""The semantic index of a ``MemoryMeshStore``: LangGraph's ``index={...}`` configuration.

As in LangGraph's own stores, each put embeds the text at each configured field path
(``"$"``, the whole value, by default; ``put(index=[...])`` names other paths for one item,
``index=False`` none), and ``search(query=...)`` ranks items by the similarity of the query
to their best-matching field, reporting that raw similarity as ``SearchItem.score``: cosine by
default, or as PostgresStore's ``distance_type`` says (``"inner_product"``: the dot product;
``"l2"``: minus the Euclidean distance).

The vectors are kept with the item, in the memory's metadata under ``langgraph_vectors``
(``{path: [floats]}``), so they are written in the same transaction as the value, follow it
across processes, and go when it goes. Search compares the query with every candidate the
namespace and filter leave, exactly (no approximate index).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from langchain_core.embeddings import Embeddings
from langgraph.store.base import IndexConfig, ensure_embeddings, get_text_at_path, tokenize_path

from memorymesh import Embedder, EmbeddingError, InvalidInputError

__all__ = ["MeshEmbeddings", "StoreIndex", "best_scores"]

#: Significant digits kept per vector component: float32 precision, so nothing is lost.
_DIGITS = 8

#: PostgresStore's ``distance_type`` values (its ``"hamming"`` needs bit vectors: not here).
DISTANCES = ("cosine", "inner_product", "l2")


class MeshEmbeddings(Embeddings):
    """A MemoryMesh :class:`~memorymesh.embeddings.Embedder` as LangChain ``Embeddings``.

    Only the async methods are used by the store (it always runs on the mesh's event loop).
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise NotImplementedError("the mesh's embedder is async: use aembed_documents")

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError("the mesh's embedder is async: use aembed_query")

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        vectors = await self.embedder.embed(texts)
        return [[float(x) for x in row] for row in vectors]

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]


class StoreIndex:
    """What a store's ``index=`` configuration means, checked when the store is built.

    Args:
        config: LangGraph's ``IndexConfig``: ``dims``, ``embed`` (LangChain ``Embeddings``,
            a sync or async function from texts to vectors, or a ``"provider:model"``
            string) and ``fields`` (paths into the value; ``["$"]``, the whole value, by
            default; ``text_fields``, as LangGraph's SQL stores name it, works too), and
            ``distance_type`` (``"cosine"``, the default, ``"inner_product"`` or ``"l2"``, as
            PostgresStore takes it). Without ``embed``, the mesh's own embedder is used.
        embedder: The mesh's embedder, if it has one.

    Raises:
        InvalidInputError: ``config`` is not a mapping, names no ``embed`` while the mesh has
            no embedder, or has bad ``dims``, ``fields`` or ``distance_type``.
    """

    def __init__(self, config: IndexConfig | Mapping[str, Any], embedder: Embedder | None) -> None:
        if not isinstance(config, Mapping):
            raise InvalidInputError("index= must be a mapping such as {'dims': 384, 'embed': ...}")
        self.config: dict[str, Any] = dict(config)
        embed = self.config.get("embed")
        if embed is None:
            if embedder is None:
                raise InvalidInputError(
                    "index= names no 'embed' and the mesh has no embedder: pass "
                    "index={'dims': ..., 'embed': <Embeddings or function>}, or open the mesh "
                    "with embedding='local'"
                )
            self.embeddings: Embeddings = MeshEmbeddings(embedder)
            self.config.setdefault("dims", embedder.dim)
        elif isinstance(embed, Embedder) and not isinstance(embed, Embeddings):
            self.embeddings = MeshEmbeddings(embed)
            self.config.setdefault("dims", embed.dim)
        else:
            self.embeddings = ensure_embeddings(embed)
        dims = self.config.get("dims")
        if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int) or dims < 1):
            raise InvalidInputError(f"index dims must be a positive integer, not {dims!r}")
        self.dims: int | None = dims
        # "text_fields" is what LangGraph's SQLite and PostgreSQL stores call "fields".
        fields = self.config.get("fields") or self.config.get("text_fields") or ["$"]
        if isinstance(fields, str) or not all(isinstance(f, str) and f for f in fields):
            raise InvalidInputError("index fields must be a list of paths such as ['text']")
        self.fields: list[str] = list(fields)
        distance = self.config.get("distance_type") or "cosine"
        if distance not in DISTANCES:
            raise InvalidInputError(
                f"index distance_type must be one of {', '.join(DISTANCES)}, not {distance!r}"
            )
        self.distance: str = distance

    def texts(self, value: Mapping[str, Any], paths: Sequence[str] | None) -> list[tuple[str, str]]:
        """``(path, text)`` for each text to embed in ``value``: at the store's fields, or at
        ``paths`` when a put names its own. A path matching several texts gives
        ``path.0``, ``path.1``, ... as LangGraph does; a missing path gives nothing."""
        found: list[tuple[str, str]] = []
        for path in self.fields if paths is None else paths:
            tokens: str | list[str] = path if path == "$" else tokenize_path(path)
            texts = get_text_at_path(dict(value), tokens)
            if len(texts) == 1:
                found.append((path, texts[0]))
            else:
                found.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
        return found

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors for ``texts``, checked and rounded to float32 precision.

        Raises:
            EmbeddingError: the embedder failed or returned the wrong number or size of vectors.
        """
        if not texts:
            return []
        try:
            vectors = await self.embeddings.aembed_documents(list(texts))
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"the store's embedder failed: {exc}") from exc
        return [self._checked(v) for v in self._counted(vectors, len(texts))]

    async def embed_query(self, query: str) -> npt.NDArray[np.float64]:
        """The query's vector.

        Raises:
            EmbeddingError: the embedder failed or returned a vector of the wrong size.
        """
        try:
            vector = await self.embeddings.aembed_query(query)
        except EmbeddingError:
            raise
        except Exception as exc:
            raise EmbeddingError(f"the store's embedder failed: {exc}") from exc
        return np.asarray(self._checked(vector), dtype=np.float64)

    @staticmethod
    def _counted(vectors: Any, expected: int) -> list[Any]:
        rows = list(vectors)
        if len(rows) != expected:
            raise EmbeddingError(
                f"the store's embedder returned {len(rows)} vectors for {expected} texts"
            )
        return rows

    def _checked(self, vector: Any) -> list[float]:
        try:
            array = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise EmbeddingError(
                f"the store's embedder returned a non-numeric vector: {exc}"
            ) from None
        if array.ndim != 1 or not np.all(np.isfinite(array)):
            raise EmbeddingError("the store's embedder must return flat vectors of finite numbers")
        if self.dims is not None and array.shape[0] != self.dims:
            raise EmbeddingError(
                f"the store's embedder returned {array.shape[0]}-dimensional vectors; "
                f"index dims is {self.dims}"
            )
        return [float(f"{x:.{_DIGITS}g}") for x in array.tolist()]


def best_scores(
    query: npt.NDArray[np.float64],
    vector_sets: Sequence[Mapping[str, Sequence[float]]],
    distance: str = "cosine",
) -> list[float | None]:
    """For each item's ``{path: vector}``, the similarity of its best field to ``query``
    (None for an item without vectors): cosine (a zero vector scores 0), the dot product
    (``"inner_product"``) or minus the Euclidean distance (``"l2"``)."""
    flat: list[Sequence[float]] = []
    owner: list[int] = []
    for position, vectors in enumerate(vector_sets):
        for vector in vectors.values():
            if len(vector) == len(query):
                flat.append(vector)
                owner.append(position)
    scores: list[float | None] = [None] * len(vector_sets)
    if not flat:
        return scores
    matrix = np.asarray(flat, dtype=np.float64)
    dots = matrix @ query
    if distance == "inner_product":
        similarity = dots
    elif distance == "l2":
        similarity = -np.linalg.norm(matrix - query, axis=1)
    else:
        norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query))
        similarity = np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0)
    for position, score in zip(owner, similarity.tolist(), strict=True):
        best = scores[position]
        if best is None or score > best:
            scores[position] = score
    return scores
