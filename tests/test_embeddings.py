"""The built-in embedding providers, for real: the local model, and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _http_server import JSONServer

from memorymesh import (
    AsyncMemoryMesh,
    EmbeddingError,
    LocalEmbedder,
    OllamaEmbedder,
    OpenAIEmbedder,
    available_embedders,
)
from memorymesh.embeddings._embedders import resolve_embedder

pytestmark = pytest.mark.anyio

DIM = 8


def _vector(text: str) -> list[float]:
    # Deterministic, text-dependent vectors, as a real server would return.
    rng = np.random.default_rng(sum(text.encode()))
    return [float(x) for x in rng.standard_normal(DIM)]


class _Server(JSONServer):
    """A tiny embedding server speaking Ollama's and OpenAI's real request/response shapes."""

    def respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == "/api/embed":
            return 200, {"model": body["model"], "embeddings": [_vector(t) for t in body["input"]]}
        if path == "/v1/embeddings":
            data = [
                {"object": "embedding", "index": i, "embedding": _vector(t)}
                for i, t in enumerate(body["input"])
            ]
            data.reverse()  # servers may answer out of order; `index` says which
            return 200, {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        return super().respond(path, body)


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as s:
        yield s


def test_registry_knows_the_built_ins() -> None:
    assert {"none", "local", "ollama", "openai"} <= set(available_embedders())
    e = resolve_embedder("ollama:all-minilm")
    assert isinstance(e, OllamaEmbedder) and e.name == "ollama:all-minilm"
    with pytest.raises(EmbeddingError, match="unknown embedding provider"):
        resolve_embedder("nope")


async def test_ollama_real_api_shape(server: _Server) -> None:
    e = OllamaEmbedder("all-minilm", base_url=server.url, batch_size=2)
    out = await e.embed(["a", "bb", "ccc"])
    assert out.shape == (3, DIM) and out.dtype == np.float32
    np.testing.assert_allclose(out[2], _vector("ccc"), rtol=1e-6)
    assert [r[0] for r in server.requests] == ["/api/embed", "/api/embed"]  # batched
    assert server.requests[0][1] == {"model": "all-minilm", "input": ["a", "bb"]}
    assert e.dim == DIM  # learned from the answer


async def test_openai_real_api_shape_with_key_and_order(server: _Server) -> None:
    e = OpenAIEmbedder("text-embedding-3-small", base_url=server.url + "/v1", api_key="sk-x")
    out = await e.embed(["first", "second"])
    np.testing.assert_allclose(out[0], _vector("first"), rtol=1e-6)
    np.testing.assert_allclose(out[1], _vector("second"), rtol=1e-6)
    path, body, headers = server.requests[0]
    assert path == "/v1/embeddings"
    assert body["model"] == "text-embedding-3-small" and body["input"] == ["first", "second"]
    assert headers["Authorization"] == "Bearer sk-x"


async def test_retries_on_503_then_succeeds(server: _Server) -> None:
    server.fail_next = [503, 429]
    e = OllamaEmbedder("m", base_url=server.url, retries=2)
    assert (await e.embed(["x"])).shape == (1, DIM)
    assert len(server.requests) == 3


async def test_clear_errors(server: _Server) -> None:
    server.fail_next = [400]
    with pytest.raises(EmbeddingError, match="HTTP 400"):
        await OllamaEmbedder("m", base_url=server.url).embed(["x"])
    server.fail_next = [503, 503]
    with pytest.raises(EmbeddingError, match="after 2 attempts"):
        await OllamaEmbedder("m", base_url=server.url, retries=1).embed(["x"])
    with pytest.raises(EmbeddingError, match="returned shape"):
        await OllamaEmbedder("m", base_url=server.url, dim=DIM + 1).embed(["x"])
    server.delay = 0.5
    with pytest.raises(EmbeddingError, match="timed out"):
        await OpenAIEmbedder("m", base_url=server.url + "/v1", timeout=0.1, retries=0).embed(["x"])
    server.delay = 0.0
    with pytest.raises(EmbeddingError, match="cannot reach"):
        await OllamaEmbedder("m", base_url="http://127.0.0.1:9", retries=0).embed(["x"])


async def test_mesh_with_an_http_provider_records_it(
    server: _Server, project_db: Path, global_db: Path
) -> None:
    e = OpenAIEmbedder("served", base_url=server.url + "/v1")
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding=e) as mesh:
        m = await mesh.remember("the staging database is called stg-db")
        hits = await mesh.recall("the staging database is called stg-db", mode="vector")
        assert hits[0].memory.id == m.id
        assert hits[0].breakdown.relevance == pytest.approx(1.0, abs=1e-5)
        assert (await mesh.stats()).embedder == "openai:served"
        store = mesh.stores[0]
        assert await store.get_meta("embedder") == "openai:served"
        assert await store.get_meta("embedder_dim") == str(DIM)


@pytest.mark.slow
async def test_local_model_really_runs(project_db: Path, global_db: Path) -> None:
    pytest.importorskip("sentence_transformers")
    e = LocalEmbedder()
    assert (e.name, e.dim) == ("local:all-MiniLM-L6-v2", 384)
    out = await e.embed(["The cat sat on the mat.", "A kitten rested on the rug.", "Tax law"])
    assert out.shape == (3, 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-4)
    assert out[0] @ out[1] > out[0] @ out[2] + 0.2  # meaning, not words
    async with AsyncMemoryMesh(project_db, global_path=global_db, embedding="local") as mesh:
        pet = await mesh.remember("Our dog Rex needs his walk every morning")
        await mesh.remember("The quarterly tax filing is due in April")
        hits = await mesh.recall("when does the puppy go outside?", mode="vector", k=1)
        assert hits[0].memory.id == pet.id


_POOLS_PROBE = """
import json, anyio, torch
from threadpoolctl import threadpool_info
from memorymesh import LocalEmbedder
anyio.run(LocalEmbedder().embed, ["size the pools"])
blas = sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})
print(json.dumps({"torch": torch.get_num_threads(), "blas": blas}))
"""


def _pools(env: dict[str, str]) -> dict[str, Any]:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _POOLS_PROBE],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_the_local_model_sizes_torch_and_blas_pools_on_purpose() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("threadpoolctl")
    import os

    half = max(1, (os.cpu_count() or 2) // 2)
    assert _pools({}) == {"torch": half, "blas": [1]}
    # Either pool can be set, or left as torch and numpy size it themselves (0).
    chosen = _pools({"MEMORYMESH_EMBED_THREADS": "3", "MEMORYMESH_BLAS_THREADS": "2"})
    assert chosen == {"torch": 3, "blas": [2]}
    untouched = _pools({"MEMORYMESH_EMBED_THREADS": "0", "MEMORYMESH_BLAS_THREADS": "0"})
    assert untouched["torch"] == os.cpu_count() and untouched["blas"] != [1]


def test_a_bad_thread_count_is_refused_when_the_embedder_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("sentence_transformers")
    from memorymesh import InvalidInputError

    monkeypatch.setenv("MEMORYMESH_BLAS_THREADS", "many")
    with pytest.raises(InvalidInputError, match="MEMORYMESH_BLAS_THREADS"):
        LocalEmbedder()
