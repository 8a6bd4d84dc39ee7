"""The privacy guard: throughput, scaling on hostile input, and accuracy against
detect-secrets.

1. Throughput: typical memories, memories full of trigger words, and pathological
   20,000-character inputs built to make a careless regex scan quadratically.
2. Scaling: the same hostile patterns at 10k, 20k, 40k and 80k characters. A linear detector
   doubles its time when the input doubles (ratio ~2); a quadratic one quadruples it.
3. Accuracy: precision and recall on both corpora (``tests/privacy_corpus.py``, written with
   the detectors, and ``tests/security/secret_corpus.py``, written later from the providers'
   formats), for our guard and, when a Python with ``detect-secrets`` is given (or found at
   /tmp/ds-venv), for detect-secrets' default plugins on the same texts, line by line as it
   scans files. A secret counts as caught when it no longer appears in our redacted text; for
   detect-secrets, when a finding overlaps it. A negative is a false alarm when anything is
   reported on it.

Run: ``python benchmarks/bench_privacy.py [--detect-secrets /tmp/ds-venv/bin/python]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from memorymesh.writes._privacy import redact

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "tests"), str(HERE.parent / "tests" / "security")]

from privacy_corpus import LOOKALIKES, SECRETS  # noqa: E402
from secret_corpus import NEGATIVES  # noqa: E402
from secret_corpus import SECRETS as SECRETS_2  # noqa: E402

SCALING: dict[str, str] = {
    "pass: ": "pass: ",
    "token=x ": "token=xyzw1234 ",
    "server=a;password=": "server=a;password=",
    "aws ": "aws ",
    "a://b:": "a://b:",
    "BEGIN ... PRIVATE KEY": "-----BEGIN RSA PRIVATE KEY-----\n",
    "azure ": "azure ",
    "login a password ": "login a password ",
    "mysql -p": "mysql -p",
}

# detect-secrets as it is used: `scan_file` on a file (its default plugins and filters), one
# file per memory. (`scan_line` is its ad-hoc mode, eager enough to flag every word.)
_DS_SCRIPT = """
import json, os, sys, tempfile
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings
texts = json.load(sys.stdin)
out = []
with default_settings(), tempfile.TemporaryDirectory() as folder:
    for n, text in enumerate(texts):
        path = os.path.join(folder, f"memory{n}.txt")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\\n")
        found = SecretsCollection()
        found.scan_file(path)
        out.append([[s.type, s.secret_value or ""] for _, s in found])
json.dump(out, sys.stdout)
"""

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


def throughput() -> None:
    print(f"{'input':<24} {'chars':>7} {'per call':>12}")
    for name, (text, repeat) in CASES.items():
        text = text[:20_000]
        started = time.perf_counter()
        for _ in range(repeat):
            redact(text)
        per_call = (time.perf_counter() - started) / repeat
        unit = f"{per_call * 1e6:.0f} µs" if per_call < 0.01 else f"{per_call * 1e3:.0f} ms"
        print(f"{name:<24} {len(text):>7} {unit:>12}")


def scaling() -> None:
    sizes = (10_000, 20_000, 40_000, 80_000)
    print(f"\n{'hostile pattern':<24} " + " ".join(f"{n // 1000:>6}k" for n in sizes) + "  ratio")
    for name, unit in SCALING.items():
        times = []
        for n in sizes:
            text = (unit * (n // len(unit) + 1))[:n]
            started = time.perf_counter()
            redact(text)
            times.append(time.perf_counter() - started)
        cells = " ".join(f"{t * 1e3:>5.0f}ms" for t in times)
        print(f"{name:<24} {cells}  {times[-1] / max(times[-2], 1e-9):>5.1f}")


def _caught_by_detect_secrets(secret: str, found: list[list[str]]) -> bool:
    for kind, value in found:
        if value and (value in secret or secret in value or secret[:16] in value):
            return True
        if kind == "Private Key":  # it reports the header line: the block was found
            return True
    return False


def accuracy(ds_python: str | None) -> None:
    corpora = {
        "privacy_corpus (written with the guard)": (SECRETS, LOOKALIKES),
        "secret_corpus (issue #17, independent)": (SECRETS_2, NEGATIVES),
    }
    print(f"\n{'corpus':<42} {'tool':<16} {'recall':>7} {'precision':>9}  tp  fn  fp  tn")
    for label, (secrets, negatives) in corpora.items():
        ours_tp = sum(secret not in redact(text)[0] for _, text, secret in secrets)
        ours_fp = sum(redact(text)[1] != () for text in negatives)
        rows = [("memorymesh", ours_tp, ours_fp, [])]
        if ds_python:
            texts = [text for _, text, _ in secrets] + list(negatives)
            done = subprocess.run(
                [ds_python, "-c", _DS_SCRIPT],
                input=json.dumps(texts),
                capture_output=True,
                text=True,
                check=True,
            )
            results = json.loads(done.stdout)
            hits = results[: len(secrets)]
            ds_tp = sum(
                _caught_by_detect_secrets(secret, found)
                for (_, _, secret), found in zip(secrets, hits, strict=True)
            )
            ds_fp = sum(bool(found) for found in results[len(secrets) :])
            misses = [
                fmt
                for (fmt, _, s), f in zip(secrets, hits, strict=True)
                if not _caught_by_detect_secrets(s, f)
            ]
            alarms = sorted({t for found in results[len(secrets) :] for t, _ in found})
            rows.append(("detect-secrets", ds_tp, ds_fp, [misses, alarms]))
        for tool, tp, fp, extra in rows:
            fn, tn = len(secrets) - tp, len(negatives) - fp
            precision = tp / max(1, tp + fp)
            print(
                f"{label:<42} {tool:<16} {tp / len(secrets):>7.3f} {precision:>9.3f}"
                f" {tp:>3} {fn:>3} {fp:>3} {tn:>3}"
            )
            if extra:
                print(f"{'':<42}   missed: {', '.join(extra[0]) or '-'}")
                print(f"{'':<42}   false alarms by: {', '.join(extra[1]) or '-'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = "/tmp/ds-venv/bin/python"
    parser.add_argument(
        "--detect-secrets",
        metavar="PYTHON",
        default=default if Path(default).exists() else None,
        help="a Python interpreter with detect-secrets installed (compared when given)",
    )
    args = parser.parse_args()
    throughput()
    scaling()
    accuracy(args.detect_secrets)


if __name__ == "__main__":
    main()
