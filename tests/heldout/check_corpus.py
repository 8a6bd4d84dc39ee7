"""Sanity check for the held-out conflict corpus (structure only, no detector)."""

import json
import sys
from collections import Counter
from pathlib import Path

LABELS = {"contradiction", "duplicate", "compatible"}
DIFFICULTIES = {"easy", "medium", "hard"}
KEYS = {"id", "label", "kind", "difficulty", "old", "new"}


def main() -> int:
    pairs = json.loads((Path(__file__).parent / "conflict_pairs.json").read_text("utf-8"))
    errors = []
    ids, texts = Counter(), Counter()
    for p in pairs:
        if set(p) != KEYS:
            errors.append(f"{p.get('id')}: keys {sorted(p)}")
        if p["label"] not in LABELS:
            errors.append(f"{p['id']}: label {p['label']}")
        if p["difficulty"] not in DIFFICULTIES:
            errors.append(f"{p['id']}: difficulty {p['difficulty']}")
        if not p["old"].strip() or not p["new"].strip() or p["old"] == p["new"]:
            errors.append(f"{p['id']}: empty or identical texts")
        ids[p["id"]] += 1
        texts[(p["old"].lower(), p["new"].lower())] += 1
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]
    errors += [f"duplicate pair {t}" for t, n in texts.items() if n > 1]
    by_label = Counter(p["label"] for p in pairs)
    errors += [f"only {by_label[lab]} {lab}" for lab in LABELS if by_label[lab] < 120]
    print(f"{len(pairs)} pairs")
    print("label:", dict(sorted(by_label.items())))
    difficulty = Counter((p["label"], p["difficulty"]) for p in pairs)
    print("difficulty:", dict(sorted(difficulty.items())))
    for label in sorted(LABELS):
        print(label, dict(sorted(Counter(p["kind"] for p in pairs if p["label"] == label).items())))
    for e in errors:
        print("ERROR", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
