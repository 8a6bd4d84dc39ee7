"""Vector recall's cost beyond the scan, in CPU time: what a recall adds to its index search.

A vector recall embeds the query, scans the index (the numpy floor's work) and then pays a
fixed cost the floor does not: catching the index up with the store, fetching the hits'
rows through aiosqlite's thread, session context, ranking, and building the results. On a
shared machine wall time says little, so this prints CPU time per call (every thread of
the process) for the recall, the index search alone (``k`` = 40, recall's candidates) and
the embedding, and their difference, over ``bench_million.py``'s corpus (built once into
``--cache``). Run it with ``OPENBLAS_NUM_THREADS=1`` so that BLAS threads spinning do not
count, and once per checkout (``PYTHONPATH``), alternating:

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_vector_fixed.py --n 20000 --cache /tmp/vf
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_million import HashEmbedder, build, texts


async def measure(n: int, cache: Path, queries: int, rounds: int) -> list[dict[str, float]]:
    from memorymesh import AsyncMemoryMesh
    from memorymesh.search._vectors import VectorFilter

    if not (cache / f"m{n}.done").exists():
        await build(n, cache)
    qtexts = [" ".join(i["text"].split()[:4]) for i in texts(queries + 1, 99)]
    out = []
    async with AsyncMemoryMesh(
        cache / f"m{n}.db", global_path=cache / f"m{n}-global.db", embedding=HashEmbedder()
    ) as mesh:
        await mesh.recall(qtexts[0], k=10, mode="vector")  # maps the file, pages it in
        index = mesh._indexes.vectors[mesh.stores[0]]
        vectors = await mesh._indexes.embed(qtexts)
        for _ in range(rounds):
            started = time.process_time()
            for q in vectors:
                index.search(q[None, :], 40, VectorFilter(), now=time.time())
            search = (time.process_time() - started) / len(qtexts)
            started = time.process_time()
            for q in qtexts:
                await mesh._indexes.embed([q])
            embed = (time.process_time() - started) / len(qtexts)
            started = time.process_time()
            for q in qtexts:
                await mesh.recall(q, k=10, mode="vector")
            recall = (time.process_time() - started) / len(qtexts)
            out.append({"recall": recall, "search": search, "embed": embed})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mm-vector-fixed"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    import memorymesh

    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"memorymesh from {Path(memorymesh.__file__).parent}\n")
    print("| round | recall CPU ms | index search CPU ms | embed CPU ms | beyond the scan ms |")
    print("|---:|---:|---:|---:|---:|")
    for i, r in enumerate(anyio.run(measure, args.n, args.cache, args.queries, args.rounds)):
        fixed = r["recall"] - r["search"] - r["embed"]
        print(
            f"| {i + 1} | {1000 * r['recall']:.2f} | {1000 * r['search']:.2f} "
            f"| {1000 * r['embed']:.3f} | {1000 * fixed:.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
