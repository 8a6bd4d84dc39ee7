"""What a cheaper conflict-candidate search would cost in recall, on real sentence vectors.

A write with an embedder finds its conflict candidates exactly: the 3 nearest current
memories at or above the subject gate (cosine 0.5, or 0.35 for a text telling a change), one
batch x index float32 product. This measures the alternatives issue #19 names against that
exact search, on the local model's vectors of real texts (the LoCoMo dev turns and the
development conflict corpora; never the frozen held-out corpus):

- a low-dimensional prefilter (the vectors projected on their top principal components,
  scored there, every row within a margin of the gate re-scored exactly): per projection,
  the least margin keeping candidate recall >= 0.99 and the share of rows it lets through;
- float16 and int8 products in numpy against float32 (no BLAS for either).

    python benchmarks/bench_vector_candidates.py          # needs the `local` extra
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

F32 = npt.NDArray[np.float32]
K = 3
GATES = (0.5, 0.35)
DIMS = (32, 64, 96, 128, 192)
MARGINS = tuple(round(0.02 * i, 2) for i in range(26))


def _texts() -> list[str]:
    from _conflict_eval import load_dev2
    from bench_quality import DATA, turns
    from conflict_corpus import PAIRS

    texts = [t for _, old, new in PAIRS for t in (old, new)]
    texts += [t for _, _, old, new in load_dev2() for t in (old, new)]
    if DATA.exists():
        for conv in json.loads(DATA.read_text()):
            texts += [item.text for item in turns(conv["conversation"], dated=False)]
    return list(dict.fromkeys(texts))


def _exact(queries: F32, matrix: F32, gate: float) -> list[set[int]]:
    scores = queries @ matrix.T
    np.fill_diagonal(scores, -1.0)  # a text is not its own candidate
    found = []
    for row in scores:
        above = np.flatnonzero(row >= gate)
        found.append(set(above[np.argsort(-row[above])][:K].tolist()))
    return found


def _prefiltered(
    queries: F32, matrix: F32, basis: F32, gate: float, margin: float
) -> tuple[list[set[int]], float]:
    """Candidates through the projection prefilter, and the share of rows re-scored."""
    rough = (queries @ basis) @ (matrix @ basis).T
    np.fill_diagonal(rough, -np.inf)
    found, passed = [], 0
    for qi, row in enumerate(rough):
        near = np.flatnonzero(row >= gate - margin)
        passed += len(near)
        exact = matrix[near] @ queries[qi]
        keep = exact >= gate
        near, exact = near[keep], exact[keep]
        found.append(set(near[np.argsort(-exact)][:K].tolist()))
    return found, passed / (len(queries) * len(matrix))


def _recall(got: list[set[int]], truth: list[set[int]]) -> float:
    total = sum(len(t) for t in truth)
    return sum(len(g & t) for g, t in zip(got, truth, strict=True)) / total if total else 1.0


def _low_precision() -> None:
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((20_000, 384)).astype(np.float32)
    queries = rng.standard_normal((200, 384)).astype(np.float32)
    print("\n| product 200 x 20,000 x 384 | CPU s | vs float32 |\n|---|---:|---:|")
    base = 0.0
    for name, q, m in (
        ("float32 (BLAS)", queries, matrix),
        ("float16", queries.astype(np.float16), matrix.astype(np.float16)),
        ("int8 (int32 accumulators)", queries.astype(np.int8), matrix.astype(np.int8)),
    ):
        started = time.process_time()
        np.matmul(q, m.T, dtype=np.int32) if q.dtype == np.int8 else q @ m.T
        took = time.process_time() - started
        base = base or took
        print(f"| {name} | {took:.3f} | {took / base:.0f}x |")


def main() -> int:
    from memorymesh import LocalEmbedder

    texts = _texts()
    started = time.perf_counter()
    import anyio

    matrix = anyio.run(LocalEmbedder().embed, texts).astype(np.float32)
    print(f"{len(texts):,} texts embedded in {time.perf_counter() - started:.0f} s")
    # Principal directions of the stored vectors (uncentred: a product needs no mean).
    _, _, vt = np.linalg.svd(matrix, full_matrices=False)
    for gate in GATES:
        truth = _exact(matrix, matrix, gate)
        pairs = sum(len(t) for t in truth)
        print(f"\n### gate {gate}: {pairs:,} exact candidates for {len(texts):,} queries\n")
        print(
            "| dims | least margin for recall >= 0.99 | recall | rows re-scored "
            "| est. cost vs exact |"
        )
        print("|---:|---:|---:|---:|---:|")
        for dims in DIMS:
            basis = vt[:dims].T.astype(np.float32)
            for margin in MARGINS:
                got, share = _prefiltered(matrix, matrix, basis, gate, margin)
                recall = _recall(got, truth)
                if recall >= 0.99:
                    # the projected product, plus the re-scored rows at full width
                    cost = dims / matrix.shape[1] + share
                    print(f"| {dims} | {margin:.2f} | {recall:.3f} | {share:.1%} | {cost:.2f}x |")
                    break
            else:
                print(f"| {dims} | > {MARGINS[-1]} | | | |")
    _low_precision()
    return 0


if __name__ == "__main__":
    sys.exit(main())
