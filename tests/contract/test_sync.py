"""The blocking ``MemoryMesh`` runs the same operations on the backend from plain threads
(it drives an event loop of its own), so a backend must not depend on the caller's loop."""

from __future__ import annotations

import io
import threading

import pytest

from memorymesh import MemoryNotFoundError

from ._helpers import embedder
from .conftest import OpenSyncMesh


def test_the_blocking_mesh_does_everything_on_the_backend(open_sync_mesh: OpenSyncMesh) -> None:
    with open_sync_mesh(store="kept", embedding=embedder()) as mesh:
        memory = mesh.remember("the release train leaves every tuesday", metadata={"team": "ops"})
        [batch] = mesh.remember_many([{"text": "the canteen opens at noon", "scope": "global"}])
        assert mesh.recall("release train tuesday", mode="vector")[0].memory.id == memory.id
        assert [h.memory.id for h in mesh.recall("canteen", mode="keyword")] == [batch.id]
        assert mesh.update(memory.id, importance=0.9).importance == 0.9
        buffer = io.StringIO()
        assert mesh.export(buffer) == 2
        assert mesh.forget(batch.id).id == batch.id
        assert mesh.count() == 1
    with open_sync_mesh(store="kept", embedding=embedder()) as reopened:
        assert reopened.get(memory.id).importance == 0.9
        with pytest.raises(MemoryNotFoundError):
            reopened.get(batch.id)
        assert reopened.import_(io.StringIO(buffer.getvalue())).imported == 1
        assert reopened.count() == 2


def test_several_threads_share_one_blocking_mesh(open_sync_mesh: OpenSyncMesh) -> None:
    errors: list[BaseException] = []
    with open_sync_mesh() as mesh:

        def work(thread: int) -> None:
            try:
                for i in range(10):
                    mesh.remember(f"thread {thread} note {i}", on_conflict="keep_both")
            except BaseException as exc:  # surfaced below: a thread cannot fail the test itself
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert mesh.count() == 40
