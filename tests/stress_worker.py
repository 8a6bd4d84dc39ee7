"""A child process for the multi-process tests: run as ``python stress_worker.py MODE ...``.

``mixed DB GLOBAL WORKER OPS``: OPS mixed remember/recall/update/forget calls on the shared
stores; prints one JSON line with what it wrote, forgot and every error it saw.

``crash DB``: remember_many batches of 10,000 forever, printing ``start <n>`` before each, until
the parent kills it.
"""

from __future__ import annotations

import json
import random
import sys
import time
from typing import Any

import anyio

from memorymesh import AsyncMemoryMesh, MemoryMeshError


async def mixed(db: str, global_db: str, worker: int, ops: int) -> dict[str, Any]:
    rng = random.Random(worker)
    alive: dict[str, str] = {}
    written: list[str] = []
    forgotten: list[str] = []
    errors: list[str] = []
    latencies: list[float] = []
    counts = {"remember": 0, "recall": 0, "update": 0, "forget": 0}
    async with AsyncMemoryMesh(db, global_path=global_db, source=f"worker{worker}") as mesh:
        for i in range(ops):
            roll = rng.random()
            started = time.perf_counter()
            try:
                if roll < 0.5 or not alive:
                    text = f"worker {worker} note {i} about topic{i % 17} and shared stress"
                    m = await mesh.remember(text, scope="project", on_conflict="keep_both")
                    alive[m.id] = text
                    written.append(m.id)
                    counts["remember"] += 1
                elif roll < 0.75:
                    hits = await mesh.recall(f"topic{i % 17} stress", k=5)
                    for hit in hits:  # whatever another process wrote must read back whole
                        if not hit.memory.text.startswith("worker "):
                            errors.append(f"torn read: {hit.memory.text!r}")
                    counts["recall"] += 1
                elif roll < 0.9:
                    memory_id = rng.choice(list(alive))
                    text = alive[memory_id] + " (edited)"
                    updated = await mesh.update(memory_id, text=text)
                    if updated.text != text:
                        errors.append(f"update lost: {updated.text!r}")
                    alive[memory_id] = text
                    counts["update"] += 1
                else:
                    memory_id = rng.choice(list(alive))
                    await mesh.forget(memory_id)
                    del alive[memory_id]
                    forgotten.append(memory_id)
                    counts["forget"] += 1
            except MemoryMeshError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - started)
        # Read everything this worker believes is alive back through its own mesh.
        for memory_id, text in alive.items():
            if (await mesh.get(memory_id)).text != text:
                errors.append(f"lost write {memory_id}")
    latencies.sort()
    return {
        "worker": worker,
        "written": written,
        "forgotten": forgotten,
        "alive": sorted(alive),
        "errors": errors,
        "counts": counts,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


async def crash(db: str) -> None:
    async with AsyncMemoryMesh(db, global_path=":memory:", source="crash") as mesh:
        batch = 0
        while True:
            tag = f"{time.time_ns()}-{batch}"
            print(f"start {tag}", flush=True)
            items = [
                {
                    "text": f"crash batch {tag} item {i} remembers something",
                    "scope": "project",
                    "metadata": {"batch": tag},
                    "on_conflict": "keep_both",
                }
                for i in range(10_000)
            ]
            await mesh.remember_many(items)
            print(f"done {tag}", flush=True)
            batch += 1


def main() -> None:
    mode = sys.argv[1]
    if mode == "mixed":
        db, global_db, worker, ops = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(anyio.run(mixed, db, global_db, worker, ops)), flush=True)
    elif mode == "crash":
        anyio.run(crash, sys.argv[2])
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
