"""Live updates pushed by the change stream (``/api/changes/stream``), with polling as the
fallback: a real uvicorn over real SQLite files, a real Chromium, and a plain HTTP client
for the stream's own life (it ends with its client, and with the server)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect

from memorymesh import AsyncMemoryMesh
from memorymesh.ui import Guard, create_app
from memorymesh.ui._server import DashboardServer, bind

from .conftest import Dashboard

NOTE = {"text": "The user prefers dark mode in every editor", "category": "preference"}
LATER = {"text": "The CI runs on two cores", "category": "context"}


@pytest.mark.parametrize("poll_seconds", [3600.0])
def test_another_processs_write_reaches_the_page_through_the_stream_alone(
    page: Any, dashboard: Dashboard
) -> None:
    # The page polls once an hour: only the stream can bring the write in.
    dashboard.seed([NOTE])
    page.goto(dashboard.login_url())
    expect(page.locator("body")).to_have_attribute("data-poll-ms", "3600000")
    expect(page.locator("#total")).to_have_text("1")
    # The stream's first event (the current marks) has arrived: the next write is news.
    expect(page.locator("body")).to_have_attribute("data-live-via", "stream")
    dashboard.seed([LATER])
    expect(page.locator("table.memories")).to_contain_text(LATER["text"], timeout=15_000)
    expect(page.locator("#total")).to_have_text("2")
    expect(page.locator("#live")).to_be_visible()


@pytest.mark.parametrize("poll_seconds", [3600.0])
def test_a_write_before_the_stream_opens_still_refreshes_the_page(
    page: Any, dashboard: Dashboard
) -> None:
    # The write lands after the page was rendered but before its stream starts: the stream's
    # first marks are then newer than the page, which knows the marks it was rendered at.
    dashboard.seed([NOTE])

    def write_then_open(route: Any) -> None:
        dashboard.seed([LATER])
        route.continue_()

    page.route("**/api/changes/stream", write_then_open)
    page.goto(dashboard.login_url())
    expect(page.locator("table.memories")).to_contain_text(LATER["text"], timeout=15_000)
    expect(page.locator("#total")).to_have_text("2")


@pytest.mark.parametrize("poll_seconds", [0.2])
def test_without_eventsource_the_page_polls(page: Any, dashboard: Dashboard) -> None:
    page.add_init_script("delete window.EventSource;")
    dashboard.seed([NOTE])
    page.goto(dashboard.login_url())
    expect(page.locator("#total")).to_have_text("1")
    expect(page.locator("body")).to_have_attribute("data-live-via", "poll")
    dashboard.seed([LATER])
    expect(page.locator("#total")).to_have_text("2", timeout=15_000)


@dataclass
class Served:
    app: Any
    base: str
    server: uvicorn.Server

    @property
    def state(self) -> Any:
        return self.app.state.ui

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """A logged-in HTTP client."""
        with httpx.Client(base_url=self.base, timeout=60) as client:
            assert client.get(f"/?token={self.state.guard.new_login_token()}").status_code == 303
            yield client


@contextmanager
def _served(tmp_path: Path, server_class: type[uvicorn.Server]) -> Iterator[Served]:
    """A dashboard on ``server_class``, stopped (and waited for) on exit."""
    mesh = AsyncMemoryMesh(tmp_path / "project.db", global_path=tmp_path / "global.db")
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    app = create_app(mesh, Guard.for_address("127.0.0.1", port))
    server = server_class(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    served = Served(app, f"http://127.0.0.1:{port}", server)
    try:
        yield served
    finally:
        server.should_exit = True
        # uvicorn waits for every request still being answered: a stream left running
        # (its client gone or not) would hold this join until its timeout.
        thread.join(timeout=60)
        sock.close()
    assert not thread.is_alive(), "the server did not stop: a change stream kept it running"
    assert served.state.open_streams == 0


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def test_the_stream_ends_when_its_client_leaves(tmp_path: Path) -> None:
    # uvicorn's own server: nothing but the client's leaving can end the stream.
    with _served(tmp_path, uvicorn.Server) as served, served.client() as client:
        mark = client.get("/api/changes").json()["mark"]
        with client.stream("GET", "/api/changes/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            assert next(_events(response.iter_lines())) == {"mark": mark}
            assert served.state.open_streams == 1
        # Closed here; the server stopping on exit waits for the stream to have ended.


def test_the_server_stopping_ends_open_streams(tmp_path: Path) -> None:
    with (
        _served(tmp_path, DashboardServer) as served,
        served.client() as client,
        client.stream("GET", "/api/changes/stream") as response,
    ):
        events = _events(response.iter_lines())
        next(events)
        served.server.should_exit = True
        # The stream ends: the server closes it instead of waiting for this client.
        assert list(events) == []


def test_the_stream_needs_a_session(tmp_path: Path) -> None:
    with (
        _served(tmp_path, DashboardServer) as served,
        httpx.Client(base_url=served.base, timeout=60) as client,
    ):
        refused = client.get("/api/changes/stream")
        assert refused.status_code == 401
        assert refused.json()["error"]["type"] == "unauthorized"
        assert (
            client.get("/api/changes/stream", headers={"host": "evil.example:80"}).status_code
            == 400
        )


def test_the_stream_is_read_only(tmp_path: Path) -> None:
    with _served(tmp_path, DashboardServer) as served, served.client() as client:
        assert client.head("/api/changes/stream").status_code == 200  # and ends at once
        csrf = served.state.guard.csrf_for(client.cookies["memorymesh_ui"])
        posted = client.post("/api/changes/stream", headers={"x-csrf-token": csrf})
        assert posted.status_code == 405
        assert served.state.open_streams == 0
