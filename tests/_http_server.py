"""A real HTTP server on 127.0.0.1 for the providers' tests (embedders, the judge's chat
models): it runs in a thread, records every POST and answers it with JSON, as Ollama and
OpenAI-compatible servers do. Each test server says only what it answers, in ``respond``;
:class:`ChatServer` is the judge's (tests/test_judge.py, and the MCP server's judge in
tests/test_mcp.py)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["ChatServer", "JSONServer"]


class JSONServer:
    """Records ``(path, body, headers)`` of every POST in ``requests`` and answers with
    :meth:`respond`; ``fail_next`` holds error statuses to answer first (one per request),
    ``delay`` seconds to wait before answering (a slow server)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.fail_next: list[int] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                server.requests.append((self.path, body, dict(self.headers)))
                if server.delay:
                    threading.Event().wait(server.delay)
                if server.fail_next:
                    self._send(server.fail_next.pop(0), {"error": "try again"})
                    return
                self._send(*server.respond(self.path, body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client gave up (a timeout)
                    self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and JSON payload answering a POST of ``body`` to ``path``."""
        return 404, {"error": "not found"}

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


class ChatServer(JSONServer):
    """A chat model's server with Ollama's (``/api/chat``) and OpenAI's
    (``/v1/chat/completions``) real shapes. ``answer`` gets the ``(old, new)`` texts of the
    pairs in the judge's request and returns the model's message."""

    def __init__(self) -> None:
        super().__init__()
        self.answer: Callable[[list[tuple[str, str]]], str] = lambda pairs: '{"verdicts": []}'

    def respond(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        asked = re.findall(
            r"^Pair \d+\nOLD: (.*)\nNEW: (.*)$", body["messages"][1]["content"], re.M
        )
        content = self.answer([(json.loads(o), json.loads(n)) for o, n in asked])
        message = {"role": "assistant", "content": content}
        if path == "/api/chat":
            return 200, {
                "model": body["model"],
                "created_at": "2026-01-01T00:00:00Z",
                "message": message,
                "done": True,
                "done_reason": "stop",
            }
        if path == "/v1/chat/completions":
            return 200, {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1},
            }
        return super().respond(path, body)
