"""Encryption at rest: nothing readable in the file, search and filters still work."""

from __future__ import annotations

import contextlib
import io
import json
import os
import sqlite3
from pathlib import Path

import anyio
import pytest

from memorymesh import (
    AsyncMemoryMesh,
    EncryptionError,
    InvalidFilterError,
    InvalidInputError,
    MemoryMesh,
)
from memorymesh.cli import main

pytest.importorskip("cryptography")
pytestmark = pytest.mark.anyio

PASSPHRASE = "correct horse battery staple"
SECRET_WORDS = [b"billing", b"Tuesdays", b"postgres", b"ops-team", b"dark", b"pipeline"]


def _file_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file())


async def test_text_metadata_and_log_are_unreadable_in_the_files(tmp_path: Path) -> None:
    folder = tmp_path / "enc"
    async with AsyncMemoryMesh(
        folder / "p.db", global_path=folder / "g.db", encryption_key=PASSPHRASE
    ) as mesh:
        m = await mesh.remember(
            "We deploy the billing service on Tuesdays with the pipeline",
            scope="project",
            metadata={"team": "ops-team", "db": "postgres"},
        )
        await mesh.remember("User prefers dark mode", category="preference")
        await mesh.update(m.id, metadata={"team": "ops-team", "db": "postgres", "v": 2})
        assert (await mesh.get(m.id)).metadata == {"team": "ops-team", "db": "postgres", "v": 2}
        assert mesh.stores[0].encrypted and mesh.stores[1].encrypted
    data = _file_bytes(folder)
    for word in SECRET_WORDS:
        assert word not in data, word
    conn = sqlite3.connect(folder / "p.db")
    text, metadata = conn.execute("SELECT text, metadata FROM memories").fetchone()
    conn.close()
    assert "billing" not in text and '"sealed": "mm1:' in metadata


async def test_search_filters_dedup_and_updates_keep_working(tmp_path: Path) -> None:
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", encryption_key=PASSPHRASE
    ) as mesh:
        deploy = await mesh.remember(
            "We deploy the billing service on Tuesdays", category="decision", importance=0.9
        )
        theme = await mesh.remember("User prefers dark mode everywhere", category="preference")
        await mesh.remember("Lunch is at noon", category="context", importance=0.1)
        hits = await mesh.recall("when do we deploy billing?")
        assert hits[0].memory.id == deploy.id
        assert hits[0].memory.text == deploy.text
        assert [h.memory.id for h in await mesh.recall("dark theme", category="preference")] == [
            theme.id
        ]
        assert await mesh.recall("billing", category="preference") == []
        assert await mesh.count(category="decision") == 1
        assert [m.id for m in await mesh.list(order="importance", limit=1)] == [deploy.id]
        assert await mesh.count(scope="global") == 1
        assert await mesh.recall("billing", min_importance=0.95) == []
        # Duplicates are still found (through a keyed hash).
        assert (await mesh.remember("we deploy the BILLING service on tuesdays")).id == deploy.id
        updated = await mesh.update(deploy.id, text="Billing deploys moved to Wednesdays")
        assert updated.text == "Billing deploys moved to Wednesdays"
        assert [h.memory.id for h in await mesh.recall("wednesday deployment")] == [deploy.id]
        assert await mesh.recall("tuesdays") == []
        with pytest.raises(InvalidFilterError, match="encrypted"):
            await mesh.recall("billing", metadata_filter={"team": "ops"})
        log = await mesh.stores[0].recent_log(10)
        assert any(action == "updated" for _, (action, *_rest) in log)


async def test_reopen_with_the_right_key_the_wrong_key_or_none(tmp_path: Path) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
        m = await mesh.remember("the staging cluster is called kestrel", scope="project")
    async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
        assert (await mesh.get(m.id)).text == m.text
    with pytest.raises(EncryptionError, match="wrong encryption key"):
        async with AsyncMemoryMesh(**paths, encryption_key="not the passphrase"):
            pass
    with pytest.raises(EncryptionError, match="encrypted"):
        async with AsyncMemoryMesh(**paths):
            pass
    with pytest.raises(EncryptionError, match="passphrase"):
        async with AsyncMemoryMesh(**paths, encryption_key=os.urandom(32)):
            pass


async def test_a_raw_key_and_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = os.urandom(32)
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", encryption_key=key
    ) as mesh:
        m = await mesh.remember("raw keys work too", scope="project")
    async with AsyncMemoryMesh(
        tmp_path / "p.db", global_path=tmp_path / "g.db", encryption_key=key
    ) as mesh:
        assert (await mesh.get(m.id)).text == "raw keys work too"
    monkeypatch.setenv("MEMORYMESH_ENCRYPTION_KEY", PASSPHRASE)
    with MemoryMesh(tmp_path / "q.db", global_path=tmp_path / "h.db") as sync_mesh:
        sync_mesh.remember("through the environment", scope="project")
    monkeypatch.delenv("MEMORYMESH_ENCRYPTION_KEY")
    with pytest.raises(EncryptionError):
        MemoryMesh(tmp_path / "q.db", global_path=tmp_path / "h.db")
    for bad in ("short", b"16 bytes exactly", 42):
        with pytest.raises(InvalidInputError):
            AsyncMemoryMesh(":memory:", global_path=":memory:", encryption_key=bad)  # type: ignore[arg-type]


async def test_tampered_or_moved_ciphertext_raises_instead_of_returning_garbage(
    tmp_path: Path,
) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
        a = await mesh.remember("first secret plan", scope="project")
        b = await mesh.remember("second secret plan", scope="project")
    conn = sqlite3.connect(tmp_path / "p.db")
    sealed_b = conn.execute("SELECT metadata FROM memories WHERE id = ?", [b.id]).fetchone()[0]
    conn.execute("UPDATE memories SET metadata = ? WHERE id = ?", [sealed_b, a.id])
    conn.commit()
    conn.close()
    async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
        assert (await mesh.get(b.id)).text == "second secret plan"
        with pytest.raises(EncryptionError, match="authenticate"):
            await mesh.get(a.id)
    for garbage in ('{"sealed": "mm1:!!not base64!!"}', '{"sealed": "mm1:AAAA"}', "{}"):
        conn = sqlite3.connect(tmp_path / "p.db")
        conn.execute("UPDATE memories SET metadata = ? WHERE id = ?", [garbage, b.id])
        conn.commit()
        conn.close()
        async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
            with pytest.raises(EncryptionError):
                await mesh.get(b.id)


async def test_an_existing_plain_store_is_not_half_encrypted(tmp_path: Path) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(**paths) as mesh:
        await mesh.remember("written before encryption", scope="project")
    with pytest.raises(EncryptionError, match="unencrypted"):
        async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE):
            pass
    async with AsyncMemoryMesh(**paths) as mesh:
        assert await mesh.count() == 1


async def test_doctor_and_backup_work_on_an_encrypted_store(tmp_path: Path) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as mesh:
        m = await mesh.remember("backups of encrypted stores stay encrypted", scope="project")
    args = ["--db", str(paths["path"]), "--global-db", str(paths["global_path"]), "--json"]

    def run(argv: list[str]) -> tuple[int, dict]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(argv)
        return code, json.loads(out.getvalue())

    code, report = await anyio.to_thread.run_sync(run, ["doctor", *args])
    assert code == 0 and report["stores"]["project"]["encrypted"] is True
    code, done = await anyio.to_thread.run_sync(run, ["backup", str(tmp_path / "bk"), *args])
    copy = Path(done["project"]["path"])
    assert b"backups" not in await anyio.Path(copy).read_bytes()
    async with AsyncMemoryMesh(copy, global_path=":memory:", encryption_key=PASSPHRASE) as mesh:
        assert (await mesh.get(m.id)).text == m.text


async def test_a_process_without_the_key_cannot_write_plaintext_after_encryption(
    tmp_path: Path,
) -> None:
    paths = {"path": tmp_path / "p.db", "global_path": tmp_path / "g.db"}
    async with AsyncMemoryMesh(**paths) as plain:  # opened first, store still empty
        async with AsyncMemoryMesh(**paths, encryption_key=PASSPHRASE) as encrypted:
            await encrypted.remember("sealed kestrel note", scope="project")
        with pytest.raises(EncryptionError, match="another process"):
            await plain.remember("plaintext albatross note", scope="project")
        with pytest.raises(EncryptionError, match="encrypted"):
            await plain.list()  # never the keyed tokens as if they were text
    assert b"albatross" not in _file_bytes(tmp_path)
