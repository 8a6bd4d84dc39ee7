"""Issue #17, Low: no detector of the privacy guard backtracks catastrophically or scans
quadratically.

Hypothesis builds hostile texts from the pieces the detectors key on (trigger words,
separators, key alphabets, line breaks), repeats them to 300,000 characters, and each must be
redacted within a generous bound: a linear guard takes about a second on such input, the
quadratic one took minutes (``"pass: " * N`` needed 3 s at 48,000 characters and four times as
long for each doubling). How the time grows with size is measured, not asserted, in
``benchmarks/bench_privacy.py``.
"""

from __future__ import annotations

import itertools

import anyio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from memorymesh.writes._privacy import find_secrets, redact

SIZE = 300_000
BOUND_SECONDS = 60.0  # generous: a failure means minutes, not a slow machine

PIECES = [
    "pass",
    "password",
    "pwd",
    "token",
    "secret",
    "api_key",
    "aws",
    "azure",
    "bearer",
    "basic",
    "authorization:",
    "server=a;",
    "accountkey",
    "login",
    "mysql",
    "docker",
    "-p",
    "sk-",
    "ghp_",
    "glpat-",
    "xox",
    "eyJ",
    "key-",
    ":AA",
    "&sig=",
    "://",
    "@",
    ":",
    "=",
    ";",
    " ",
    "\n",
    "\\n",
    '"',
    "'",
    ".",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "Proc-Type: 4",
    "aZ3bY4cX5dW6eV7fU8gT9hS0iR1jQ2kP",
    "0123456789abcdef",
    "A",
    "1",
]


def _redact_within_bound(text: str) -> None:
    async def run() -> None:
        with anyio.fail_after(BOUND_SECONDS):
            await anyio.to_thread.run_sync(redact, text, abandon_on_cancel=True)

    anyio.run(run)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(unit=st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join))
@example(unit="pass: ")  # the three inputs that were quadratic before issue #17
@example(unit="token=xyzw1234 ")
@example(unit="server=a;password=")
def test_hostile_repetitions_are_redacted_within_a_generous_bound(unit: str) -> None:
    text = (unit * (SIZE // len(unit) + 1))[:SIZE]
    _redact_within_bound(text)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.lists(st.sampled_from(PIECES), max_size=60).map("".join))
def test_matches_never_overlap_and_redaction_is_idempotent(text: str) -> None:
    matches = find_secrets(text)
    for before, after in itertools.pairwise(matches):
        assert before.end <= after.start
    once, _ = redact(text)
    assert redact(once)[0] == once
