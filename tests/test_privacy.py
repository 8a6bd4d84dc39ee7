"""The privacy guard: secrets never reach the store in clear, look-alikes are left alone."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from privacy_corpus import LOOKALIKES, SECRETS

from memorymesh import AsyncMemoryMesh, InvalidInputError, MemoryMesh, SecretDetectedError
from memorymesh.writes._privacy import find_secrets, redact

AWS_SECRET = next(secret for kind, _, secret in SECRETS if kind == "aws_secret_access_key")
GITHUB = next(secret for kind, _, secret in SECRETS if kind == "github_token")


def _raw_rows(db: Path) -> list[tuple[str, str, str]]:
    """What is really in the file, read past MemoryMesh with plain sqlite3."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute("SELECT text, metadata, redactions FROM memories"))
    finally:
        conn.close()


def test_corpus_precision_and_recall(capsys: pytest.CaptureFixture[str]) -> None:
    true_pos = false_neg = false_pos = true_neg = 0
    misses: list[str] = []
    for kind, text, secret in SECRETS:
        cleaned, kinds = redact(text)
        if kind in kinds and secret not in cleaned:
            true_pos += 1
        else:
            false_neg += 1
            misses.append(f"missed {kind}: {text[:60]!r} -> {kinds}")
    for text in LOOKALIKES:
        cleaned, kinds = redact(text)
        if kinds or cleaned != text:
            false_pos += 1
            misses.append(f"false alarm {kinds}: {text[:60]!r}")
        else:
            true_neg += 1
    precision = true_pos / max(1, true_pos + false_pos)
    recall = true_pos / max(1, true_pos + false_neg)
    with capsys.disabled():
        print(
            f"\nprivacy guard: {len(SECRETS)} secrets, {len(LOOKALIKES)} look-alikes; "
            f"precision {precision:.3f}, recall {recall:.3f} "
            f"(tp {true_pos}, fn {false_neg}, fp {false_pos}, tn {true_neg})"
        )
    assert not misses, "\n".join(misses)
    assert len({kind for kind, _, _ in SECRETS}) >= 25  # the corpus covers many providers


def test_only_the_secret_part_is_replaced() -> None:
    cleaned, kinds = redact("DATABASE_URL=postgres://app:Tr0ub4dor&3@db.internal:5432/billing")
    assert (
        cleaned == "DATABASE_URL=postgres://app:[REDACTED:password_in_url]@db.internal:5432/billing"
    )
    assert kinds == ("password_in_url",)
    cleaned, _ = redact(f"deploy with token {GITHUB} and password=hunter2x please")
    assert cleaned == (
        "deploy with token [REDACTED:github_token] and password=[REDACTED:password] please"
    )


def test_specific_kind_wins_over_generic_assignment() -> None:
    assert [m.kind for m in find_secrets(f"GITHUB_TOKEN={GITHUB}")] == ["github_token"]
    assert [m.kind for m in find_secrets(f"aws_secret_access_key={AWS_SECRET}")] == [
        "aws_secret_access_key"
    ]


def test_redaction_is_idempotent() -> None:
    for _, text, _ in SECRETS:
        once, _ = redact(text)
        assert redact(once) == (once, ()), text


@pytest.mark.anyio
async def test_remember_redacts_text_and_metadata_before_they_reach_the_file(
    mesh: AsyncMemoryMesh, project_db: Path
) -> None:
    memory = await mesh.remember(
        f"CI deploys with {GITHUB}; the AWS secret is {AWS_SECRET}",
        scope="project",
        metadata={"env": {"DB_URL": "mysql://root:Pa55w0rd!@db/app"}, "list": ["ok", GITHUB]},
    )
    assert GITHUB not in memory.text and AWS_SECRET not in memory.text
    assert "[REDACTED:github_token]" in memory.text
    assert memory.metadata["env"] == {"DB_URL": "mysql://root:[REDACTED:password_in_url]@db/app"}
    assert memory.metadata["list"] == ["ok", "[REDACTED:github_token]"]
    assert memory.redactions == ("aws_secret_access_key", "github_token", "password_in_url")
    assert (await mesh.get(memory.id)).redactions == memory.redactions
    await mesh.aclose()
    raw = _raw_rows(project_db)
    dump = json.dumps(raw)
    for secret in (GITHUB, AWS_SECRET, "Pa55w0rd!"):
        assert secret not in dump
    assert json.loads(raw[0][2]) == list(memory.redactions)
    # ... and not in the write log or the FTS index either (the whole file, as bytes).
    for path in project_db.parent.iterdir():
        data = path.read_bytes()
        for secret in (GITHUB, AWS_SECRET, "Pa55w0rd!"):
            assert secret.encode() not in data, path


@pytest.mark.anyio
async def test_every_write_path_is_guarded(mesh: AsyncMemoryMesh) -> None:
    many = await mesh.remember_many(
        ["plain note about dark mode", {"text": f"key {GITHUB}", "metadata": {"t": GITHUB}}]
    )
    assert many[0].redactions == ()
    assert many[1].text == "key [REDACTED:github_token]"
    assert many[1].metadata == {"t": "[REDACTED:github_token]"}
    updated = await mesh.update(many[0].id, text="now with password=Sup3rS3cret!")
    assert updated.text == "now with password=[REDACTED:password]"
    assert updated.redactions == ("password",)
    updated = await mesh.update(many[0].id, metadata={"url": "https://u:pw123456@x.io/"})
    assert updated.metadata == {"url": "https://u:[REDACTED:password_in_url]@x.io/"}
    assert updated.redactions == ("password", "password_in_url")


@pytest.mark.anyio
async def test_reject_mode_raises_and_stores_nothing(project_db: Path, global_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db, privacy="reject") as mesh:
        existing = await mesh.remember("an innocent memory")
        with pytest.raises(SecretDetectedError) as info:
            await mesh.remember(f"token is {GITHUB}")
        assert info.value.kinds == ("github_token",)
        assert GITHUB not in str(info.value)  # the error never echoes the secret
        with pytest.raises(SecretDetectedError, match="item 1"):
            await mesh.remember_many(["fine", f"AWS secret {AWS_SECRET}"])
        with pytest.raises(SecretDetectedError, match="metadata"):
            await mesh.remember("fine text", metadata={"k": GITHUB})
        with pytest.raises(SecretDetectedError):
            await mesh.update(existing.id, text=f"password = '{AWS_SECRET}'")
        assert isinstance(info.value, InvalidInputError)
        assert [m.text for m in await mesh.list()] == ["an innocent memory"]


@pytest.mark.anyio
async def test_allow_mode_stores_as_given(project_db: Path, global_db: Path) -> None:
    async with AsyncMemoryMesh(project_db, global_path=global_db, privacy="allow") as mesh:
        memory = await mesh.remember(f"the token is {GITHUB}")
        assert memory.text == f"the token is {GITHUB}" and memory.redactions == ()
        hits = await mesh.recall("token")
        assert hits[0].memory.text == memory.text


@pytest.mark.anyio
async def test_recall_redacts_secrets_stored_before_the_guard(
    project_db: Path, global_db: Path
) -> None:
    # A store written with the guard off (an older version, or another tool) holds a secret.
    async with AsyncMemoryMesh(project_db, global_path=global_db, privacy="allow") as mesh:
        old = await mesh.remember(
            f"deploy token {GITHUB}", category="context", metadata={"note": f"also {GITHUB}"}
        )
    async with AsyncMemoryMesh(project_db, global_path=global_db) as mesh:
        (hit,) = await mesh.recall("deploy token")
        assert hit.memory.id == old.id
        assert hit.memory.text == "deploy token [REDACTED:github_token]"
        assert hit.memory.metadata == {"note": "also [REDACTED:github_token]"}


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="privacy"):
        AsyncMemoryMesh(":memory:", global_path=":memory:", privacy="off")  # type: ignore[arg-type]


def test_sync_twin_takes_the_mode(project_db: Path, global_db: Path) -> None:
    with MemoryMesh(project_db, global_path=global_db, privacy="reject") as mesh:
        assert mesh.privacy == "reject"
        with pytest.raises(SecretDetectedError):
            mesh.remember(f"my key {GITHUB}")


@pytest.mark.anyio
async def test_lookalikes_are_stored_verbatim(mesh: AsyncMemoryMesh) -> None:
    stored = await mesh.remember_many(
        [{"text": text, "on_conflict": "keep_both"} for text in LOOKALIKES]
    )
    assert [m.text for m in stored] == [t.strip() for t in LOOKALIKES]
    assert all(m.redactions == () for m in stored)


def _plain_trigger_scan(text: str) -> list[str]:
    """The trigger scan as it was written first: every trigger, longest first, one alternation."""
    import re

    from memorymesh.writes._privacy import _ALL_TRIGGERS

    return re.findall("|".join(re.escape(t) for t in _ALL_TRIGGERS), text)


def test_trigger_scan_finds_what_the_plain_alternation_finds() -> None:
    """The shared-prefix pattern that recall's redaction scans with finds the same triggers
    at the same places as the alternation of every trigger, longest first: overlapping
    triggers ("passkey", "skey", "pass" in "password") included, so the detectors that run
    are the same ones."""
    import random

    from memorymesh.writes._privacy import _ALL_TRIGGERS, _TRIGGER

    texts = [text.lower() for _, text, _ in SECRETS] + [text.lower() for text in LOOKALIKES]
    pieces = [*_ALL_TRIGGERS, "a", "s", "k", "e", "y", "p", "x", " ", "-", "_", ":", "/"]
    rnd = random.Random(19)
    for _ in range(20_000):
        # Triggers cut short, glued together and overlapping: where the two could differ.
        texts.append(
            "".join(rnd.choice(pieces)[: rnd.randint(1, 16)] for _ in range(rnd.randint(1, 12)))
        )
    for text in texts:
        assert _TRIGGER.findall(text) == _plain_trigger_scan(text), text
