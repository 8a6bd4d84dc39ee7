"""The conflict tokens a SQLite store keeps (migration 0009): always equal to what tokenising
its current memories gives, whichever path wrote them (the pipeline, update, forget, restore,
import, a version that knows nothing of tokens), filled on a store from before the
migration, and never kept in the clear for an encrypted store. Engine-independent behaviour
is in tests/contract/test_conflict_tokens.py."""

from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path

import pytest
from _rows import plain_row

from memorymesh import AsyncMemoryMesh
from memorymesh._models import Scope
from memorymesh.stores.sqlite._store import SQLiteStore
from memorymesh.stores.sqlite._tokens import unpack_seqs
from memorymesh.writes._conflicts import content_tokens

pytestmark = pytest.mark.anyio

OLD = "The staging database runs PostgreSQL 14"
NEW = "The staging database runs PostgreSQL 16"


def _expected(path: Path) -> dict[str, frozenset[str]]:
    """Each current memory's subject words, tokenised from its text now."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT id, text FROM memories WHERE superseded_by IS NULL AND status = 'active'"
        ).fetchall()
    return {mid: content_tokens(text)[0] for mid, text in rows}


def _stored(path: Path) -> dict[str, frozenset[str]]:
    """The tokens the store keeps, checked to agree across its three tables."""
    with sqlite3.connect(path) as conn:
        memories = conn.execute(
            "SELECT c.seq, m.id, c.words FROM conflict_memories c JOIN memories m USING (seq)"
        ).fetchall()
        entries = conn.execute("SELECT count(*) FROM conflict_memories").fetchone()[0]
        holders = {
            token: list(unpack_seqs(blob))
            for token, blob in conn.execute("SELECT token, seqs FROM conflict_words")
        }
        singles = set(conn.execute("SELECT token, seq FROM conflict_singles").fetchall())
    assert entries == len(memories)  # no entry outlives its memory
    words = {mid: frozenset(w.split("\x1f")) if w else frozenset() for _, mid, w in memories}
    assert all(len(seqs) == len(set(seqs)) for seqs in holders.values())  # each holder once
    assert {(w, seq) for w, seqs in holders.items() for seq in seqs} == {
        (w, seq) for seq, mid, _ in memories for w in words[mid]
    }
    assert singles == {
        (w, seq) for seq, mid, _ in memories if len(words[mid]) == 1 for w in words[mid]
    }
    return words


async def test_a_store_from_before_the_migration_is_filled_by_its_first_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = SQLiteStore(path, scope=Scope.PROJECT)
    await old.open(_migrate_upto=8)
    async with old.write() as tx:
        await tx.insert_many(
            [
                plain_row("m1", OLD),
                plain_row("m2", "the kiwi crates ship on fridays"),
                plain_row("m3", "one"),
            ]
        )
    await old.close()
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == ["m1"]
    assert _stored(path) == _expected(path)
    assert set(_expected(path)) == {"m2", "m3", new.id}


async def test_tokens_follow_every_kind_of_write(tmp_path: Path) -> None:
    path, other = tmp_path / "p.db", tmp_path / "other.db"
    async with AsyncMemoryMesh(other, global_path=tmp_path / "og.db") as source:
        await source.remember_many(["The deploy target for the API service is us-east-1", OLD])
        exported = io.StringIO()
        await source.export(exported)
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        written = await mesh.remember_many(
            [f"the build cache for service {i} lives in bucket {i}" for i in range(20)]
        )
        assert _stored(path) == _expected(path)
        await mesh.update(written[0].id, text="the build cache moved to the shared bucket")
        await mesh.forget(written[1].id)
        await mesh.forget_many([written[2].id, written[3].id])
        assert _stored(path) == _expected(path)
        old = await mesh.remember(OLD.replace("14", "13"))
        new = await mesh.remember(NEW)  # supersedes `old`
        assert [c.memory_id for c in new.conflicts] == [old.id]
        assert _stored(path) == _expected(path)
        await mesh.restore(old.id)
        assert _stored(path) == _expected(path)
        # An import writes rows as exported; the next write brings their tokens in, in its
        # own transaction, and is checked against them.
        await mesh.import_(io.StringIO(exported.getvalue()))
        later = await mesh.remember("The deploy target for the API service is eu-west-2")
        assert later.conflicts and _stored(path) == _expected(path)


async def test_a_write_by_a_version_without_tokens_is_caught_up(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("the kiwi crates ship on fridays")
    # Another program (an older MemoryMesh) inserts a row and tokenises nothing.
    with sqlite3.connect(path) as conn:
        now = time.time()
        conn.execute(
            "INSERT INTO memories (id, text, content_hash, category, importance, scope, "
            "created_at, updated_at) VALUES ('legacy', ?, 'h', 'context', 0.5, 'project', ?, ?)",
            [OLD, now, now],
        )
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == ["legacy"]
    assert _stored(path) == _expected(path)


async def test_a_fresh_mesh_builds_no_token_index(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember_many([f"fact {i} about the orchard row {i}" for i in range(30)])
        await mesh.remember(OLD)
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        new = await mesh.remember(NEW)
        assert new.conflicts
        # Structural: a one-shot write reads candidates from the store, it does not load
        # every memory into an in-memory index.
        assert mesh._indexes.lexicons == {}


async def test_an_encrypted_store_keeps_no_words_in_the_clear(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    key = "a-test-passphrase-long-enough"
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db", encryption_key=key) as mesh:
        old = await mesh.remember(OLD)
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [old.id]
    with sqlite3.connect(path) as conn:
        for table in ("conflict_words", "conflict_memories", "conflict_singles"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


async def test_a_batch_writer_warms_its_index_and_the_next_process_catches_up(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.db"
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("the kiwi crates ship on fridays")  # the stored tokens exist
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        # 1,000 texts checked: this mesh now keeps the index in memory and leaves the stored
        # tokens to be caught up from the change feed.
        await mesh.remember_many([f"fact {i} about the orchard row {i}" for i in range(1_000)])
        assert mesh._indexes.lexicons
        old = await mesh.remember(OLD)
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == [old.id]
    assert len(_stored(path)) == 1  # behind: only the first memory
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        latest = await mesh.remember("The staging database runs PostgreSQL 15")
        assert [c.memory_id for c in latest.conflicts] == [new.id]
        assert mesh._indexes.lexicons == {}
    assert _stored(path) == _expected(path)


async def test_a_seq_reused_after_another_program_deleted_its_memory(tmp_path: Path) -> None:
    # The tokens are keyed by seq, and SQLite hands a deleted last row's seq to the next
    # insert: the deleted memory's words must leave, the newcomer's take their place.
    path = tmp_path / "p.db"
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        await mesh.remember("the kiwi crates ship on fridays")
        last = await mesh.remember("the mango pallets leave on tuesdays")
    with sqlite3.connect(path) as conn:
        (seq,) = conn.execute("SELECT seq FROM memories WHERE id = ?", [last.id]).fetchone()
        conn.execute("DELETE FROM memories WHERE id = ?", [last.id])
        now = time.time()
        conn.execute(
            "INSERT INTO memories (id, text, content_hash, category, importance, scope, "
            "created_at, updated_at) VALUES ('legacy', ?, 'h', 'context', 0.5, 'project', ?, ?)",
            [OLD, now, now],
        )
        assert conn.execute("SELECT seq FROM memories WHERE id = 'legacy'").fetchone() == (seq,)
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == ["legacy"]
        assert _stored(path) == _expected(path)
        await mesh.forget("legacy")  # the last one again, deleted by this process
    assert _stored(path) == _expected(path)
    with sqlite3.connect(path) as conn:
        tokens = {t for (t,) in conn.execute("SELECT token FROM conflict_words")}
    assert not tokens & {"mango", "pallet", "pallets"}


async def test_the_compacting_migration_empties_the_old_tables_and_the_next_write_fills(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    old = SQLiteStore(path, scope=Scope.PROJECT)
    await old.open(_migrate_upto=10)  # 0010_judge: 0009's four tables, filled below
    async with old.write() as tx:
        await tx.insert_many(
            [plain_row("m1", OLD), plain_row("m2", "the kiwi crates ship on fridays")]
        )
    await old.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO conflict_tokens (token, seq) VALUES ('stale', 1)")
        conn.execute("INSERT INTO conflict_singles (token, seq) VALUES ('stale', 1)")
        conn.execute("INSERT INTO store_meta (key, value) VALUES ('conflict_tokens_mark', '99')")
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db") as mesh:
        new = await mesh.remember(NEW)
        assert [c.memory_id for c in new.conflicts] == ["m1"]
    assert _stored(path) == _expected(path)
    with sqlite3.connect(path) as conn:
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert not tables & {"conflict_tokens", "conflict_token_counts"}
        assert (
            conn.execute("SELECT count(*) FROM conflict_words WHERE token = 'stale'").fetchone()[0]
            == 0
        )


#: A store written by MemoryMesh at 90a9888 (session 8's start), whose tokeniser read "HR" as
#: "hour", stemmed "notes" to "not", gave first-person texts no "user" and kept "apartment"
#: and "flat" apart. Made by remembering, in keyword mode, "User works in HR.", "I keep my
#: meeting notes in Obsidian.", "The user rents a two-bedroom apartment in Leeds." and
#: "Deploys go out on Tuesdays." with that version's code.
OLD_TOKENISER = Path(__file__).parent / "fixtures" / "tokens-90a9888" / "project.db"


async def test_tokens_stored_by_the_earlier_tokeniser_are_refilled(tmp_path: Path) -> None:
    path = tmp_path / "project.db"
    path.write_bytes(OLD_TOKENISER.read_bytes())
    with sqlite3.connect(path) as conn:
        stale = {w for (w,) in conn.execute("SELECT words FROM conflict_memories")}
    assert "hour\x1fwork\x1fuser" in stale  # what the earlier tokeniser stored
    async with AsyncMemoryMesh(path, global_path=tmp_path / "g.db", embedding="none") as mesh:
        # Judged against the HR memory only if its stored tokens are today's: a stale entry
        # never equals the text's tokens now, and is passed over.
        hr = await mesh.remember("The user works in human resources.", scope="project")
        flat = await mesh.remember("I rent a two-bedroom flat in Leeds.", scope="project")
    assert [c.kind for c in hr.conflicts] == ["near_duplicate"]
    assert [c.kind for c in flat.conflicts] == ["near_duplicate"]
    stored = _stored(path)
    assert stored == _expected(path)
    assert not any("hour" in words or "not" in words for words in stored.values())
