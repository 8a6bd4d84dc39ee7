"""#17 High 3: opening a path checks that it is a store first, and never changes a file's mode.

Real files in tmp_path, the real CLI entry point in process.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, CorruptDatabaseError, StoreError
from memorymesh._paths import NotADatabaseFileError, create_private_file, prepare_database_file
from memorymesh.cli import main


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("memorymesh: error: ")
    return lines[0]


def test_stats_on_a_text_file_leaves_it_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my private notes\n" * 10)
    notes.chmod(0o644)
    before = _digest(notes)
    assert main(["stats", "--db", str(notes)]) != 0
    assert "not a MemoryMesh store" in _one_error_line(capsys)
    assert _mode(notes) == 0o644
    assert _digest(notes) == before
    assert not (tmp_path / "notes.txt-wal").exists()
    assert not (tmp_path / "notes.txt-shm").exists()


def test_a_system_like_file_is_never_re_permissioned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `--db /etc/passwd` did as root, on a stand-in the test may own.
    passwd = tmp_path / "passwd"
    passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    passwd.chmod(0o644)
    assert main(["list", "--db", str(passwd)]) != 0
    _one_error_line(capsys)
    assert _mode(passwd) == 0o644


async def _store(path: Path) -> None:
    async with AsyncMemoryMesh(path, global_path=":memory:") as mesh:
        await mesh.remember("Read-only stores stay read-only", scope="project")


@pytest.mark.anyio
async def test_a_read_only_store_stays_read_only_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "archive.db"
    await _store(db)
    db.chmod(0o444)
    before = _digest(db)
    # Read-write open of a 0444 store: a clear error (chosen over a silent read-only mode,
    # see docs/security.md), even for root, whom the OS would let write.
    with pytest.raises(StoreError, match="read-only"):
        async with AsyncMemoryMesh(db, global_path=":memory:"):
            pass  # pragma: no cover - never opened
    assert _mode(db) == 0o444
    assert _digest(db) == before


@pytest.mark.anyio
async def test_symlinks_are_never_chmod_ed_through(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a store")
    notes.chmod(0o640)
    link = tmp_path / "link.db"
    link.symlink_to(notes)
    with pytest.raises(CorruptDatabaseError, match="not a MemoryMesh store"):
        async with AsyncMemoryMesh(link, global_path=":memory:"):
            pass  # pragma: no cover
    assert _mode(notes) == 0o640 and notes.read_text() == "not a store"

    # A symlink to a real store opens, and the store keeps the mode its owner chose.
    real = tmp_path / "shared" / "memories.db"
    await _store(real)
    real.chmod(0o640)
    alias = tmp_path / "alias.db"
    alias.symlink_to(real)
    async with AsyncMemoryMesh(alias, global_path=":memory:") as mesh:
        assert await mesh.count() == 1
    assert _mode(real) == 0o640

    # The file primitive never creates (or opens for writing) through a planted symlink.
    dangling = tmp_path / "dangling.db"
    target = tmp_path / "elsewhere" / "created.db"
    target.parent.mkdir()
    dangling.symlink_to(target)
    assert create_private_file(dangling) is False
    with pytest.raises(NotADatabaseFileError):
        prepare_database_file(dangling)
    assert not target.exists()


@pytest.mark.anyio
async def test_a_loosened_store_is_reported_not_silently_changed(tmp_path: Path) -> None:
    db = tmp_path / "store" / "memories.db"
    await _store(db)
    db.chmod(0o644)
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        await mesh.remember("after someone ran chmod", scope="project")
    assert _mode(db) == 0o644
    from memorymesh.stores.sqlite import check_file

    report = await check_file(db)
    assert any("permissions" in problem for problem in report.problems)


@pytest.mark.anyio
async def test_files_memorymesh_creates_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "memories.db"
    async with AsyncMemoryMesh(db, global_path=":memory:") as mesh:
        await mesh.remember("new stores are private", scope="project")
        for suffix in ("", "-wal", "-shm"):
            sidecar = db.with_name(db.name + suffix)
            if sidecar.exists():
                assert _mode(sidecar) == 0o600, sidecar
    assert _mode(db.parent) == 0o700


@pytest.mark.skipif(not Path("/proc/1/mem").exists(), reason="needs Linux /proc")
def test_special_files_get_a_typed_error(capsys: pytest.CaptureFixture[str]) -> None:
    for special in ("/proc/1/mem", os.devnull):
        assert main(["stats", "--db", special]) != 0
        assert "not a MemoryMesh store" in _one_error_line(capsys)
