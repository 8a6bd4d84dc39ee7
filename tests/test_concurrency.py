"""Many writers at once, and crashes: real processes on real database files."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest

from memorymesh import AsyncMemoryMesh, MemoryNotFoundError

WORKER = Path(__file__).with_name("stress_worker.py")
PROCESSES = 4
OPS_PER_PROCESS = 500


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).parent.parent), env.get("PYTHONPATH", "")]
    )
    return env


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ops", "key"),
    [(OPS_PER_PROCESS, ""), (100, "a shared passphrase")],
    ids=["plain", "encrypted"],
)
def test_many_processes_write_the_same_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ops: int, key: str
) -> None:
    """Every child starts at once on a file that does not exist yet, so creating it, migrating
    it and (encrypted) setting up its key record race too."""
    extra = {"MEMORYMESH_ENCRYPTION_KEY": key} if key else {}
    db = tmp_path / "shared" / "memories.db"
    global_db = tmp_path / "shared" / "global.db"
    started = time.perf_counter()
    children = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                "mixed",
                str(db),
                str(global_db),
                str(w),
                str(ops),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(**extra),
        )
        for w in range(PROCESSES)
    ]
    reports = []
    for child in children:
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
        assert "Traceback" not in err and "locked" not in err, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    elapsed = time.perf_counter() - started

    for report in reports:
        assert report["errors"] == [], report["errors"][:5]
        assert sum(report["counts"].values()) == ops
    expected_alive = {i for r in reports for i in r["alive"]}
    forgotten = {i for r in reports for i in r["forgotten"]}
    written = [i for r in reports for i in r["written"]]
    assert len(written) == len(set(written))  # no id handed out twice

    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        # Current memories only: an update keeps the earlier text as a superseded copy.
        current = "FROM memories WHERE superseded_by IS NULL"
        stored = {row[0] for row in conn.execute(f"SELECT id {current}")}
        by_source = Counter(row[0] for row in conn.execute(f"SELECT source {current}"))
        logged = Counter(row[0] for row in conn.execute("SELECT action FROM write_log"))
    finally:
        conn.close()
    # Every write landed, every forget took, and the counts add up exactly.
    assert stored == expected_alive
    assert not stored & forgotten
    assert len(stored) == len(written) - len(forgotten)
    for r in reports:
        assert by_source[f"worker{r['worker']}"] == len(r["alive"])
    assert logged["stored"] == sum(r["counts"]["remember"] for r in reports)
    assert logged["updated"] == sum(r["counts"]["update"] for r in reports)
    assert logged["forgotten"] == sum(r["counts"]["forget"] for r in reports)

    total_ops = PROCESSES * ops
    with capsys.disabled():
        print(
            f"\nstress{' (encrypted)' if key else ''}: {PROCESSES} processes x {ops} ops = "
            f"{total_ops} ops in "
            f"{elapsed:.1f}s ({total_ops / elapsed:.0f} ops/s); "
            f"writes {len(written)}, forgets {len(forgotten)}, final rows {len(stored)}; "
            f"p50 {max(r['p50_ms'] for r in reports):.1f} ms, "
            f"p99 {max(r['p99_ms'] for r in reports):.1f} ms, "
            f"max {max(r['max_ms'] for r in reports):.0f} ms per op; 0 errors"
        )


@pytest.mark.anyio
async def test_two_hundred_tasks_in_one_process(mesh: AsyncMemoryMesh) -> None:
    """remember/recall/update/forget from 200 concurrent tasks on one mesh stay consistent."""
    alive: dict[str, str] = {}
    forgotten: set[str] = set()
    lookups: list[tuple[str, str]] = []

    async def task(n: int) -> None:
        rng = random.Random(n)
        mine: list[str] = []
        for step in range(10):
            text = f"task {n} step {step} remembers topic{step % 5}"
            m = await mesh.remember(text, scope="project", on_conflict="keep_both")
            alive[m.id] = text
            mine.append(m.id)
            choice = rng.random()
            if choice < 0.3:
                await mesh.recall(f"topic{step % 5}", k=3)
            elif choice < 0.6:
                target = rng.choice(mine)
                if target in alive:
                    edited = alive[target] + " edited"
                    assert (await mesh.update(target, text=edited)).text == edited
                    alive[target] = edited
            elif choice < 0.75:
                target = rng.choice(mine)
                if target in alive:
                    await mesh.forget(target)
                    del alive[target]
                    forgotten.add(target)
            lookups.append((m.id, text))

    async with anyio.create_task_group() as tg:
        for n in range(200):
            tg.start_soon(task, n)

    assert await mesh.count() == len(alive)
    listed = {m.id: m.text for m in await mesh.list(limit=10_000)}
    assert listed == alive
    for memory_id in forgotten:
        with pytest.raises(MemoryNotFoundError):
            await mesh.get(memory_id)
    hits = await mesh.recall("topic3", k=1000)
    assert {h.memory.id for h in hits} == {i for i, t in alive.items() if "topic3" in t}
    assert (await mesh.health()) == {s: ["ok"] for s in (mesh.project_path, mesh.global_path)}


def _batches(db: Path) -> tuple[str, Counter[str]]:
    conn = sqlite3.connect(db)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        # The FTS index must agree with its content table too.
        conn.execute("INSERT INTO memories_fts (memories_fts) VALUES ('integrity-check')")
        counts = Counter(
            row[0] for row in conn.execute("SELECT json_extract(metadata, '$.batch') FROM memories")
        )
    finally:
        conn.close()
    return check, counts


@pytest.mark.slow
def test_sigkill_during_remember_many_keeps_all_or_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "crash" / "memories.db"
    rng = random.Random(6)
    rounds = 6
    complete = cut = 0
    for round_ in range(rounds):
        child = subprocess.Popen(
            [sys.executable, str(WORKER), "crash", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert child.stdout is not None
        seen: list[str] = []
        # Every other round lets one batch finish first, so committed batches exist too; in
        # every round the kill comes after a "start" line: a batch of 10,000 is under way.
        starts_wanted = 1 if round_ % 2 == 0 else 2
        while sum(ln.startswith("start ") for ln in seen) < starts_wanted:
            line = child.stdout.readline()
            assert line, child.communicate()[1]
            seen.append(line)
        # A batch takes 2-4 s here (validation, then one transaction): kill anywhere in the
        # one under way or in the next.
        time.sleep(rng.uniform(0.2, 4.0))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=60)
        lines = [*seen, *rest.splitlines()]
        started = [ln.split()[1] for ln in lines if ln.startswith("start ")]
        done = {ln.split()[1] for ln in lines if ln.startswith("done ")}
        check, counts = _batches(db)
        assert check == "ok"
        for tag in started:
            assert counts.get(tag, 0) in (0, 10_000), (tag, counts.get(tag))
            if tag in done:
                assert counts[tag] == 10_000
            complete += counts.get(tag, 0) == 10_000
            cut += counts.get(tag, 0) == 0

    async def reopen() -> int:
        async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
            await mesh.remember("after the crashes", scope="project")
            return await mesh.count()

    total = anyio.run(reopen)  # the store still opens and takes writes after all of that
    check, counts = _batches(db)
    assert check == "ok"
    assert total == complete * 10_000 + 1
    with capsys.disabled():
        print(
            f"\ncrash: {rounds} SIGKILLs during remember_many(10,000); integrity ok every time; "
            f"{complete} batches complete, {cut} batches cut by the kill left no rows"
        )
    # Each kill lands inside some batch (rarely right at its commit, when it counts as
    # complete), and every cut batch left nothing behind: both outcomes must have happened.
    assert cut >= rounds // 2
    assert complete >= rounds // 2
