"""The dashboard on a PostgreSQL store (issue 14): it shows the server's memories, its change
mark moves when another worker writes, and an open page (a real Chromium) shows that write at
once, woken by LISTEN/NOTIFY through the change stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import _postgres
import anyio
import httpx
import pytest
import uvicorn
from playwright.sync_api import expect

from memorymesh import AsyncMemoryMesh
from memorymesh.ui import Guard, _live, create_app
from memorymesh.ui._server import DashboardServer, bind


@pytest.fixture
def served(poll_seconds: float) -> Iterator[tuple[str, Guard, str, Any]]:
    """A dashboard over a fresh schema on the session's server; its address, guard, URL and
    app. Stopped and waited for at the end: no change stream may hold the server up."""
    url = _postgres.server_url(_postgres.fresh_name("ui"), project="acme/ui", owner="dana")
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    guard = Guard.for_address("127.0.0.1", port)
    app = create_app(AsyncMemoryMesh(url), guard, poll_seconds=poll_seconds)
    server = DashboardServer(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "the server did not stop: a change stream kept it"

    app.state.stop = stop
    try:
        yield f"http://127.0.0.1:{port}", guard, url, app
    finally:
        stop()
        sock.close()


def _write(url: str, text: str) -> None:
    """Another worker's write: its own mesh, on another thread's event loop."""

    async def write() -> None:
        async with AsyncMemoryMesh(url) as mesh:
            await mesh.remember(text, scope="project")

    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, write).result()


def test_the_dashboard_shows_a_server_store_and_sees_other_workers_writes(
    served: tuple[str, Guard, str, Any],
) -> None:
    base, guard, url, _ = served
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


@pytest.fixture
def notified_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Streams read the marks again only when a listener wakes them (not every 10 s)."""
    monkeypatch.setattr(_live, "RECHECK_SECONDS", 3600.0)


@pytest.mark.parametrize("poll_seconds", [3600.0])
@pytest.mark.usefixtures("notified_only")
def test_an_open_page_shows_another_workers_write_through_listen_notify(
    served: tuple[str, Guard, str, Any], browser: Any
) -> None:
    base, guard, url, _ = served
    _write(url, "Deploys go out on Tuesdays")
    context = browser.new_context()
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.goto(f"{base}/?token={guard.new_login_token()}")
        expect(page.locator("table.memories")).to_contain_text("Deploys go out on Tuesdays")
        # The page polls once an hour; its stream has sent the current marks.
        expect(page.locator("body")).to_have_attribute("data-live-via", "stream")
        _write(url, "The staging database moved to the eu-west cluster")
        expect(page.locator("table.memories")).to_contain_text(
            "moved to the eu-west cluster", timeout=15_000
        )
        expect(page.locator("#live")).to_be_visible()
    finally:
        context.close()


@pytest.mark.usefixtures("notified_only")
def test_stopping_the_server_ends_streams_and_closes_the_listeners(
    served: tuple[str, Guard, str, Any],
) -> None:
    base, guard, url, app = served
    with httpx.Client(base_url=base, timeout=60) as client:
        assert client.get(f"/?token={guard.new_login_token()}").status_code == 303
        stores = app.state.ui.mesh.stores
        listeners = [store._listener for store in stores]
        connections = [listener._conn for listener in listeners]
        readers = [listener._reader for listener in listeners]
        assert all(conn is not None and not conn.closed for conn in connections)
        with client.stream("GET", "/api/changes/stream") as response:
            lines = (line for line in response.iter_lines() if line.startswith("data: "))
            first = next(lines)
            _write(url, "Written while the stream is open")
            assert next(lines) != first  # woken by the write's notification
            # The server stops while the client still reads: the stream ends.
            app.state.stop()
            assert list(lines) == []
    # The mesh closed with the server: each store's listener, its connection and its reader.
    assert all(conn.closed for conn in connections)
    assert all(reader.done() for reader in readers)
    assert all(store._listener is None for store in stores)
