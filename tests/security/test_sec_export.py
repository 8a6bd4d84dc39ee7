"""Issue #17, Medium 5: an export is written 0600, never silently replaces a file, and an
encrypted store's export is encrypted with the same key (and imports back with it)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from memorymesh import AsyncMemoryMesh, EncryptionError, TargetExistsError
from memorymesh.cli import main

pytest.importorskip("cryptography")

KEY = "correct horse battery staple"
SECRET_WORD = "quetzalfirmware"  # a word that must not appear in clear in an encrypted export


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.mark.anyio
async def test_export_is_private_and_refuses_to_overwrite(
    mesh: AsyncMemoryMesh, tmp_path: Path
) -> None:
    await mesh.remember("We deploy billing on Tuesdays", category="decision")
    old = os.umask(0o022)  # a usual umask: without care the file would be 0644
    try:
        target = tmp_path / "out.jsonl"
        assert await mesh.export(target) == 1
        assert _mode(target) == 0o600
        before = target.read_bytes()
        with pytest.raises(TargetExistsError):
            await mesh.export(target)
        assert target.read_bytes() == before  # untouched
        # An existing world-readable file replaced on request becomes private too.
        loose = tmp_path / "loose.md"
        loose.write_text("old notes")
        loose.chmod(0o644)
        with pytest.raises(TargetExistsError):
            await mesh.export(loose, format="markdown")
        assert loose.read_text() == "old notes"
        await mesh.export(loose, format="markdown", overwrite=True)
        assert _mode(loose) == 0o600 and "billing" in loose.read_text()
        # A symlink planted at the target is refused, not followed.
        victim = tmp_path / "victim.txt"
        victim.write_text("keep me")
        (tmp_path / "link.jsonl").symlink_to(victim)
        with pytest.raises(TargetExistsError):
            await mesh.export(tmp_path / "link.jsonl")
        assert victim.read_text() == "keep me"
        leftovers = [p for p in os.listdir(tmp_path) if p.startswith(".memorymesh-export-")]
        assert leftovers == []
    finally:
        os.umask(old)


def test_cli_export_refuses_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["remember", "We deploy billing on Tuesdays"]) == 0
    target = tmp_path / "out.jsonl"
    assert main(["export", "-o", str(target)]) == 0
    assert _mode(target) == 0o600
    capsys.readouterr()
    assert main(["export", "-o", str(target)]) in (1, 2)  # an error, not a usage slip
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert main(["export", "--force", "-o", str(target)]) == 0


@pytest.mark.anyio
async def test_encrypted_store_exports_encrypted_and_imports_back(tmp_path: Path) -> None:
    first = (tmp_path / "a" / "p.db", tmp_path / "a" / "g.db")
    async with AsyncMemoryMesh(first[0], global_path=first[1], encryption_key=KEY) as mesh:
        await mesh.remember(f"the {SECRET_WORD} rollout starts Monday", scope="project")
        await mesh.remember(f"I like {SECRET_WORD} release notes short", scope="global")
        await mesh.export(tmp_path / "sealed.jsonl")
        await mesh.export(tmp_path / "sealed.md", format="markdown")
        await mesh.export(tmp_path / "plain.jsonl", encrypt=False)  # asked for explicitly
    for name in ("sealed.jsonl", "sealed.md"):
        data = (tmp_path / name).read_bytes()
        assert SECRET_WORD.encode() not in data and b"rollout" not in data
        assert _mode(tmp_path / name) == 0o600
    assert SECRET_WORD in (tmp_path / "plain.jsonl").read_text()

    second = (tmp_path / "b" / "p.db", tmp_path / "b" / "g.db")
    async with AsyncMemoryMesh(second[0], global_path=second[1], encryption_key=KEY) as mesh:
        report = await mesh.import_(tmp_path / "sealed.jsonl")
        assert report.imported == 2
        texts = sorted(m.text for m in await mesh.list(limit=10))
        assert texts == sorted(
            [
                f"the {SECRET_WORD} rollout starts Monday",
                f"I like {SECRET_WORD} release notes short",
            ]
        )
    # Without the key, or with another one: a clear EncryptionError, nothing imported.
    async with AsyncMemoryMesh(tmp_path / "c.db", global_path=tmp_path / "cg.db") as plain:
        with pytest.raises(EncryptionError, match="encrypted"):
            await plain.import_(tmp_path / "sealed.jsonl")
        assert await plain.count() == 0
        with pytest.raises(EncryptionError):
            await plain.export(tmp_path / "x.jsonl", encrypt=True)
    async with AsyncMemoryMesh(
        tmp_path / "d.db", global_path=tmp_path / "dg.db", encryption_key="another passphrase"
    ) as other:
        with pytest.raises(EncryptionError, match="does not decrypt"):
            await other.import_(tmp_path / "sealed.jsonl")
    # A changed byte is detected.
    tampered = bytearray((tmp_path / "sealed.jsonl").read_bytes())
    tampered[-10] = ord("A") if tampered[-10] != ord("A") else ord("B")
    (tmp_path / "tampered.jsonl").write_bytes(bytes(tampered))
    async with AsyncMemoryMesh(
        tmp_path / "e.db", global_path=tmp_path / "eg.db", encryption_key=KEY
    ) as again:
        with pytest.raises(EncryptionError):
            await again.import_(tmp_path / "tampered.jsonl")
        assert await again.count() == 0
