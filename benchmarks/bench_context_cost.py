"""What MemoryMesh adds to an assistant's context each session, measured.

Three parts of a session's context come from MemoryMesh when it is set up as an MCP server:

1. the server's ``instructions`` (clients put them in the model's context),
2. the tool list (names, descriptions and JSON schemas of every tool, sent to the model with
   each request by most clients),
3. what ``session_start`` returns, which the assistant loads at the start of a session; it is
   fitted to a token budget (1,500 by default), measured here on stores of several sizes.

The tool list comes from the real server over stdio through the official MCP client, exactly
as a client receives it. Tokens are estimated at 4 characters per token, the rule of thumb for
English with OpenAI/Anthropic tokenizers (the same estimate session_start's budget uses).

    python benchmarks/bench_context_cost.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from memorymesh_mcp._server import INSTRUCTIONS

from memorymesh import AsyncMemoryMesh, Category, NewMemory
from memorymesh.context._instructions import estimate_tokens

BIN = Path(sys.executable).parent
SIZES = (10, 100, 1_000, 10_000)
SUBJECTS = ["billing", "search", "auth", "the web app", "the CLI", "deploys", "tests", "docs"]
CHOICES = ["PostgreSQL", "Redis", "pnpm", "Drizzle", "tabs", "ruff", "Terraform", "Sentry"]
KINDS: list[tuple[Category, str]] = [
    (Category.PREFERENCE, "User prefers {choice} for {subject}, note {n}"),
    (Category.GUARDRAIL, "Never change {subject} without {choice} review, rule {n}"),
    (Category.DECISION, "We decided to use {choice} for {subject} in step {n}"),
    (Category.MISTAKE, "The {subject} outage {n} was caused by a {choice} misconfiguration"),
    (Category.PATTERN, "In {subject}, wrap every {choice} call in a retry, pattern {n}"),
    (Category.CONTEXT, "The {subject} team owns {choice} since sprint {n}"),
]


def _memories(count: int) -> list[NewMemory]:
    items = []
    for n in range(count):
        category, template = KINDS[n % len(KINDS)]
        text = template.format(
            subject=SUBJECTS[n % len(SUBJECTS)], choice=CHOICES[(n // 7) % len(CHOICES)], n=n
        )
        items.append(NewMemory(text=text, category=category))
    return items


async def _tool_list_tokens(home: Path) -> dict[str, int]:
    """Tokens of the tool list as a client receives it, and of each part of it."""
    env = {**os.environ, "HOME": str(home), "MEMORYMESH_HOME": str(home / ".memorymesh")}
    params = StdioServerParameters(command=str(BIN / "memorymesh"), args=["mcp"], env=env)
    async with Client(params, mode="legacy") as client:
        tools = (await client.list_tools()).tools
    dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]

    def tokens(keys: tuple[str, ...]) -> int:
        parts = [{k: v for k, v in tool.items() if k in keys} for tool in dumped]
        return estimate_tokens(json.dumps(parts, ensure_ascii=False))

    return {
        "tools": len(tools),
        "all": estimate_tokens(json.dumps(dumped, ensure_ascii=False)),
        "described": tokens(("name", "description")),
        "model": tokens(("name", "description", "inputSchema")),
        "output": tokens(("outputSchema",)),
    }


async def _session_start_tokens(size: int) -> tuple[int, int]:
    async with AsyncMemoryMesh(":memory:", global_path=":memory:", on_conflict="keep_both") as mesh:
        await mesh.remember_many(_memories(size))
        plain = await mesh.session_start()
        asked = await mesh.session_start("why did the billing deploy fail?")
    return estimate_tokens(plain.text), estimate_tokens(asked.text)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        listed = await _tool_list_tokens(Path(tmp))
    rows = [
        ("server instructions", estimate_tokens(INSTRUCTIONS)),
        (f"tools/list, all of it ({listed['tools']} tools)", listed["all"]),
        ("  names, descriptions, input schemas", listed["model"]),
        ("    of which names and descriptions", listed["described"]),
        ("  output schemas", listed["output"]),
    ]
    print("Fixed per session (from the running MCP server):")
    for label, value in rows:
        print(f"  {label:<40} {value:>6} tokens")
    print()
    print("session_start (default budget 1,500 tokens):")
    print(f"  {'memories':>8}  {'no query':>9}  {'with a query':>12}")
    for size in SIZES:
        plain, asked = await _session_start_tokens(size)
        print(f"  {size:>8}  {plain:>9}  {asked:>12}")


if __name__ == "__main__":
    asyncio.run(main())
