"""Encryption at rest is optional for an engine, but all or nothing: either a store opened
with a key reads back only with that key, or the engine refuses the key when the store is
opened, before anything is written."""

from __future__ import annotations

import pytest

from memorymesh import EncryptionError, MemoryMeshError

from ._helpers import found
from .conftest import OpenMesh

pytestmark = pytest.mark.anyio

PASSPHRASE = "correct horse battery staple"
_USE = {"access_count", "last_accessed_at"}  # recall above counted a use


async def test_an_encrypted_store_opens_only_with_its_key(open_mesh: OpenMesh) -> None:
    sealed = open_mesh(store="sealed", encryption_key=PASSPHRASE)
    try:
        await sealed.open()
    except MemoryMeshError:
        assert sealed.closed  # refused up front; nothing to check beyond that
        return
    async with sealed:
        memory = await sealed.remember("the staging cluster is called kestrel", scope="project")
        assert await found(sealed, "staging cluster kestrel") == [memory.id]
    async with open_mesh(store="sealed", encryption_key=PASSPHRASE) as reopened:
        stored = await reopened.get(memory.id)
        assert stored.model_dump(exclude=_USE) == memory.model_dump(exclude=_USE)
        assert await found(reopened, "staging cluster kestrel") == [memory.id]
    for wrong in ("not the passphrase at all", None):
        with pytest.raises(EncryptionError):
            async with open_mesh(store="sealed", encryption_key=wrong):
                pass
