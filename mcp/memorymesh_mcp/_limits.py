"""What the MCP server accepts, in one place (documented in ``docs/mcp.md``).

An assistant can send anything, so every input is bounded: a runaway model pasting a whole
file into ``remember`` gets a clear tool error, not a bloated store.
"""

from __future__ import annotations

__all__ = [
    "MAX_BUDGET_TOKENS",
    "MAX_ID_CHARS",
    "MAX_LIST",
    "MAX_METADATA_BYTES",
    "MAX_OPEN_PROJECTS",
    "MAX_QUERY_CHARS",
    "MAX_RECALL_K",
    "MAX_TEXT_CHARS",
    "MIN_BUDGET_TOKENS",
]

#: Longest memory text, in characters (the core allows 20,000 for library callers).
MAX_TEXT_CHARS = 10_000
#: Largest metadata object, as UTF-8 JSON.
MAX_METADATA_BYTES = 16 * 1024
#: Longest recall query or session-start task.
MAX_QUERY_CHARS = 2_000
#: Most results one recall returns.
MAX_RECALL_K = 50
#: Most memories one list_memories call returns.
MAX_LIST = 100
#: Longest id (or id prefix) accepted.
MAX_ID_CHARS = 64
#: session_start's token budget range.
MIN_BUDGET_TOKENS = 100
MAX_BUDGET_TOKENS = 8_000
#: Most project stores (from clients' roots) open at once; the least recently used idle one
#: is closed when another opens.
MAX_OPEN_PROJECTS = 8
#: Most client connections whose session_start is remembered (to link what they remember to
#: that session); the least recently started is forgotten first.
MAX_TRACKED_CONNECTIONS = 1024
