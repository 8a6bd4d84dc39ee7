"""Thread pools with the local model: recall and a single remember, pools left alone vs sized.

torch (the ``local`` embedder) and numpy's BLAS (the vector scan, conflict similarities) each
start a pool of threads as large as the machine, in the same process. This benchmark measures
what sizing them (``memorymesh/embeddings/_threads.py``) is worth, each setting in its own
process, settings interleaved round by round so they share the machine's load:

- ``left alone``: ``MEMORYMESH_EMBED_THREADS=0 MEMORYMESH_BLAS_THREADS=0`` (as before);
- ``OPENBLAS_NUM_THREADS=1``: the workaround the issue measured, BLAS only;
- ``sized``: the defaults (torch half the cores, BLAS one thread).

The store holds ``--n`` memories whose vectors are random unit vectors recorded under the
local model's name (so it fills in seconds); every query and every new memory is embedded by
the real model, so torch and BLAS both run on every call.

    python benchmarks/bench_threads.py                 # 20,000 memories, 2 rounds
    python benchmarks/bench_threads.py --n 100000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
LOCAL_NAME = "local:all-MiniLM-L6-v2"
DIM = 384
_VOCABULARY = """deploy billing service helm chart staging release database migration cache queue
worker retry timeout latency budget review design decision team meeting customer invoice
report dashboard alert incident postmortem rollback feature flag api schema"""
WORDS = _VOCABULARY.split()

SETTINGS: dict[str, dict[str, str]] = {
    "left alone": {"MEMORYMESH_EMBED_THREADS": "0", "MEMORYMESH_BLAS_THREADS": "0"},
    "OPENBLAS_NUM_THREADS=1": {
        "MEMORYMESH_EMBED_THREADS": "0",
        "MEMORYMESH_BLAS_THREADS": "0",
        "OPENBLAS_NUM_THREADS": "1",
    },
    "sized (default)": {},
}


def texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, int(rng.integers(6, 14)))) for _ in range(n)]


class RandomAsLocal:
    """Random unit vectors under the local model's name: fills a store in seconds."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    @property
    def name(self) -> str:
        return LOCAL_NAME

    @property
    def dim(self) -> int:
        return DIM

    async def embed(self, batch: Sequence[str]) -> npt.NDArray[np.float32]:
        v = self.rng.standard_normal((len(batch), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


async def build(db: Path, n: int) -> None:
    from memorymesh import AsyncMemoryMesh

    items = [{"text": t, "on_conflict": "keep_both"} for t in texts(n, 1)]
    async with AsyncMemoryMesh(
        db, global_path=db.with_name("global.db"), embedding=RandomAsLocal()
    ) as mesh:
        for start in range(0, n, 5000):
            await mesh.remember_many(items[start : start + 5000])


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": 1000 * ordered[len(ordered) // 2],
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
    }


async def worker(db: Path, queries: int, adds: int) -> dict[str, Any]:
    from memorymesh import AsyncMemoryMesh, LocalEmbedder

    out: dict[str, Any] = {}
    async with AsyncMemoryMesh(
        db, global_path=db.with_name("global.db"), embedding=LocalEmbedder()
    ) as mesh:
        asked = texts(queries + 1, 2)
        await mesh.recall(asked[0], k=10, mode="vector")  # loads the model, warms the index
        for mode in ("vector", "hybrid"):
            samples = []
            for q in asked[1:]:
                started = time.perf_counter()
                await mesh.recall(q, k=10, mode=mode)
                samples.append(time.perf_counter() - started)
            out[mode] = _stats(samples)
        samples = []
        for t in texts(adds, 3):
            started = time.perf_counter()
            await mesh.remember(t, on_conflict="keep_both")
            samples.append(time.perf_counter() - started)
        out["remember"] = _stats(samples)
    return out


def run_setting(name: str, db: Path, queries: int, adds: int) -> dict[str, Any]:
    env = {**os.environ, **SETTINGS[name]}
    command = [sys.executable, __file__, "--worker", str(db)]
    done = subprocess.run(
        [*command, "--queries", str(queries), "--adds", str(adds)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="memories in the store")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--adds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(anyio.run(worker, args.worker, args.queries, args.adds)))
        return 0
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        print("needs the local extra: pip install 'memorymesh[local]'", file=sys.stderr)
        return 1
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "threads.db"
        anyio.run(build, db, args.n)
        for round_ in range(args.rounds):
            for name in SETTINGS:
                print(f"round {round_ + 1}: {name} ...", file=sys.stderr)
                results[name].append(run_setting(name, db, args.queries, args.adds))
    print(f"## Thread pools, local model, {args.n:,} memories, {os.cpu_count()} cores (ms)\n")
    print("median over rounds of each round's p50 / p95\n")
    print("| setting | vector recall p50 / p95 | hybrid recall p50 / p95 | remember p50 / p95 |")
    print("|---|---:|---:|---:|")
    for name, runs in results.items():
        cells = []
        for op in ("vector", "hybrid", "remember"):
            p50 = float(np.median([r[op]["p50_ms"] for r in runs]))
            p95 = float(np.median([r[op]["p95_ms"] for r in runs]))
            cells.append(f"{p50:.1f} / {p95:.1f}")
        print(f"| {name} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
