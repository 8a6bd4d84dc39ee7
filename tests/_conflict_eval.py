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
PREDICTED = (*KINDS, "none")
LABELS = (*KINDS, "unrelated", "compatible")


def expected(label: str) -> str:
    return "none" if label in NO_CONFLICT else label


async def verdicts(pairs: Sequence[tuple[str, str, str]], *, embedding: Any = "none") -> list[str]:
    """The kind each pair's second memory is reported as, in order."""
    out: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (_label, old, new) in enumerate(pairs):
            base = Path(tmp) / str(n)
            async with AsyncMemoryMesh(
                base / "project.db", global_path=base / "global.db", embedding=embedding
            ) as mesh:
                first = await mesh.remember(old, scope="project")
                second = await mesh.remember(new, scope="project")
                kinds = [c.kind for c in second.conflicts if c.memory_id == first.id]
                out.append(kinds[0] if kinds else "none")
    return out


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


def scores(labels: Sequence[str], got: Sequence[str]) -> dict[str, Score]:
    """Precision / recall / F1 per kind, for "any conflict" (flagged at all, whatever the kind),
    and micro-averaged over the three kinds (a flag of the wrong kind counts as wrong)."""
    want = [expected(label) for label in labels]
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
