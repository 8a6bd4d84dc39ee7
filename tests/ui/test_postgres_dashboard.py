"""The dashboard on a PostgreSQL store (issue 14): it shows the server's memories, and its
change mark moves when another worker writes, so open pages refresh (no browser needed)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import _postgres
import anyio
import httpx
import pytest
import uvicorn

from memorymesh import AsyncMemoryMesh
from memorymesh.ui import Guard, create_app
from memorymesh.ui._server import bind


@pytest.fixture
def served() -> Iterator[tuple[str, Guard, str]]:
    """A dashboard over a fresh schema on the session's server; its address, guard, URL."""
    url = _postgres.server_url(_postgres.fresh_name("ui"), project="acme/ui", owner="dana")
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    guard = Guard.for_address("127.0.0.1", port)
    app = create_app(AsyncMemoryMesh(url), guard)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", guard, url
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _write(url: str, text: str) -> None:
    """Another worker's write: its own mesh, on another thread's event loop."""

    async def write() -> None:
        async with AsyncMemoryMesh(url) as mesh:
            await mesh.remember(text, scope="project")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, write).result()


def test_the_dashboard_shows_a_server_store_and_sees_other_workers_writes(
    served: tuple[str, Guard, str],
) -> None:
    base, guard, url = served
    _write(url, "Deploys go out on Tuesdays")
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.get(f"/?token={guard.new_login_token()}").status_code == 303
        listed = client.get("/api/memories").json()
        assert [m["text"] for m in listed["memories"]] == ["Deploys go out on Tuesdays"]
        before = client.get("/api/changes").json()["mark"]
        assert client.get("/api/changes").json()["mark"] == before  # nobody wrote
        _write(url, "The staging database moved to the eu-west cluster")
        assert client.get("/api/changes").json()["mark"] != before
        texts = {m["text"] for m in client.get("/api/memories").json()["memories"]}
        assert "The staging database moved to the eu-west cluster" in texts
