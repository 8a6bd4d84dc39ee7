"""A deterministic embedder for tests: hashed bag of words, so shared words mean similar vectors.

It is a real embedder in the protocol's sense (any object with ``name``, ``dim`` and async
``embed``), only cheap; the real model has its own tests in ``test_embeddings.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

_WORD = re.compile(r"\w+")


class HashEmbedder:
    def __init__(self, dim: int = 64, name: str = "test:hash") -> None:
        self._dim = dim
        self._name = name
        self.calls: list[int] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.casefold()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
                out[i, h % self._dim] += 1.0
        return out


def bag_of_words(texts: Sequence[str], dim: int = 64) -> list[list[float]]:
    """:class:`HashEmbedder`'s vectors, synchronously and as lists (what LangGraph's embedding
    functions return)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):
        for word in _WORD.findall(text.casefold()):
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            out[i, h % dim] += 1.0
    return [[float(x) for x in row] for row in out]
