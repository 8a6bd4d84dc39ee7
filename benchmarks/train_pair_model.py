"""Fit the pair model of ``memorymesh/writes/_pairs.py`` on the development corpora only.

Training pairs: ``tests/conflict_corpus.py`` and split A of ``tests/conflicts/dev2_pairs.json``
(never split B, never the held-out corpus); with ``--dev4``, split A of
``tests/conflicts/dev4_pairs.json`` too. Each pair is seen as the detector sees it: in
keyword mode only if the token index would offer it as a candidate, with the embedder only if
its cosine reaches the subject gate. A multinomial logistic regression (numpy, L2-regularised)
over the features of :func:`memorymesh.writes._pairs.features`; ``--write`` puts the fitted
weights into ``_pairs.py``.

    python benchmarks/train_pair_model.py            # print the fit and the weights
    python benchmarks/train_pair_model.py --write    # and store them
    python benchmarks/train_pair_model.py --cv 5     # out-of-fold figures of the whole detector
    python benchmarks/train_pair_model.py --cross    # verdicts on pairs of different pairs' texts
"""

from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from _conflict_eval import label_class, load_dev2  # noqa: E402
from conflict_corpus import PAIRS  # noqa: E402

from memorymesh.writes import _pairs  # noqa: E402
from memorymesh.writes._conflicts import (  # noqa: E402
    _judge,
    _subject_changed,
    content_tokens,
    judge,
    reaches,
    subject_gate,
)

_CLASS = {"compatible": 0, "duplicate": 1, "contradiction": 2}


def _same(a: str, b: str) -> bool:
    def norm(t: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", t).casefold().split())

    return norm(a) == norm(b)


def reachable(new: str, old: str) -> bool:
    """Whether the keyword token index offers ``old`` as a candidate for ``new`` (by its
    shared words, or by the related words of its second probe)."""
    a, b = content_tokens(new)[0], content_tokens(old)[0]
    return reaches(a, b) or (len(b) == 1 and b <= a)


DEV4_PATH = ROOT / "tests" / "conflicts" / "dev4_pairs.json"


def pairs(*, dev4: bool = False) -> list[tuple[int, str, str]]:
    rows = [(label, old, new) for label, old, new in PAIRS]
    rows += [(label, old, new) for label, _, old, new in load_dev2("A")]
    if dev4:  # split A of the fourth corpus (session 9); never its split B
        rows += [(label, old, new) for label, _, old, new in load_dev2("A", DEV4_PATH)]
    return [(_CLASS[label_class(label)], old, new) for label, old, new in rows]


def cosines(texts: list[str], cache: Path | None = None) -> dict[str, np.ndarray]:
    """Unit vectors of ``texts`` from the local model (kept in ``cache``, a pickle, if given)."""
    import pickle

    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.exists():
        known = pickle.loads(cache.read_bytes())  # a file this script wrote
    missing = sorted(set(texts) - set(known))
    if not missing:
        return known
    from sentence_transformers import SentenceTransformer

    from memorymesh.embeddings._embedders import local_model_path

    model = SentenceTransformer(local_model_path(), device="cpu")
    vectors = model.encode(missing, normalize_embeddings=True, batch_size=64)
    known.update(zip(missing, vectors, strict=True))
    if cache is not None:
        cache.write_bytes(pickle.dumps(known))
    return known


def fit(x: np.ndarray, y: np.ndarray, *, l2: float, steps: int) -> np.ndarray:
    """Softmax regression by full-batch gradient descent; classes weighted to balance."""
    n, d = x.shape
    w = np.zeros((3, d))
    counts = np.bincount(y, minlength=3).astype(float)
    sample = (n / (3 * np.maximum(counts, 1)))[y]
    onehot = np.eye(3)[y]
    rate = 1.0
    for _ in range(steps):
        z = x @ w.T
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        grad = ((p - onehot) * sample[:, None]).T @ x / n
        grad[:, 1:] += l2 * w[:, 1:]
        w -= rate * grad
    return w


def examples(
    data: list[tuple[int, str, str]], vectors: dict[str, np.ndarray], mode: str
) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The features and classes of the pairs the detector would judge in ``mode``, and the
    positions in ``data`` they come from."""
    xs, ys, at = [], [], []
    for n, (c, old, new) in enumerate(data):
        cos = None
        if mode == "keyword":
            if not reachable(new, old):
                continue
        else:
            cos = float(vectors[new] @ vectors[old])
            if cos < subject_gate(new):
                continue
        rule = _judge(new, old, cos)
        xs.append(
            _pairs.features(
                new, old, cos, rule[0] if rule else None, subject_changed=_subject_changed(new, old)
            )
        )
        ys.append(c)
        at.append(n)
    return np.array(xs), np.array(ys), at


def _as_weights(w: np.ndarray) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in w)


def verdict(old: str, new: str, cos: float | None) -> str:
    """The kind the detector reports for one pair in a store holding only ``old``."""
    if _same(old, new):
        return "duplicate"
    if cos is None:
        if not reachable(new, old):
            return "none"
        found = judge(new, old)
    else:
        if cos < subject_gate(new):
            return "none"
        found = judge(new, old, cos)
    return found[0] if found else "none"


def figures(classes: list[int], kinds: list[str]) -> dict[str, float]:
    """The issue's figures from each pair's class and the kind reported for it."""
    got = [{"contradiction": 2, "near_duplicate": 1, "duplicate": 1}.get(kind, 0) for kind in kinds]
    out = {}
    for name, c in (("contradiction", 2), ("duplicate", 1)):
        tp = sum(1 for want, g in zip(classes, got, strict=True) if want == g == c)
        out[f"{name} P"] = tp / max(1, got.count(c))
        out[f"{name} R"] = tp / max(1, classes.count(c))
    compatible = [g for want, g in zip(classes, got, strict=True) if want == 0]
    out["compatible hidden"] = sum(g != 0 for g in compatible) / max(1, len(compatible))
    return out


def cross_validate(
    data: list[tuple[int, str, str]],
    vectors: dict[str, np.ndarray],
    *,
    folds: int,
    l2: float,
    steps: int,
) -> None:
    """k-fold: each fold's pairs judged by the whole detector with weights fitted on the other
    folds; the figures of every fold's pairs together, per mode."""
    order = np.random.default_rng(7).permutation(len(data))
    fold_of = np.empty(len(data), dtype=int)
    fold_of[order] = np.arange(len(data)) % folds
    saved = (_pairs._WEIGHTS_KEYWORD, _pairs._WEIGHTS_EMBEDDING)
    for mode in ("keyword", "embedding"):
        x, y, at = examples(data, vectors, mode)
        where = fold_of[at]
        kinds = [""] * len(data)
        for k in range(folds):
            w = fit(x[where != k], y[where != k], l2=l2, steps=steps)
            if mode == "keyword":
                _pairs._WEIGHTS_KEYWORD = _as_weights(w)
            else:
                _pairs._WEIGHTS_EMBEDDING = _as_weights(w)
            for n, (_c, old, new) in enumerate(data):
                if fold_of[n] == k:
                    cos = None if mode == "keyword" else float(vectors[new] @ vectors[old])
                    kinds[n] = verdict(old, new, cos)
        _pairs._WEIGHTS_KEYWORD, _pairs._WEIGHTS_EMBEDDING = saved
        got = figures([c for c, _, _ in data], kinds)
        print(f"{mode}, {folds}-fold: " + "  ".join(f"{k} {v:.3f}" for k, v in got.items()))


def cross_pairs(data: list[tuple[int, str, str]], *, show: bool) -> None:
    """Every ordered pair of texts from *different* pairs that keyword mode compares: mostly
    two facts about one subject (a second attribute), some real conflicts between templates of
    one fact. Prints how many get each verdict (and, with ``show``, the confident ones, to be
    read: they are not labelled)."""
    texts = [(n, text) for n, (_c, old, new) in enumerate(data) for text in (old, new)]
    tokens = [content_tokens(text)[0] for _, text in texts]
    counts: dict[str, int] = {}
    for a, (pair_a, new) in enumerate(texts):
        for b, (pair_b, old) in enumerate(texts):
            if pair_a == pair_b or new == old or not tokens[a] or not tokens[b]:
                continue
            if not (
                reaches(tokens[a], tokens[b]) or (len(tokens[b]) == 1 and tokens[b] <= tokens[a])
            ):
                continue
            found = judge(new, old)
            kind = found[0] if found else "none"
            counts[kind] = counts.get(kind, 0) + 1
            if show and found and kind in ("contradiction", "near_duplicate"):
                print(f"  {kind}: {old!r} -> {new!r}  [{found[2]}]")
    confident = counts.get("contradiction", 0) + counts.get("near_duplicate", 0)
    print(f"keyword cross-pairs: {sum(counts.values())} compared, {confident} confident, {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="store the weights in _pairs.py")
    parser.add_argument("--cache", type=Path, help="a pickle of the local model's vectors")
    parser.add_argument("--l2", type=float, default=0.002)
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--cv", type=int, default=0, help="k-fold cross-validation, k folds")
    parser.add_argument("--cross", action="store_true", help="verdicts on cross-pairs")
    parser.add_argument("--show", action="store_true", help="with --cross, list confident ones")
    parser.add_argument("--dev4", action="store_true", help="train on split A of dev4 too")
    args = parser.parse_args()
    data = [(c, old, new) for c, old, new in pairs(dev4=args.dev4) if not _same(old, new)]
    if args.cross:
        cross_pairs(data, show=args.show)
        return
    vectors = cosines([t for _, old, new in data for t in (old, new)], args.cache)
    if args.cv:
        cross_validate(data, vectors, folds=args.cv, l2=args.l2, steps=args.steps)
        return
    fitted = {}
    for mode in ("keyword", "embedding"):
        x, y, _ = examples(data, vectors, mode)
        w = fit(x, y, l2=args.l2, steps=args.steps)
        z = x @ w.T
        acc = float((z.argmax(axis=1) == y).mean())
        print(f"{mode}: {len(y)} pairs, training accuracy {acc:.3f}")
        for name, col in zip(_pairs.FEATURES, w.T, strict=True):
            print(f"  {name:28} " + " ".join(f"{v:+.2f}" for v in col))
        fitted[mode] = w
    if args.write:
        path = ROOT / "memorymesh" / "writes" / "_pairs.py"
        source = path.read_text(encoding="utf-8")
        for mode, name in (("keyword", "_WEIGHTS_KEYWORD"), ("embedding", "_WEIGHTS_EMBEDDING")):
            rows = ",\n".join(
                "    (\n"
                + "\n".join(
                    "        " + " ".join(f"{v:.3f}," for v in row[at : at + 10])
                    for at in range(0, len(row), 10)
                )
                + "\n    )"
                for row in fitted[mode]
            )
            block = f"{name}: tuple[tuple[float, ...], ...] = (\n{rows},\n)  # fmt: skip"
            source = re.sub(
                rf"{name}: [^\n]*\n(?: {{4}}[^\n]*\n)*\)  # fmt: skip\n",
                lambda _m, b=block: b + "\n",
                source,
                count=1,
            )
        path.write_text(source, encoding="utf-8")
        print(f"weights written to {path}")


if __name__ == "__main__":
    main()
