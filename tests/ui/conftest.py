"""A real dashboard server (uvicorn on a free port, in a thread, over SQLite files in
tmp_path) and a real Chromium (the Debian package, driven by Playwright) for tests/ui/.

The browser starts once per module (it is the slow part); each test gets a fresh store, a
fresh server and a fresh browser context, logged in through the one-time token the way a
person's first visit is.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
playwright_api = pytest.importorskip("playwright.sync_api")

import uvicorn  # noqa: E402

from memorymesh import AsyncMemoryMesh  # noqa: E402
from memorymesh.ui import Guard, create_app  # noqa: E402
from memorymesh.ui._server import DashboardServer, bind  # noqa: E402

CHROMIUM = shutil.which("chromium")
#: Where screenshots go when set (docs/assets for the docs); tests take none otherwise.
SHOTS = os.environ.get("MEMORYMESH_UI_SCREENSHOTS")


@dataclass
class Dashboard:
    base: str
    guard: Guard
    project: Path
    global_db: Path

    def login_url(self, path: str = "/") -> str:
        return f"{self.base}{path}?token={self.guard.new_login_token()}"

    def mesh(self) -> AsyncMemoryMesh:
        """Another mesh on the same files (as another process would open them)."""
        return AsyncMemoryMesh(self.project, global_path=self.global_db)

    def seed(self, items: list[Any], *, review: bool = False) -> list[str]:
        """Write ``items`` through another mesh on the same files; their ids."""

        async def write() -> list[str]:
            async with self.mesh() as mesh:
                return [m.id for m in await mesh.remember_many(items, review=review)]

        # Playwright's sync API keeps an event loop on this thread: write from another one.
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(anyio.run, write).result()

    def shot(self, page: Any, name: str) -> None:
        """Save the page for the docs, when asked to (MEMORYMESH_UI_SCREENSHOTS)."""
        if SHOTS:
            page.screenshot(path=str(Path(SHOTS) / f"dashboard-{name}.png"))


@pytest.fixture
def poll_seconds() -> float:
    """How often pages poll when they have no change stream (a test parametrizes it)."""
    return 2.0


@pytest.fixture
def dashboard(tmp_path: Path, poll_seconds: float) -> Iterator[Dashboard]:
    project, global_db = tmp_path / "project.db", tmp_path / "global.db"
    mesh = AsyncMemoryMesh(project, global_path=global_db)
    sock = bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    guard = Guard.for_address("127.0.0.1", port)
    app = create_app(mesh, guard, poll_seconds=poll_seconds)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = DashboardServer(config)
    # The socket listens already: requests made before uvicorn accepts wait in its backlog.
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield Dashboard(f"http://127.0.0.1:{port}", guard, project, global_db)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


# Per module, not per session: Playwright's sync API holds an event loop on the main thread
# while it runs, and the tests after this module's (anyio's included) need it free.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        missing = "the chromium package is not installed (apt-get install chromium)"
        if os.environ.get("CI"):  # `make setup-all` installs it: in CI a skip would hide a gap
            pytest.fail(missing)
        pytest.skip(missing)
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, dashboard: Dashboard) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
