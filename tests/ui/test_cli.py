"""``memorymesh ui`` as a person runs it: a real process that prints a one-time address,
serves on the loopback only, stops cleanly on Ctrl-C, and says in one line what is missing."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anyio
import httpx

from memorymesh._version import install_command


def _serve(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "memorymesh", "ui", "--no-browser", "--port", "0",
            "--db", str(tmp_path / "p.db"), "--global-db", str(tmp_path / "g.db"), *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_ui_prints_a_one_time_address_on_the_loopback_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    process = _serve(tmp_path)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("MemoryMesh dashboard: http://localhost:")
        url = line.split(": ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        with httpx.Client(follow_redirects=True) as client:
            page = client.get(url)
            assert page.status_code == 200 and "Memories" in page.text
            assert httpx.get(url).status_code == 401  # the token worked once
            # Bound to 127.0.0.1 only: the same port on another local address is closed.
            with socket_refused():
                httpx.get(f"http://127.0.0.2:{port}/", timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err  # stopped by Ctrl-C, after a graceful shutdown
    assert err.strip() == ""  # no traceback, no "mesh not closed" warning


def test_ctrl_c_stops_the_server_while_a_change_stream_is_open(tmp_path: Path) -> None:
    # uvicorn waits for open responses before it stops; the dashboard ends its streams.
    process = _serve(tmp_path)
    stopped = False
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(": ", 1)[1].strip()
        with httpx.Client(timeout=60) as client:
            assert client.get(url).status_code == 303
            base = url.split("/?", 1)[0]
            with client.stream("GET", f"{base}/api/changes/stream") as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                process.send_signal(signal.SIGINT)
                stopped = True
                assert [line for line in lines if line] == []  # ended by the server
    finally:
        if not stopped:
            process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == ""


def _force_quit(process: subprocess.Popen[str]) -> None:
    """Log in, leave a request hanging and a change stream open, then press Ctrl-C twice: the
    second one while the server waits for the hanging request (uvicorn's "force quit").
    Fails if the process is still running after 60 s."""
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split(": ", 1)[1].strip()
        base = url.split("/?", 1)[0]
        port = int(base.rsplit(":", 1)[1])
        with httpx.Client(timeout=60) as client:
            assert client.get(url).status_code == 303
            cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
            # A request whose body never comes: the server is inside it (it asked for the
            # body with "100 Continue"), so a first Ctrl-C waits for it without end.
            with socket.create_connection(("127.0.0.1", port), timeout=60) as hanging:
                hanging.sendall(
                    f"POST /memories HTTP/1.1\r\nHost: localhost:{port}\r\nCookie: {cookie}\r\n"
                    "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n".encode()
                )
                assert hanging.recv(100).startswith(b"HTTP/1.1 100")
                with client.stream("GET", f"{base}/api/changes/stream") as response:
                    lines = response.iter_lines()
                    assert next(lines).startswith("data: ")
                    process.send_signal(signal.SIGINT)
                    # The stream ending shows the server is shutting down (the first signal
                    # was handled), now waiting for the hanging request.
                    assert [line for line in lines if line] == []
                process.send_signal(signal.SIGINT)
                _, err = process.communicate(timeout=60)  # a hang guard: it exits at once
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err  # as for one Ctrl-C
    assert err.strip() == ""  # no traceback (a cancelled app shutdown logs one)


def _in_thread(work: Callable[[], Awaitable[None]]) -> None:
    with ThreadPoolExecutor(1) as pool:  # a browser test's Playwright may hold this loop
        pool.submit(anyio.run, work).result()


def test_a_second_ctrl_c_while_a_request_hangs_exits_and_still_closes_the_store(
    tmp_path: Path,
) -> None:
    # The second Ctrl-C is uvicorn's "force quit": it stops waiting for responses in flight
    # and skips the app's shutdown. The mesh must close anyway, or its SQLite connections'
    # threads keep the process alive for ever.
    from memorymesh import AsyncMemoryMesh

    def mesh() -> AsyncMemoryMesh:
        return AsyncMemoryMesh(tmp_path / "p.db", global_path=tmp_path / "g.db")

    async def seed() -> None:
        async with mesh() as seeding:
            await seeding.remember("The staging database is on port 5433")

    async def check() -> None:
        async with mesh() as checking:
            [hit] = await checking.recall("staging database port")
            assert "5433" in hit.memory.text
            await checking.remember("Writable after the forced stop")  # not left locked

    _in_thread(seed)
    _force_quit(_serve(tmp_path))
    # SQLite removes a WAL file when its last connection closes: the stores were closed,
    # not left to the process's end.
    assert not list(tmp_path.glob("*.db-*"))
    _in_thread(check)


def test_a_second_ctrl_c_closes_a_postgres_store(tmp_path: Path) -> None:
    import _postgres

    from memorymesh import AsyncMemoryMesh

    url = _postgres.tenant_url()

    async def seed() -> None:
        async with AsyncMemoryMesh(url) as seeding:
            await seeding.remember("The staging database is on port 5433", scope="project")

    async def check() -> None:
        async with AsyncMemoryMesh(url) as checking:
            [hit] = await checking.recall("staging database port")
            assert "5433" in hit.memory.text

    _in_thread(seed)
    process = subprocess.Popen(
        [sys.executable, "-m", "memorymesh", "ui", "--no-browser", "--port", "0", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _force_quit(process)
    _in_thread(check)


def test_a_second_ctrl_c_cuts_off_a_write_in_progress_and_still_closes_the_store() -> None:
    # The request is inside the mesh (its write waits for another worker's lock), not
    # waiting on its client: the forced stop cancels it, then closes the store.
    import threading

    import _postgres

    from memorymesh import AsyncMemoryMesh

    url = _postgres.tenant_url()
    ids: list[str] = []

    async def seed() -> None:
        async with AsyncMemoryMesh(url) as seeding:
            memory = await seeding.remember("The staging database is on port 5433")
            ids.append(memory.id)

    held, release = threading.Event(), threading.Event()

    async def hold() -> None:
        async with _postgres.hold_write_lock(url):
            held.set()
            await anyio.to_thread.run_sync(release.wait)

    _in_thread(seed)
    process = subprocess.Popen(
        [sys.executable, "-m", "memorymesh", "ui", "--no-browser", "--port", "0", "--db", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    holder = threading.Thread(target=anyio.run, args=(hold,))
    holder.start()
    try:
        assert process.stdout is not None and held.wait(60)
        url_line = process.stdout.readline().split(": ", 1)[1].strip()
        base = url_line.split("/?", 1)[0]
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(1) as pool:
            assert client.get(url_line).status_code == 303
            page = client.get(f"{base}/").text
            csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
            forgetting = pool.submit(
                client.post,
                f"{base}/memory/{ids[0]}/forget",
                headers={"x-csrf-token": csrf, "origin": base},
            )
            with client.stream("GET", f"{base}/api/changes/stream") as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")
                process.send_signal(signal.SIGINT)
                assert [line for line in lines if line] == []  # shutting down, waiting
            assert not forgetting.done()  # still waiting for the lock
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=60)  # a hang guard: it exits at once
            assert isinstance(forgetting.exception(), httpx.RemoteProtocolError)  # cut off
    finally:
        release.set()
        holder.join()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err
    # uvicorn logs the cut-off request; nothing else (main also logged the app's shutdown,
    # cancelled with the store still open).
    logged = [line for line in err.splitlines() if line.startswith("ERROR:")]
    assert logged == ["ERROR:    Exception in ASGI application"], err

    async def check() -> None:
        async with AsyncMemoryMesh(url) as checking:
            [hit] = await checking.recall("staging database port")  # the forget never ran
            assert hit.memory.id == ids[0]
            await checking.remember("Writable after the forced stop")

    _in_thread(check)


class socket_refused:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, tb: object) -> bool:
        assert isinstance(exc, httpx.ConnectError), f"expected a refused connection, got {exc!r}"
        return True


def test_another_host_is_served_only_with_a_warning(tmp_path: Path) -> None:
    process = _serve(tmp_path, "--host", "127.0.0.2")
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("MemoryMesh dashboard: http://127.0.0.2:")
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert "warning: serving on 127.0.0.2" in err
    assert process.returncode == 130


def test_without_the_ui_extra_it_says_what_to_install(tmp_path: Path) -> None:
    # Hide Starlette as a machine without the extra would: importing it fails.
    code = (
        "import sys; sys.modules['starlette'] = None\n"
        "from memorymesh.cli import main\n"
        f"sys.exit(main(['ui', '--no-browser', '--db', {str(tmp_path / 'p.db')!r}]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "memorymesh: error: the dashboard needs the ui extra: " + install_command("ui")
    ]
    assert not (tmp_path / "p.db").exists()  # nothing was opened or created


def test_an_encrypted_store_without_its_key_stops_with_one_line(tmp_path: Path) -> None:
    import anyio
    import pytest

    pytest.importorskip("cryptography")
    from memorymesh import AsyncMemoryMesh

    async def encrypted() -> None:
        async with AsyncMemoryMesh(
            tmp_path / "p.db", global_path=tmp_path / "g.db", encryption_key="correct horse"
        ) as mesh:
            await mesh.remember("The vault is behind the painting")

    # Another thread: a browser test's Playwright may hold an event loop on this one.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, encrypted).result()
    process = _serve(tmp_path)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    [line] = err.strip().splitlines()
    assert line.startswith("memorymesh: error: ") and "key" in line


def test_a_wildcard_host_is_refused_in_one_line(tmp_path: Path) -> None:
    process = _serve(tmp_path, "--host", "0.0.0.0")
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    [line] = err.strip().splitlines()
    assert line.startswith("memorymesh: error: --host 0.0.0.0 listens everywhere")
