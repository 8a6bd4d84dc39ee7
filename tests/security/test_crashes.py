"""#17 Medium 7: every bad input gets a typed error (or a JSON-RPC error), never a crash or silence.

The API on real SQLite files, the CLI through its ``main()`` in process, the MCP server through
the official client, and raw JSON-RPC lines to the real server process over stdio. Hypothesis
fuzzes each public entry point; every call runs under ``anyio.fail_after`` with a generous
bound, so a hang fails the test structurally (it is not a speed assertion).
"""

from __future__ import annotations

import json
import math
import os
import select
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memorymesh import AsyncMemoryMesh, InvalidInputError, MemoryMeshError
from memorymesh.cli import main

#: A generous bound per call: only a hang can reach it.
HANG = 60
SURROGATE = "bad \ud800 text"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
#: Any text, lone surrogates and control characters included.
#: (Built from a list: st.text() itself leaves lone surrogates out.)
ANY_TEXT = st.lists(
    st.one_of(
        st.characters(codec=None, exclude_categories=()),
        # Often enough to matter in a short run: what broke before (#17).
        st.sampled_from(["\ud800", "\udfff", "\udce9", "\x00", "\x1b", "\u202e"]),
    ),
    max_size=60,
).map("".join)


def _deep(levels: int = 5000) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"a": value}
    return value


async def _typed(call: Callable[[], Awaitable[Any]]) -> MemoryMeshError | None:
    """Run ``call`` under the hang bound; return its MemoryMeshError, fail on anything else."""
    with anyio.fail_after(HANG):
        try:
            await call()
        except MemoryMeshError as exc:
            return exc
    return None


# -- the API --------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_lone_surrogates_in_every_text_field_are_typed_errors(
    mesh: AsyncMemoryMesh,
) -> None:
    kept = await mesh.remember("A memory that must stay as it is", metadata={"k": 1})
    s = SURROGATE
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "remember text": lambda: mesh.remember(s),
        "remember session_id": lambda: mesh.remember("x y z", session_id=s),
        "remember agent": lambda: mesh.remember("x y z", agent=s),
        "remember source": lambda: mesh.remember("x y z", source=s),
        "remember metadata value": lambda: mesh.remember("x y z", metadata={"k": s}),
        "remember metadata key": lambda: mesh.remember("x y z", metadata={s: 1}),
        "remember_many": lambda: mesh.remember_many([{"text": s}]),
        "update text": lambda: mesh.update(kept.id, text=s),
        "update metadata": lambda: mesh.update(kept.id, metadata={"k": [s]}),
        "recall session_id": lambda: mesh.recall("x", session_id=s),
        "recall metadata_filter": lambda: mesh.recall("x", metadata_filter={"k": s}),
        "list session_id": lambda: mesh.list(session_id=s),
        "count session_id": lambda: mesh.count(session_id=s),
        "get": lambda: mesh.get(s),
        "forget": lambda: mesh.forget(s),
        "pin": lambda: mesh.pin(s),
        "resolve_id": lambda: mesh.resolve_id(s),
        "history": lambda: mesh.history(s),
        "session_start session_id": lambda: mesh.session_start("x", session_id=s),
    }
    for name, call in calls.items():
        assert isinstance(await _typed(call), MemoryMeshError), name
    # A query is read, never stored: a lone surrogate in it just matches nothing.
    assert await _typed(lambda: mesh.recall(s)) is None
    assert await _typed(lambda: mesh.session_start(s)) is None
    assert (await mesh.get(kept.id)).text == kept.text
    assert await mesh.count() == 1  # nothing half-written


@pytest.mark.anyio
async def test_extreme_dates_ints_and_nesting_are_typed_errors(mesh: AsyncMemoryMesh) -> None:
    kept = await mesh.remember("Dates and numbers at their limits")
    far = timezone_far = datetime.max.replace(tzinfo=UTC)
    early = datetime.min
    for call in (
        lambda: mesh.remember("x y z", event_time=datetime.max),
        lambda: mesh.remember("x y z", expires_at=datetime.max),
        lambda: mesh.remember("x y z", event_time=timezone_far),
        lambda: mesh.remember("x y z", ttl=timedelta.max),
        lambda: mesh.update(kept.id, event_time=early),
        lambda: mesh.recall("x", as_of=early),
        lambda: mesh.recall("x", since=far, until=early),
        lambda: mesh.recall("x", k=2**63),
        lambda: mesh.session_start(budget_tokens=2**63),
        lambda: mesh.update(kept.id, importance=2**63),
        lambda: mesh.remember("x y z", metadata=_deep()),
        lambda: mesh.update(kept.id, metadata=_deep()),
        lambda: mesh.list(metadata_filter={"k": _deep()}),
        lambda: mesh.count(metadata_filter={"k": 2**64}),
        lambda: mesh.compact(policy=_policy(similarity=5)),
    ):
        assert isinstance(await _typed(call), MemoryMeshError), call.__code__.co_firstlineno
    # Big integers are fine as metadata values: JSON holds them.
    big = await mesh.remember("Big numbers in metadata", metadata={"n": 2**70, "m": -(2**64)})
    assert (await mesh.get(big.id)).metadata == {"n": 2**70, "m": -(2**64)}
    assert await mesh.list(offset=2**63) == []


def _policy(**values: Any) -> Any:
    """A CompactPolicy with out-of-range values, built the way a careless caller would."""
    from memorymesh.context._compact import CompactPolicy

    return CompactPolicy.model_construct(**{**CompactPolicy().model_dump(), **values})


@pytest.mark.anyio
@FUZZ
@given(
    text=ANY_TEXT,
    label=ANY_TEXT,
    key=ANY_TEXT,
    number=st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)),
    when=st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
)
async def test_fuzz_the_api_for_untyped_errors_and_hangs(
    text: str, label: str, key: str, number: float, when: datetime
) -> None:
    async with AsyncMemoryMesh(":memory:", global_path=":memory:") as mesh:
        kept = await mesh.remember("The one memory the fuzzer may touch")
        for call in (
            lambda: mesh.remember(text, session_id=label or None, metadata={key: number}),
            lambda: mesh.remember(text or "x", event_time=when, agent=label or None),
            lambda: mesh.recall(text or "x", session_id=label or None, as_of=when),
            lambda: mesh.recall(text or "x", metadata_filter={key: number}),
            lambda: mesh.list(session_id=label or None, metadata_filter={key: text}),
            lambda: mesh.update(kept.id, text=text or None, metadata={key: [number]}),
            lambda: mesh.get(text or "x"),
            lambda: mesh.forget(label or "x"),
            lambda: mesh.session_start(text or None, session_id=label or None),
            lambda: mesh.recall("x", k=int(number) if math.isfinite(number) else 1),
        ):
            try:
                await _typed(call)
            except OverflowError:
                pytest.fail("an untyped OverflowError escaped")


# -- the CLI --------------------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


def test_cli_bad_input_is_one_line_never_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    bad_bytes = os.fsdecode(b"caf\xe9 \xff")
    for argv, exit_code in (
        (("remember", bad_bytes), 2),
        (("recall", bad_bytes), 2),
        (("list", "--db", bad_bytes), 2),
        (("remember", "meta", "--metadata", '{"a": "\\ud800"}'), 2),
        (("remember", "x y z", "--session", SURROGATE), 2),
    ):
        code, err = _cli(capsys, *argv)
        assert code == exit_code, (argv, err)
        assert len(err.splitlines()) == 1 and err.startswith("memorymesh: error: "), err
    # argparse usage errors: exit 2, the usage line and one error line, no traceback.
    for argv in (
        ("compact", "--similarity", "5"),
        ("compact", "--max-importance", "2"),
        ("remember", "deep", "--metadata", "[" * 5000 + "]" * 5000),
        ("recall", "x", "-k", str(2**63)),
    ):
        with pytest.raises(SystemExit) as exited:
            main(list(argv))
        assert exited.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "error:" in err.splitlines()[-1], err


@FUZZ
@given(
    args=st.lists(ANY_TEXT, max_size=4),
    command=st.sampled_from(
        ["remember", "recall", "list", "show", "forget", "update", "session-start", "stats", "log"]
    ),
)
def test_fuzz_the_cli_for_tracebacks(
    capsys: pytest.CaptureFixture[str], command: str, args: list[str]
) -> None:
    try:
        code = main([command, *args])
    except SystemExit as exited:  # argparse's usage errors
        code = int(exited.code or 0)
    err = capsys.readouterr().err
    assert code in (0, 1, 2), code
    assert "Traceback" not in err


# -- MCP: raw JSON-RPC over stdio -----------------------------------------------------------------

BIN = Path(sys.executable).parent


class _Raw:
    """The real server process, spoken to line by line."""

    def __init__(self, root: Path) -> None:
        inherited = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
        (root / "project").mkdir(parents=True, exist_ok=True)
        env = {
            **inherited,
            "HOME": str(root / "home"),
            "MEMORYMESH_HOME": str(root / "home" / ".memorymesh"),
            "MEMORYMESH_PROJECT_ROOT": str(root / "project"),
        }
        self.process = subprocess.Popen(
            [str(BIN / "memorymesh"), "mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=root,
        )

    def send(self, line: bytes) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + b"\n")
        self.process.stdin.flush()
        # A structural bound: silence (the bug) fails here instead of hanging the suite.
        ready, _, _ = select.select([self.process.stdout], [], [], HANG)
        assert ready, f"no answer to {line[:80]!r}"
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def close(self) -> str:
        self.process.terminate()
        _, err = self.process.communicate(timeout=30)
        return err.decode("utf-8", "replace")


def _request(id_: int, method: str, params: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        body["params"] = params
    return json.dumps(body).encode()


@pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes is POSIX")
def test_raw_json_rpc_always_gets_an_answer(tmp_path: Path) -> None:
    raw = _Raw(tmp_path)
    try:
        init = raw.send(
            _request(
                0,
                "initialize",
                {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            )
        )
        assert "result" in init
        call = b'{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"remember",'
        malformed = {
            "lone surrogate": call % 1 + b'"arguments":{"text":"bad \\ud800 x"}}}',
            "deep nesting": call % 2
            + b'"arguments":{"text":"deep","metadata":'
            + b'{"a":' * 5000
            + b"1"
            + b"}" * 5000
            + b"}}}",
            "deep array": b'{"jsonrpc":"2.0","id":3,"method":"ping","params":{"x":'
            + b"[" * 100_000
            + b"]" * 100_000
            + b"}}",
            "5,000-digit id": b'{"jsonrpc":"2.0","id":' + b"9" * 5000 + b',"method":"ping"}',
            "5,000-digit argument": call % 5
            + b'"arguments":{"text":"x","importance":'
            + b"9" * 5000
            + b"}}}",
            "truncated": b'{"jsonrpc":"2.0","id":6,',
            "not an object": b"[1, 2, 3]",
            "wrong shape": b'{"jsonrpc":"2.0","id":8,"method":17}',
        }
        for name, line in malformed.items():
            answer = raw.send(line)
            assert answer["error"]["code"] in (-32700, -32600), (name, answer)
        # Still serving afterwards.
        assert "result" in raw.send(_request(9, "ping"))
        missing = raw.send(_request(10, "resources/read", {"uri": "memory://deadbeefcafe"}))
        assert missing["error"]["code"] == -32002  # 2025-06-18: "Resource not found"
        assert missing["error"]["data"] == {"uri": "memory://deadbeefcafe"}
        prompt = raw.send(_request(11, "prompts/get", {"name": "no_such_prompt"}))
        assert prompt["error"]["code"] == -32602
    finally:
        err = raw.close()
    assert "Traceback" not in err, err


# -- MCP tools through the official client ---------------------------------------------------------


@pytest.mark.anyio
@FUZZ
@given(
    tool=st.sampled_from(
        ["remember", "recall", "update_memory", "forget", "pin", "list_memories", "session_start"]
    ),
    # The SDK client cannot even encode a lone surrogate; raw JSON-RPC covers that above.
    text=ANY_TEXT.map(lambda t: t.encode("utf-8", "replace").decode("utf-8")),
    number=st.one_of(st.integers(), st.floats()),
)
async def test_fuzz_the_mcp_tools_for_crashes_and_hangs(
    tool: str, text: str, number: float
) -> None:
    pytest.importorskip("mcp")
    from mcp.client import Client
    from mcp.shared.exceptions import MCPError
    from memorymesh_mcp._server import build_server

    arguments: dict[str, Any] = {
        "remember": {"text": text, "importance": number, "metadata": {text: number}},
        "recall": {"query": text, "k": number},
        "update_memory": {"memory_id": text, "text": text},
        "forget": {"memory_id": text},
        "pin": {"memory_id": text},
        "list_memories": {"limit": number, "offset": number},
        "session_start": {"query": text, "budget_tokens": number},
    }[tool]
    async with Client(build_server(":memory:", ":memory:"), mode="legacy") as client:
        with anyio.fail_after(HANG):
            try:
                result = await client.call_tool(tool, arguments)
            except MCPError as exc:
                # A protocol-level refusal is fine; an internal error is a crash.
                code = exc.error.code
                result = None
            else:
                code = None
        assert code in (None, -32602), code
        if result is not None and result.is_error:
            text_block = result.content[0]
            assert text_block.type == "text"
            assert "Traceback" not in text_block.text


def test_invalid_input_is_a_value_error_too() -> None:
    # The typed errors above keep `except ValueError` working for callers who predate them.
    assert issubclass(InvalidInputError, ValueError)
