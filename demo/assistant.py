"""Stand in for an AI client in the demo recording: one MCP tool call, shown as a chat line.

Starts `memorymesh mcp` over stdio with the official MCP client, exactly as Claude Code or
Cursor does, calls one tool and prints what the assistant gets back.

    python demo/assistant.py CLIENT TOOL '{"argument": "value"}'
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import Implementation

DIM, BOLD, CYAN, RESET = "\033[2m", "\033[1m", "\033[36m", "\033[0m"


async def call(client_name: str, tool: str, arguments: dict[str, object]) -> str:
    """The part of the tool's result the assistant reads: its message or its context text."""
    server = StdioServerParameters(
        command=str(Path(sys.executable).parent / "memorymesh"),
        args=["mcp"],
        env=dict(os.environ),
        cwd=os.getcwd(),
    )
    info = Implementation(name=client_name, version="demo")
    async with Client(server, mode="legacy", client_info=info) as client:
        result = await client.call_tool(tool, arguments)
    data = result.structured_content or {}
    if result.is_error or not isinstance(data.get("message", data.get("text")), str):
        return "\n".join(part.text for part in result.content if part.type == "text")
    return str(data.get("message", data.get("text")))


def main() -> None:
    client_name, tool, raw = sys.argv[1:4]
    arguments = json.loads(raw)
    shown = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    print(f"{CYAN}{BOLD}{client_name}{RESET}{CYAN} calls {tool}({shown}){RESET}")
    reply = anyio.run(call, client_name, tool, arguments)
    for line in reply.splitlines():
        print(f"{DIM}  {line}{RESET}")


if __name__ == "__main__":
    main()
