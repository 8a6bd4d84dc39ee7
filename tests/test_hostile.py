"""Hostile input: nothing a caller passes changes a query's meaning or breaks a round trip.

Extends tests/test_errors.py (which covers single bad values) with injection attempts through
every parameter that reaches SQL, and property-based round trips (hypothesis).
"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from memorymesh import (
    AsyncMemoryMesh,
    InvalidFilterError,
    InvalidInputError,
    MemoryMesh,
    MemoryNotFoundError,
    contains_injected,
)
from memorymesh._text import query_terms
from memorymesh.writes._privacy import find_secrets, redact

INJECTIONS = [
    "' OR '1'='1",
    "x'); DROP TABLE memories; --",
    '" OR 1=1 --',
    "1; DELETE FROM memories",
    "%",
    "_",
    "\\",
    "$.a') IS NOT NULL OR ('1",
    "*",
    "NEAR(a b)",
    "text:anything",
    "memories_fts:x",
    "\u0000",
]


def _tables(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


@pytest.mark.anyio
async def test_injection_through_every_filter_parameter(
    mesh: AsyncMemoryMesh, project_db: Path
) -> None:
    plain = await mesh.remember("deploys go out on tuesday", scope="project", metadata={"n": 1})
    evil_rows = []
    for i, evil in enumerate(s for s in INJECTIONS if "\x00" not in s):
        evil_rows.append(
            await mesh.remember(
                f"deploy note {i}: {evil}",
                scope="project",
                session_id=evil,
                metadata={"tag": evil, "n": i + 10},
                on_conflict="keep_both",  # each its own row: this test is about filters
            )
        )
    tables = _tables(project_db)
    total = await mesh.count()
    for i, evil in enumerate(s for s in INJECTIONS if "\x00" not in s):
        # Values are bound parameters: each matches exactly its own row, nothing more.
        assert [m.id for m in await mesh.list(metadata_filter={"tag": evil})] == [evil_rows[i].id]
        assert [m.id for m in await mesh.list(session_id=evil)] == [evil_rows[i].id]
        assert await mesh.count(metadata_filter={"tag": {"$ne": evil}}) == total - 1
        assert await mesh.count(metadata_filter={"tag": {"$in": [evil, "nope"]}}) == 1
        hits = await mesh.recall("deploy", k=100, metadata_filter={"tag": evil})
        assert [h.memory.id for h in hits] == [evil_rows[i].id]
    for evil in INJECTIONS:
        # Identifiers come from allowlists: anything else is refused before SQL is built.
        if evil != "_":  # `_` is a legitimate key name (and harmless: the path is bound)
            with pytest.raises(InvalidFilterError):
                await mesh.list(metadata_filter={evil: 1})
        with pytest.raises(InvalidFilterError):
            await mesh.list(metadata_filter={"tag": {evil: 1}})
        with pytest.raises(InvalidInputError):
            await mesh.list(order=evil)  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            await mesh.list(category=evil)
        with pytest.raises(InvalidInputError):
            await mesh.list(scope=evil)
        with pytest.raises(InvalidInputError):
            await mesh.recall("deploy", category=[evil])
        # LIKE wildcards in an id prefix are literal characters.
        with pytest.raises(MemoryNotFoundError):
            await mesh.resolve_id(evil)
        with pytest.raises(MemoryNotFoundError):
            await mesh.get(evil)
    assert await mesh.count() == total
    assert (await mesh.get(plain.id)).text == plain.text
    assert _tables(project_db) == tables


FTS_OPERATORS = st.sampled_from(
    [
        '"',
        "*",
        "NEAR",
        "NEAR(",
        ")",
        "(",
        "AND",
        "OR",
        "NOT",
        "-",
        "+",
        "^",
        ":",
        "text:",
        "memories_fts:",
        "{text}",
        "{text id}:",
        ",",
        "'",
        "\\",
    ]
)
WORDS = st.sampled_from(["dark", "mode", "deploy", "tuesday", "cache", "build", "near", "and"])


@pytest.mark.anyio
async def test_fts_operators_never_change_what_a_query_means(memory_mesh: AsyncMemoryMesh) -> None:
    texts = [
        "User prefers dark mode",
        "deploys go out on tuesday",
        "the build cache is warm",
        "near the cache and the build",
        "dark build mode for tuesday deploy",
    ]
    await memory_mesh.remember_many(texts)
    queries: list[tuple[str, str]] = []

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of(FTS_OPERATORS, WORDS), min_size=1, max_size=8))
    def collect(parts: list[str]) -> None:
        hostile = " ".join(parts)
        plain = " ".join(query_terms(hostile))
        assume(hostile.strip())
        queries.append((hostile, plain))

    collect()
    for hostile, plain in queries:
        got = [h.memory.id for h in await memory_mesh.recall(hostile, k=10)]
        want = [h.memory.id for h in await memory_mesh.recall(plain, k=10)] if plain else []
        assert sorted(got) == sorted(want), hostile
    assert await memory_mesh.count() == len(texts)


# -- property-based round trips -----------------------------------------------------------------

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=300,
    # Text that holds MemoryMesh's own injected-context marker is refused on purpose
    # (tests/test_injected.py); everything else must round-trip.
).filter(lambda s: s.strip() != "" and not contains_injected(s))
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
METADATA = st.dictionaries(st.text(max_size=12), JSON, max_size=5)
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))


def test_remember_get_update_forget_round_trip(tmp_path: Path) -> None:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db", privacy="allow") as mesh:

        @SETTINGS
        @given(text=TEXT, new_text=TEXT, metadata=METADATA, importance=st.floats(0.0, 1.0))
        def round_trip(
            text: str, new_text: str, metadata: dict[str, Any], importance: float
        ) -> None:
            m = mesh.remember(
                text, metadata=metadata, importance=importance, on_conflict="keep_both"
            )
            got = mesh.get(m.id)
            assert got.text == text.strip()
            assert got.metadata == metadata
            assert got.importance == importance
            assert mesh.update(m.id, text=new_text).text == new_text.strip()
            assert mesh.get(m.id).text == new_text.strip()
            assert mesh.forget(m.id).id == m.id
            with pytest.raises(MemoryNotFoundError):
                mesh.get(m.id)

        round_trip()
        assert mesh.count() == 0
        assert mesh.health() == {str(tmp_path / "p.db"): ["ok"], str(tmp_path / "g.db"): ["ok"]}


def test_recall_accepts_any_text_and_returns_only_stored_memories(tmp_path: Path) -> None:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        stored = {
            m.id for m in mesh.remember_many(["alpha beta", "gamma δέλτα", "日本語 テキスト"])
        }

        @SETTINGS
        @given(query=TEXT)
        def recall_anything(query: str) -> None:
            hits = mesh.recall(query, k=10)
            assert {h.memory.id for h in hits} <= stored
            assert all(h.score >= 0.0 for h in hits)

        recall_anything()
        assert mesh.count() == 3


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.0001, 1.0001, 1e308])
def test_non_finite_or_out_of_range_importance_is_refused(tmp_path: Path, bad: float) -> None:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        m = mesh.remember("a fine memory")
        with pytest.raises(InvalidInputError):
            mesh.remember("x", importance=bad)
        with pytest.raises(InvalidInputError):
            mesh.update(m.id, importance=bad)
        with pytest.raises(InvalidInputError):
            mesh.recall("fine", min_importance=bad)
        assert mesh.get(m.id).importance == m.importance and mesh.count() == 1


def test_huge_and_empty_inputs(tmp_path: Path) -> None:
    with MemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db") as mesh:
        biggest = "word " * 4000  # exactly the 20,000-character limit
        m = mesh.remember(biggest)
        assert len(mesh.get(m.id).text) == len(biggest.strip())
        assert mesh.recall("word")[0].memory.id == m.id
        for empty in ("", " ", "\n\t", "\u200b" * 0):
            with pytest.raises(InvalidInputError):
                mesh.remember(empty)
            with pytest.raises(InvalidInputError):
                mesh.recall(empty)
        with pytest.raises(InvalidInputError):
            mesh.remember(biggest + "x" * 10)
        assert mesh.count() == 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_guard_never_fails_and_is_idempotent_on_any_text(text: str) -> None:
    cleaned, kinds = redact(text)
    assert redact(cleaned) == (cleaned, ())
    assert (cleaned == text) == (kinds == ())
    for match in find_secrets(text):
        assert 0 <= match.start < match.end <= len(text)


def test_encrypted_round_trip_and_recall_of_any_text(tmp_path: Path) -> None:
    pytest.importorskip("cryptography")
    with MemoryMesh(
        tmp_path / "p.db",
        global_path=tmp_path / "g.db",
        privacy="allow",
        encryption_key="hypothesis passphrase",
    ) as mesh:

        @SETTINGS
        @given(text=TEXT, metadata=METADATA)
        def round_trip(text: str, metadata: dict[str, Any]) -> None:
            m = mesh.remember(text, metadata=metadata, on_conflict="keep_both")
            got = mesh.get(m.id)
            assert (got.text, got.metadata) == (text.strip(), metadata)
            words = query_terms(text)
            if words:  # every stored word finds its memory through the keyed-token index
                hits = mesh.recall(" ".join(words[:3]), k=1000)
                assert m.id in {h.memory.id for h in hits}
            mesh.forget(m.id)

        round_trip()
        assert mesh.count() == 0
