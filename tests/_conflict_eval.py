"""Run the conflict corpus through real stores and score what they report.

Shared by ``tests/test_conflict_quality.py`` (floors) and ``benchmarks/bench_conflicts.py``
(tables). Each pair gets its own pair of SQLite files, so no pair sees another's memories:
``old`` is remembered, then ``new`` with the default policy, and the verdict is the kind of
``new``'s conflict with ``old`` (or ``none``).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conflict_corpus import NO_CONFLICT

from memorymesh import AsyncMemoryMesh

#: The kinds a verdict can have; ``none`` is "no conflict reported".
KINDS = ("duplicate", "near_duplicate", "contradiction")
#: Low-confidence verdicts: reported, both memories kept. Scored as ``none`` by the strict
#: scores and as the kind they name by the lenient ones.
LOW = {"possible_duplicate": "near_duplicate", "possible_contradiction": "contradiction"}
PREDICTED = (*KINDS, *LOW, "none")
LABELS = (*KINDS, "unrelated", "compatible")


def expected(label: str) -> str:
    return "none" if label in NO_CONFLICT else label


@dataclass(frozen=True)
class Outcome:
    """What writing a pair's second memory did: the kind reported against the first memory
    (``none`` when nothing was), and whether the first memory was hidden (superseded)."""

    kind: str
    superseded: bool


async def outcomes(
    pairs: Sequence[tuple[str, str, str]], *, embedding: Any = "none", scope: str | None = "project"
) -> list[Outcome]:
    """Each pair through a fresh pair of stores on disk, the default policy, in order.

    ``scope=None`` lets MemoryMesh pick each text's scope from its category, as an agent's
    writes usually do: the two texts of a pair may then land in different stores."""
    if embedding == "local":  # one model for every pair, not one per store
        from memorymesh import LocalEmbedder

        embedding = LocalEmbedder()
    out: list[Outcome] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (_label, old, new) in enumerate(pairs):
            base = Path(tmp) / str(n)
            async with AsyncMemoryMesh(
                base / "project.db", global_path=base / "global.db", embedding=embedding
            ) as mesh:
                first = await mesh.remember(old, scope=scope)
                second = await mesh.remember(new, scope=scope)
                mine = [c for c in second.conflicts if c.memory_id == first.id]
                after = await mesh.get(first.id)
                hidden = after is not None and after.superseded_by is not None
                out.append(Outcome(mine[0].kind if mine else "none", hidden))
    return out


async def verdicts(pairs: Sequence[tuple[str, str, str]], *, embedding: Any = "none") -> list[str]:
    """The kind each pair's second memory is reported as, in order."""
    return [o.kind for o in await outcomes(pairs, embedding=embedding)]


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


def _score(tp: int, predicted: int, support: int) -> Score:
    precision = tp / predicted if predicted else 1.0
    recall = tp / support if support else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, support, predicted)


def lenient(got: Sequence[str]) -> list[str]:
    """Verdicts with each low-confidence kind counted as the kind it names."""
    return [LOW.get(g, g) for g in got]


def scores(labels: Sequence[str], got: Sequence[str]) -> dict[str, Score]:
    """Precision / recall / F1 per kind, for "any conflict" (flagged at all, whatever the kind),
    and micro-averaged over the three kinds (a flag of the wrong kind counts as wrong).

    Strict: a low-confidence verdict counts as no verdict (pass :func:`lenient` verdicts to
    count it as the kind it names)."""
    want = [expected(label) for label in labels]
    got = ["none" if g in LOW else g for g in got]
    out: dict[str, Score] = {}
    for kind in KINDS:
        tp = sum(1 for w, g in zip(want, got, strict=True) if w == g == kind)
        out[kind] = _score(tp, got.count(kind), want.count(kind))
    flagged = sum(1 for g in got if g != "none")
    conflicts = sum(1 for w in want if w != "none")
    tp_any = sum(1 for w, g in zip(want, got, strict=True) if w != "none" and g != "none")
    out["any conflict"] = _score(tp_any, flagged, conflicts)
    tp_exact = sum(1 for w, g in zip(want, got, strict=True) if w == g != "none")
    out["all kinds (micro)"] = _score(tp_exact, flagged, conflicts)
    return out


def confusion(labels: Sequence[str], got: Sequence[str]) -> dict[str, Counter[str]]:
    """label → counts of each verdict."""
    table: dict[str, Counter[str]] = {label: Counter() for label in LABELS}
    for label, verdict in zip(labels, got, strict=True):
        table[label][verdict] += 1
    return table


def markdown(labels: Sequence[str], got: Sequence[str]) -> str:
    """The score table and the confusion matrix, as Markdown."""
    lines = [
        "| kind | precision | recall | F1 | pairs | flagged |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in scores(labels, got).items():
        lines.append(
            f"| {name} | {s.precision:.3f} | {s.recall:.3f} | {s.f1:.3f} "
            f"| {s.support} | {s.predicted} |"
        )
    lines += ["", "| label \\ verdict | " + " | ".join(PREDICTED) + " |"]
    lines.append("|---|" + "---:|" * len(PREDICTED))
    for label, counts in confusion(labels, got).items():
        lines.append(f"| {label} | " + " | ".join(str(counts[p]) for p in PREDICTED) + " |")
    return "\n".join(lines)


def mistakes(pairs: Sequence[tuple[str, str, str]], got: Sequence[str]) -> list[str]:
    """One line per pair whose verdict differs from its label."""
    return [
        f"{label:>14} → {verdict:<14} {old!r} → {new!r}"
        for (label, old, new), verdict in zip(pairs, got, strict=True)
        if expected(label) != verdict
    ]


def label_class(label: str) -> str:
    """The issue's three classes: ``contradiction``, ``duplicate`` (exact, near or a
    paraphrase) and ``compatible`` (no conflict: compatible or unrelated)."""
    if label == "contradiction":
        return "contradiction"
    if label in ("duplicate", "near_duplicate", "paraphrase"):
        return "duplicate"
    return "compatible"


def _verdict_class(kind: str) -> str:
    return {"duplicate": "duplicate", "near_duplicate": "duplicate"}.get(kind, kind)


def targets(labels: Sequence[str], outs: Sequence[Outcome]) -> dict[str, float]:
    """The issue's target figures: contradiction precision and recall, duplicate precision and
    recall (confident verdicts only: each acts under the default policy; ``flagged`` also
    counts the low-confidence ones, which keep both memories), and the share of no-conflict
    pairs whose old memory was hidden."""
    classes = [label_class(label) for label in labels]
    strict = [_verdict_class(o.kind) for o in outs]
    flagged = [_verdict_class(LOW.get(o.kind, o.kind)) for o in outs]
    out: dict[str, float] = {}
    for name, got in (("", strict), ("flagged ", flagged)):
        for cls in ("contradiction", "duplicate"):
            s = _score(
                sum(1 for w, g in zip(classes, got, strict=True) if w == g == cls),
                got.count(cls),
                classes.count(cls),
            )
            out[f"{name}{cls} precision"] = s.precision
            out[f"{name}{cls} recall"] = s.recall
    compatible = [o for c, o in zip(classes, outs, strict=True) if c == "compatible"]
    out["compatible superseded"] = (
        sum(o.superseded for o in compatible) / len(compatible) if compatible else 0.0
    )
    out["compatible flagged"] = (
        sum(o.kind != "none" for o in compatible) / len(compatible) if compatible else 0.0
    )
    return out


def targets_markdown(figures: dict[str, float]) -> str:
    lines = ["| figure | value |", "|---|---:|"]
    lines += [f"| {name} | {value:.3f} |" for name, value in figures.items()]
    return "\n".join(lines)


def by_kind(labels: Sequence[str], kinds: Sequence[str], outs: Sequence[Outcome]) -> str:
    """Per ``kind`` of pair, as Markdown: how many, how many got the right confident verdict
    (for a no-conflict pair: no confident verdict), how many were flagged at least at low
    confidence, and how many hid the old memory."""
    rows: dict[tuple[str, str], list[int]] = {}
    for label, kind, o in zip(labels, kinds, outs, strict=True):
        cls = label_class(label)
        row = rows.setdefault((cls, kind), [0, 0, 0, 0])
        got = _verdict_class(o.kind)
        right = got == cls if cls != "compatible" else o.kind in ("none", *LOW)
        seen = _verdict_class(LOW.get(o.kind, o.kind)) == cls if cls != "compatible" else True
        row[0] += 1
        row[1] += right
        row[2] += seen if cls != "compatible" else o.kind != "none"
        row[3] += o.superseded
    lines = [
        "| class | kind | pairs | right | flagged (any confidence) | old hidden |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (cls, kind), (n, right, seen, hidden) in sorted(rows.items()):
        lines.append(f"| {cls} | {kind} | {n} | {right / n:.2f} | {seen} | {hidden} |")
    return "\n".join(lines)


#: The frozen held-out corpus (written independently of the detector; never tune on it).
HELDOUT_PATH = Path(__file__).resolve().parent / "heldout" / "conflict_pairs.json"


def load_heldout(path: Path = HELDOUT_PATH) -> list[tuple[str, str, str, str]]:
    """``(label, kind, old, new)`` for each pair of a held-out corpus file: a JSON list of
    objects (or ``{"pairs": [...]}``) with ``label``, ``kind``, ``old`` and ``new``."""
    import json

    data = json.loads(path.read_text(encoding="utf-8"))
    rows = data["pairs"] if isinstance(data, dict) else data
    return [(str(r["label"]), str(r.get("kind", "")), str(r["old"]), str(r["new"])) for r in rows]


#: The second development corpus (written before its author read the detector or either other
#: corpus). Split at random into A (tuned on) and B (measured only in aggregate, like a
#: held-out set).
DEV2_PATH = Path(__file__).resolve().parent / "conflicts" / "dev2_pairs.json"


def load_dev2(split: str | None = None, path: Path = DEV2_PATH) -> list[tuple[str, str, str, str]]:
    """``(label, kind, old, new)`` for each pair of the second development corpus, all of it or
    one ``split`` (``"A"`` or ``"B"``)."""
    import json

    if split not in (None, "A", "B"):
        raise ValueError(f"split must be 'A', 'B' or None, not {split!r}")
    rows = json.loads(path.read_text(encoding="utf-8"))
    return [
        (str(r["label"]), str(r["kind"]), str(r["old"]), str(r["new"]))
        for r in rows
        if split is None or r["split"] == split
    ]
