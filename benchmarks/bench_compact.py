"""A compaction pass over a large store: seconds, not hours.

Builds a real project store of N memories (default 100,000) with a known number of planted
near-duplicates (a word changed or added) and of stale, unimportant, never-used memories (aged
by their timestamps), then times ``compact(dry_run=True)`` and ``compact()`` and checks that
the planted ones were found. Candidates come from the FTS5 index, so the time grows about
linearly: the table shows two sizes and the ratio.

    python benchmarks/bench_compact.py [--n 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from memorymesh import AsyncMemoryMesh

WORDS = (  # noqa: SIM905 (easier to read as prose)
    "billing service cache queue worker deploy staging release schema migration index "
    "latency budget retry timeout webhook invoice ledger tenant region cluster bucket "
    "token session profile metric alert dashboard pipeline runner artifact registry "
    "mirror proxy gateway router handler parser encoder decoder buffer stream batch "
    "shard replica primary follower snapshot backup restore rollback canary feature "
    "flag rollout quota limit throttle circuit breaker fallback health probe sidecar"
).split()
TEMPLATES = (
    "We decided that the {a} {b} uses {c} {d} for {e} {f} in region {n}",
    "The {a} {b} failed because {c} {d} hit the {e} {f} on node {n}",
    "Always check the {a} {b} before the {c} {d} touches {e} {f} batch {n}",
    "The {a} {b} pattern keeps {c} {d} next to {e} {f} in module {n}",
)


def make_texts(n: int, rng: random.Random) -> list[str]:
    texts = []
    for i in range(n):
        words = dict(zip("abcdef", rng.sample(WORDS, 6), strict=True))
        texts.append(rng.choice(TEMPLATES).format(n=i, **words))
    return texts


async def build(db: Path, n: int, dup_share: float, stale_share: float) -> tuple[int, int]:
    rng = random.Random(7)
    texts = make_texts(n, rng)
    duplicates = int(n * dup_share)
    for index in rng.sample(range(n), duplicates):
        texts[index] = texts[index - 1] + " again"  # one more word: a near-duplicate
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        for start in range(0, n, 5000):
            chunk = texts[start : start + 5000]
            await mesh.remember_many(
                [
                    {"text": t, "category": "context", "importance": 0.2 + 0.6 * rng.random()}
                    for t in chunk
                ]
            )
    stale = int(n * stale_share)
    conn = sqlite3.connect(db)
    with conn:
        old = time.time() - 400 * 86_400
        conn.execute(
            "UPDATE memories SET importance = 0.1, created_at = ?, updated_at = ? "
            "WHERE seq IN (SELECT seq FROM memories ORDER BY random() LIMIT ?)",
            (old, old, stale),
        )
    conn.close()
    return duplicates, stale


async def measure(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="mm-bench-compact-") as scratch:
        db = Path(scratch) / "memories.db"
        started = time.perf_counter()
        planted_dups, planted_stale = await build(db, n, dup_share=0.03, stale_share=0.05)
        build_s = time.perf_counter() - started
        async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
            preview = await mesh.compact(dry_run=True)
            report = await mesh.compact()
            remaining = await mesh.count()
        return {
            "n": n,
            "build_s": build_s,
            "dry_run_s": preview.seconds,
            "compact_s": report.seconds,
            "planted_dups": planted_dups,
            "merged": report.merged_count,
            "planted_stale": planted_stale,
            "archived": len(report.archived),
            "remaining": remaining,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [args.n // 10, args.n]
    results = [asyncio.run(measure(n)) for n in sizes]
    print("Compaction pass (FTS5 candidates, no pairwise pass)\n")
    print(
        f"{'memories':>9} {'build s':>8} {'dry-run s':>10} {'compact s':>10} "
        f"{'planted dup':>12} {'merged':>7} {'planted stale':>14} {'archived':>9}"
    )
    for r in results:
        print(
            f"{r['n']:>9,} {r['build_s']:>8.1f} {r['dry_run_s']:>10.2f} {r['compact_s']:>10.2f} "
            f"{r['planted_dups']:>12,} {r['merged']:>7,} {r['planted_stale']:>14,} "
            f"{r['archived']:>9,}"
        )
    small, large = results
    print(
        f"\n{large['n'] // small['n']}x the memories took "
        f"{large['compact_s'] / max(small['compact_s'], 1e-9):.1f}x the time "
        "(linear would be the same ratio; quadratic its square)."
    )


if __name__ == "__main__":
    main()
