"""The stdio transport, answering every line: a malformed one gets a JSON-RPC error.

The SDK's own stdio reader hands a line it cannot parse to the session as an exception, and
nothing answers it: a client that sent invalid JSON (a lone surrogate escape, nesting deeper
than the parser allows, a 5,000-digit number) waits forever. Here each line is checked first;
one that is not a JSON-RPC message is answered on the spot (``-32700`` parse error, or
``-32600`` invalid request, with the request's id when it can be read safely, else ``null``,
as JSON-RPC 2.0 asks) and never reaches the session. Valid lines go to the SDK unchanged.

Like the SDK, the transport moves the real stdin/stdout out of the way while it serves, so a
stray ``print`` or a child process cannot corrupt the wire.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, BinaryIO

import anyio
import anyio.to_thread

__all__ = ["answer_for", "checked_stdio"]

#: Longest id echoed back in an error for a malformed line.
_MAX_ID_CHARS = 256


def _recover_id(line: str) -> int | str | None:
    """The id of a line that is JSON but not a valid message, if it is a plain one.

    Only a top-level ``id`` that the standard parser reads (big numbers kept as text, so
    nothing here can blow the int-digit limit) and that is a short int or a short string
    without lone surrogates; anything else is ``None``, never a guess that could answer
    another pending request.
    """
    try:
        data = json.loads(line, parse_int=lambda s: int(s) if len(s) <= 18 else None)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    found = data.get("id")
    if isinstance(found, bool):
        return None
    if isinstance(found, int):
        return found
    if isinstance(found, str) and len(found) <= _MAX_ID_CHARS:
        try:
            found.encode("utf-8")
        except UnicodeEncodeError:
            return None
        return found
    return None


def answer_for(line: str) -> dict[str, Any] | None:
    """The JSON-RPC error answering ``line``, or None when it is a valid message (or blank)."""
    if not line.strip():
        return None
    import mcp_types
    from pydantic import ValidationError

    try:
        mcp_types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        parse = any(error["type"] == "json_invalid" for error in errors)
        reason = str(errors[0]["msg"]) if errors else "invalid message"
        code, message = (-32700, "Parse error") if parse else (-32600, "Invalid Request")
        return {
            "jsonrpc": "2.0",
            "id": _recover_id(line),
            "error": {"code": code, "message": message, "data": reason[:300]},
        }
    return None


class _Lines:
    """Valid lines from the wire, answering the others through ``wire``."""

    def __init__(self, source: BinaryIO, wire: _Wire) -> None:
        self._text = anyio.wrap_file(io.TextIOWrapper(source, encoding="utf-8", errors="replace"))
        self._wire = wire

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._text:
            answer = answer_for(line)
            if answer is None:
                if line.strip():
                    yield line
                continue
            await self._wire.write(json.dumps(answer, ensure_ascii=True) + "\n")
            await self._wire.flush()


class _Wire:
    """stdout for whole lines from two writers (the SDK and the error answers)."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._lock = anyio.Lock()

    async def write(self, text: str) -> None:
        # backslashreplace: a lone surrogate in a response becomes the JSON escape "\ud800",
        # still valid JSON, instead of an encoding error that kills the writer.
        data = text.encode("utf-8", "backslashreplace")
        async with self._lock:
            await anyio.to_thread.run_sync(self._sink.write, data)

    async def flush(self) -> None:
        async with self._lock:
            await anyio.to_thread.run_sync(self._sink.flush)


@asynccontextmanager
async def checked_stdio() -> AsyncIterator[tuple[Any, Any]]:
    """``(stdin, stdout)`` for the SDK's ``stdio_server(stdin=..., stdout=...)``."""
    sys.stdout.flush()
    wire_in_fd, wire_out_fd = os.dup(0), os.dup(1)
    saved_in, saved_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # stray reads see EOF
    os.dup2(2, 1)  # stray prints go to stderr, not onto the wire
    os.close(devnull)
    source = os.fdopen(wire_in_fd, "rb", closefd=False)
    sink = os.fdopen(wire_out_fd, "wb", closefd=False)
    wire = _Wire(sink)
    try:
        yield _Lines(source, wire), wire
    finally:
        os.dup2(saved_in, 0)
        os.dup2(saved_out, 1)
        for fd in (saved_in, saved_out):
            os.close(fd)
        # The wire descriptors stay open: a worker thread may still block reading them.
