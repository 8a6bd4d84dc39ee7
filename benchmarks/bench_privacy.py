"""Privacy-guard throughput: typical memories, memories full of trigger words, and
pathological 20,000-character inputs built to make a careless regex scan quadratically.

Run: ``python benchmarks/bench_privacy.py``
"""

from __future__ import annotations

import time

from memorymesh.writes._privacy import redact

CASES: dict[str, tuple[str, int]] = {
    "plain memory (250 ch)": (
        "User prefers dark mode in every editor and terminal, and likes concise answers. " * 3,
        10_000,
    ),
    "trigger words (210 ch)": (
        "We rotate the API key monthly; the deploy token lives in the vault. " * 3,
        10_000,
    ),
    "with a secret (90 ch)": (
        "DATABASE_URL=postgres://app:Tr0ub4dor&3@db.internal:5432/billing and password=Winter24!",
        10_000,
    ),
    "worst: host=a; x 2800": ("host=a;" * 2800 + " pwd", 5),
    "worst: token= x 3300": ("token=" * 3300, 5),
    "worst: x://u:u:u:...": ("x://" + "u:" * 9998, 5),
    "worst: bearer x 900": (("bearer " + "a1" * 8 + " ") * 900, 5),
}


def main() -> None:
    print(f"{'input':<24} {'chars':>7} {'per call':>12}")
    for name, (text, repeat) in CASES.items():
        text = text[:20_000]
        started = time.perf_counter()
        for _ in range(repeat):
            redact(text)
        per_call = (time.perf_counter() - started) / repeat
        unit = f"{per_call * 1e6:.0f} µs" if per_call < 0.01 else f"{per_call * 1e3:.0f} ms"
        print(f"{name:<24} {len(text):>7} {unit:>12}")


if __name__ == "__main__":
    main()
