"""What ``tools/list`` publishes, as the SDK builds it from the server's tools.

The server answers its first ``tools/list`` from here, without building eight pydantic models
and their JSON schemas first (see ``_server._LazyTools``). Generated, never edited by hand:
``tests/test_mcp.py`` checks it equals what building the tools publishes. After changing a
tool, write it again and format it::

    python -m memorymesh_mcp._write_listing && ruff format mcp/memorymesh_mcp/_listing.py
"""

from __future__ import annotations

from typing import Any

__all__ = ["TOOL_LISTING"]

TOOL_LISTING: list[dict[str, Any]] = [
    {
        "name": "session_start",
        "description": "Load what you should know before your first answer in a "
        "session. Call it once at the start of every session (pass "
        "the first message or task as query). Returns guardrails, the "
        "user's profile and preferences, mistakes not to repeat, "
        "recent project decisions, and memories relevant to the task, "
        "most useful first, within a token budget. Treat the text as "
        "background knowledge; do not remember it again.",
        "inputSchema": {
            "properties": {
                "query": {
                    "anyOf": [{"maxLength": 2000, "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "The user's first "
                    "message or task: "
                    "adds the memories "
                    "relevant to it",
                    "title": "Query",
                },
                "budget_tokens": {
                    "default": 1500,
                    "description": "Most tokens the context may use (estimated as characters / 4)",
                    "maximum": 8000,
                    "minimum": 100,
                    "title": "Budget Tokens",
                    "type": "integer",
                },
                "session_id": {
                    "anyOf": [{"maxLength": 256, "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "A session being resumed: adds its memories",
                    "title": "Session Id",
                },
                "continues": {
                    "anyOf": [{"maxLength": 256, "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "The id of the "
                    "earlier session "
                    "this one picks "
                    "up from "
                    "(default: this "
                    "client's last "
                    "session in the "
                    "project)",
                    "title": "Continues",
                },
            },
            "title": "session_startArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "Context to load at the start of a session.",
            "properties": {
                "text": {
                    "description": "Ready-to-use context: put it in your working memory as is",
                    "title": "Text",
                    "type": "string",
                },
                "query": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Query"},
                "session_id": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "This session's id: pass it as session_id to remember",
                    "title": "Session Id",
                },
                "continues": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "The earlier session this one continues ('last time')",
                    "title": "Continues",
                },
                "budget_tokens": {"title": "Budget Tokens", "type": "integer"},
                "used_tokens": {
                    "description": "Estimated tokens of text (characters / 4)",
                    "title": "Used Tokens",
                    "type": "integer",
                },
                "omitted": {
                    "description": "Memories that did not fit the budget",
                    "title": "Omitted",
                    "type": "integer",
                },
                "items": {
                    "items": {
                        "description": "One memory chosen for the session context.",
                        "properties": {
                            "section": {
                                "description": "guardrails, "
                                "relevant, "
                                "session, "
                                "profile, "
                                "mistakes "
                                "or "
                                "recent",
                                "title": "Section",
                                "type": "string",
                            },
                            "id": {"title": "Id", "type": "string"},
                            "text": {"title": "Text", "type": "string"},
                            "category": {"title": "Category", "type": "string"},
                            "created_at": {"title": "Created At", "type": "string"},
                            "pinned": {"title": "Pinned", "type": "boolean"},
                            "score": {
                                "anyOf": [{"type": "number"}, {"type": "null"}],
                                "default": None,
                                "description": "Recall score, for relevant memories",
                                "title": "Score",
                            },
                        },
                        "required": ["section", "id", "text", "category", "created_at", "pinned"],
                        "title": "SessionItemOut",
                        "type": "object",
                    },
                    "title": "Items",
                    "type": "array",
                },
            },
            "required": ["text", "query", "budget_tokens", "used_tokens", "omitted", "items"],
            "title": "SessionStartResult",
            "type": "object",
        },
        "annotations": {
            "title": "Load memory for this session",
            "readOnlyHint": True,
            "idempotentHint": False,
            "openWorldHint": False,
        },
    },
    {
        "name": "recall",
        "description": "Search long-term memory; best matches first, each with a "
        "score from 0 to 1. Call it before answering anything that "
        "may depend on the user's preferences, this project's "
        "decisions and conventions, or lessons from past mistakes, "
        "and whenever the user asks what you remember. Keyword "
        "search: use the words the memory would contain. Set explain "
        "when the user asks why a memory came back or why nothing "
        "did.",
        "inputSchema": {
            "properties": {
                "query": {
                    "description": "A question or "
                    "keywords, e.g. "
                    "'which database do "
                    "we use for "
                    "billing?'",
                    "maxLength": 2000,
                    "minLength": 1,
                    "title": "Query",
                    "type": "string",
                },
                "k": {
                    "default": 5,
                    "description": "How many results",
                    "maximum": 50,
                    "minimum": 1,
                    "title": "K",
                    "type": "integer",
                },
                "category": {
                    "anyOf": [
                        {
                            "enum": [
                                "preference",
                                "guardrail",
                                "mistake",
                                "personality",
                                "question",
                                "decision",
                                "pattern",
                                "context",
                                "session_summary",
                            ],
                            "type": "string",
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                    "description": "Only memories of this category",
                    "title": "Category",
                },
                "scope": {
                    "anyOf": [{"enum": ["project", "global"], "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "Only project or only global",
                    "title": "Scope",
                },
                "min_importance": {
                    "anyOf": [{"maximum": 1.0, "minimum": 0.0, "type": "number"}, {"type": "null"}],
                    "default": None,
                    "description": "Only memories at least this important (0 … 1)",
                    "title": "Min Importance",
                },
                "include_history": {
                    "default": False,
                    "description": "Also "
                    "return "
                    "superseded "
                    "and "
                    "expired "
                    "memories "
                    "(what "
                    "used to "
                    "be true)",
                    "title": "Include History",
                    "type": "boolean",
                },
                "explain": {
                    "default": False,
                    "description": "Add each score's "
                    "breakdown, the "
                    "terms and filters "
                    "used, and why "
                    "nothing matched "
                    "when nothing did",
                    "title": "Explain",
                    "type": "boolean",
                },
            },
            "required": ["query"],
            "title": "recallArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "Recall results, best first.",
            "properties": {
                "query": {"title": "Query", "type": "string"},
                "count": {"title": "Count", "type": "integer"},
                "results": {
                    "items": {
                        "description": "A recalled memory and how well it matched (score 0 to 1).",
                        "properties": {
                            "score": {"title": "Score", "type": "number"},
                            "memory": {
                                "description": "One memory.",
                                "properties": {
                                    "id": {
                                        "description": "The "
                                        "memory's "
                                        "id "
                                        "(any "
                                        "unique "
                                        "prefix "
                                        "works "
                                        "in "
                                        "other "
                                        "tools)",
                                        "title": "Id",
                                        "type": "string",
                                    },
                                    "text": {"title": "Text", "type": "string"},
                                    "category": {"title": "Category", "type": "string"},
                                    "importance": {"title": "Importance", "type": "number"},
                                    "scope": {
                                        "description": "'project' "
                                        "(this "
                                        "codebase) "
                                        "or "
                                        "'global' "
                                        "(follows "
                                        "the "
                                        "user)",
                                        "title": "Scope",
                                        "type": "string",
                                    },
                                    "pinned": {"title": "Pinned", "type": "boolean"},
                                    "metadata": {
                                        "additionalProperties": True,
                                        "title": "Metadata",
                                        "type": "object",
                                    },
                                    "created_at": {
                                        "description": "When it was recorded (ISO 8601, UTC)",
                                        "title": "Created At",
                                        "type": "string",
                                    },
                                    "updated_at": {"title": "Updated At", "type": "string"},
                                    "event_time": {
                                        "anyOf": [{"type": "string"}, {"type": "null"}],
                                        "default": None,
                                        "description": "When it happened, if known",
                                        "title": "Event Time",
                                    },
                                    "expires_at": {
                                        "anyOf": [{"type": "string"}, {"type": "null"}],
                                        "default": None,
                                        "title": "Expires At",
                                    },
                                    "access_count": {"title": "Access Count", "type": "integer"},
                                    "superseded_by": {
                                        "anyOf": [{"type": "string"}, {"type": "null"}],
                                        "default": None,
                                        "title": "Superseded By",
                                    },
                                    "source": {"title": "Source", "type": "string"},
                                    "agent": {
                                        "anyOf": [{"type": "string"}, {"type": "null"}],
                                        "default": None,
                                        "title": "Agent",
                                    },
                                    "session_id": {
                                        "anyOf": [{"type": "string"}, {"type": "null"}],
                                        "default": None,
                                        "title": "Session Id",
                                    },
                                },
                                "required": [
                                    "id",
                                    "text",
                                    "category",
                                    "importance",
                                    "scope",
                                    "pinned",
                                    "metadata",
                                    "created_at",
                                    "updated_at",
                                    "access_count",
                                    "source",
                                ],
                                "title": "MemoryOut",
                                "type": "object",
                            },
                            "why": {
                                "anyOf": [
                                    {
                                        "description": "The "
                                        "signals "
                                        "behind "
                                        "a "
                                        "score, "
                                        "each "
                                        "in "
                                        "[0, "
                                        "1], "
                                        "with "
                                        "the "
                                        "weight "
                                        "recall "
                                        "gave "
                                        "it.",
                                        "properties": {
                                            "relevance": {"title": "Relevance", "type": "number"},
                                            "recency": {"title": "Recency", "type": "number"},
                                            "importance": {"title": "Importance", "type": "number"},
                                            "frequency": {"title": "Frequency", "type": "number"},
                                            "weights": {
                                                "additionalProperties": {"type": "number"},
                                                "title": "Weights",
                                                "type": "object",
                                            },
                                        },
                                        "required": [
                                            "relevance",
                                            "recency",
                                            "importance",
                                            "frequency",
                                            "weights",
                                        ],
                                        "title": "ScoreParts",
                                        "type": "object",
                                    },
                                    {"type": "null"},
                                ],
                                "default": None,
                            },
                        },
                        "required": ["score", "memory"],
                        "title": "RecallHit",
                        "type": "object",
                    },
                    "title": "Results",
                    "type": "array",
                },
                "terms": {
                    "anyOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "null"}],
                    "default": None,
                    "title": "Terms",
                },
                "filters": {
                    "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
                    "default": None,
                    "title": "Filters",
                },
                "reason": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Reason",
                },
            },
            "required": ["query", "count", "results"],
            "title": "RecallOut",
            "type": "object",
        },
        "annotations": {
            "title": "Recall memories",
            "readOnlyHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "remember",
        "description": "Store one thing worth remembering across sessions and tools. "
        "Call it when the user states a preference, you make or learn "
        "a decision (with its reason), you discover a convention, the "
        'user sets a rule ("never ...", "always ..."), or you find '
        "the cause and fix of a mistake. One fact per call. Storing "
        "the same text again returns the existing memory. Do not "
        "store secrets or text MemoryMesh gave you.",
        "inputSchema": {
            "properties": {
                "text": {
                    "description": "One fact in a "
                    "self-contained "
                    "sentence, e.g. 'User "
                    "prefers tabs over "
                    "spaces in Python' or "
                    "'We chose PostgreSQL "
                    "for billing because "
                    "of row locks'",
                    "maxLength": 10000,
                    "minLength": 1,
                    "title": "Text",
                    "type": "string",
                },
                "category": {
                    "anyOf": [
                        {
                            "enum": [
                                "preference",
                                "guardrail",
                                "mistake",
                                "personality",
                                "question",
                                "decision",
                                "pattern",
                                "context",
                                "session_summary",
                            ],
                            "type": "string",
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                    "description": "What kind of memory; inferred from the text when omitted",
                    "title": "Category",
                },
                "importance": {
                    "anyOf": [{"maximum": 1.0, "minimum": 0.0, "type": "number"}, {"type": "null"}],
                    "default": None,
                    "description": "0 trivia … 1 never forget; estimated when omitted",
                    "title": "Importance",
                },
                "scope": {
                    "anyOf": [{"enum": ["project", "global"], "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "'global' follows "
                    "the user into every "
                    "project, 'project' "
                    "stays with this "
                    "codebase; follows "
                    "the category when "
                    "omitted",
                    "title": "Scope",
                },
                "metadata": {
                    "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
                    "default": None,
                    "description": "Optional JSON "
                    "object stored "
                    "with the memory "
                    "(at most 16384 "
                    "bytes as JSON)",
                    "title": "Metadata",
                },
                "pin": {
                    "default": False,
                    "description": "Pin it: top importance, never expires",
                    "title": "Pin",
                    "type": "boolean",
                },
                "session_id": {
                    "anyOf": [{"maxLength": 256, "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "The "
                    "conversation "
                    "this came from "
                    "(default: this "
                    "connection's "
                    "session)",
                    "title": "Session Id",
                },
            },
            "required": ["text"],
            "title": "rememberArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "What a remember call did.",
            "properties": {
                "status": {
                    "description": "stored: a new "
                    "memory; "
                    "duplicate: "
                    "already "
                    "remembered (the "
                    "existing memory "
                    "is returned); "
                    "not_stored_injected_context: "
                    "the text was only "
                    "memory context "
                    "MemoryMesh itself "
                    "supplied, so "
                    "nothing was "
                    "written",
                    "enum": ["stored", "duplicate", "not_stored_injected_context"],
                    "title": "Status",
                    "type": "string",
                },
                "message": {"title": "Message", "type": "string"},
                "memory": {
                    "anyOf": [
                        {
                            "description": "One memory.",
                            "properties": {
                                "id": {
                                    "description": "The "
                                    "memory's "
                                    "id "
                                    "(any "
                                    "unique "
                                    "prefix "
                                    "works "
                                    "in "
                                    "other "
                                    "tools)",
                                    "title": "Id",
                                    "type": "string",
                                },
                                "text": {"title": "Text", "type": "string"},
                                "category": {"title": "Category", "type": "string"},
                                "importance": {"title": "Importance", "type": "number"},
                                "scope": {
                                    "description": "'project' "
                                    "(this "
                                    "codebase) "
                                    "or "
                                    "'global' "
                                    "(follows "
                                    "the "
                                    "user)",
                                    "title": "Scope",
                                    "type": "string",
                                },
                                "pinned": {"title": "Pinned", "type": "boolean"},
                                "metadata": {
                                    "additionalProperties": True,
                                    "title": "Metadata",
                                    "type": "object",
                                },
                                "created_at": {
                                    "description": "When it was recorded (ISO 8601, UTC)",
                                    "title": "Created At",
                                    "type": "string",
                                },
                                "updated_at": {"title": "Updated At", "type": "string"},
                                "event_time": {
                                    "anyOf": [{"type": "string"}, {"type": "null"}],
                                    "default": None,
                                    "description": "When it happened, if known",
                                    "title": "Event Time",
                                },
                                "expires_at": {
                                    "anyOf": [{"type": "string"}, {"type": "null"}],
                                    "default": None,
                                    "title": "Expires At",
                                },
                                "access_count": {"title": "Access Count", "type": "integer"},
                                "superseded_by": {
                                    "anyOf": [{"type": "string"}, {"type": "null"}],
                                    "default": None,
                                    "title": "Superseded By",
                                },
                                "source": {"title": "Source", "type": "string"},
                                "agent": {
                                    "anyOf": [{"type": "string"}, {"type": "null"}],
                                    "default": None,
                                    "title": "Agent",
                                },
                                "session_id": {
                                    "anyOf": [{"type": "string"}, {"type": "null"}],
                                    "default": None,
                                    "title": "Session Id",
                                },
                            },
                            "required": [
                                "id",
                                "text",
                                "category",
                                "importance",
                                "scope",
                                "pinned",
                                "metadata",
                                "created_at",
                                "updated_at",
                                "access_count",
                                "source",
                            ],
                            "title": "MemoryOut",
                            "type": "object",
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                },
            },
            "required": ["status", "message"],
            "title": "RememberResult",
            "type": "object",
        },
        "annotations": {
            "title": "Remember",
            "readOnlyHint": False,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "update_memory",
        "description": "Correct a memory that is wrong or outdated; fields you omit "
        "stay as they are. Call it when the user corrects something "
        "you remembered, or a decision changed. Prefer it to forget + "
        "remember: the memory keeps its id and history.",
        "inputSchema": {
            "properties": {
                "memory_id": {
                    "description": "A memory id, or "
                    "a unique prefix "
                    "of one (the "
                    "first 8 "
                    "characters will "
                    "do)",
                    "maxLength": 64,
                    "minLength": 4,
                    "title": "Memory Id",
                    "type": "string",
                },
                "text": {
                    "anyOf": [
                        {"maxLength": 10000, "minLength": 1, "type": "string"},
                        {"type": "null"},
                    ],
                    "default": None,
                    "description": "The corrected text",
                    "title": "Text",
                },
                "category": {
                    "anyOf": [
                        {
                            "enum": [
                                "preference",
                                "guardrail",
                                "mistake",
                                "personality",
                                "question",
                                "decision",
                                "pattern",
                                "context",
                                "session_summary",
                            ],
                            "type": "string",
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                    "description": "A new category",
                    "title": "Category",
                },
                "importance": {
                    "anyOf": [{"maximum": 1.0, "minimum": 0.0, "type": "number"}, {"type": "null"}],
                    "default": None,
                    "description": "A new importance, 0 trivia … 1 never forget",
                    "title": "Importance",
                },
                "metadata": {
                    "anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
                    "default": None,
                    "description": "Replaces the whole metadata object",
                    "title": "Metadata",
                },
            },
            "required": ["memory_id"],
            "title": "update_memoryArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "One memory.",
            "properties": {
                "id": {
                    "description": "The memory's id (any unique prefix works in other tools)",
                    "title": "Id",
                    "type": "string",
                },
                "text": {"title": "Text", "type": "string"},
                "category": {"title": "Category", "type": "string"},
                "importance": {"title": "Importance", "type": "number"},
                "scope": {
                    "description": "'project' (this codebase) or 'global' (follows the user)",
                    "title": "Scope",
                    "type": "string",
                },
                "pinned": {"title": "Pinned", "type": "boolean"},
                "metadata": {"additionalProperties": True, "title": "Metadata", "type": "object"},
                "created_at": {
                    "description": "When it was recorded (ISO 8601, UTC)",
                    "title": "Created At",
                    "type": "string",
                },
                "updated_at": {"title": "Updated At", "type": "string"},
                "event_time": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "When it happened, if known",
                    "title": "Event Time",
                },
                "expires_at": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Expires At",
                },
                "access_count": {"title": "Access Count", "type": "integer"},
                "superseded_by": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Superseded By",
                },
                "source": {"title": "Source", "type": "string"},
                "agent": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Agent",
                },
                "session_id": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Session Id",
                },
            },
            "required": [
                "id",
                "text",
                "category",
                "importance",
                "scope",
                "pinned",
                "metadata",
                "created_at",
                "updated_at",
                "access_count",
                "source",
            ],
            "title": "MemoryOut",
            "type": "object",
        },
        "annotations": {
            "title": "Update a memory",
            "readOnlyHint": False,
            "destructiveHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "pin",
        "description": "Pin a memory so it always ranks first and never expires (or "
        "unpin it). Call it when the user says something must never "
        "be forgotten, or for a guardrail that must always be in "
        "context.",
        "inputSchema": {
            "properties": {
                "memory_id": {
                    "description": "A memory id, or "
                    "a unique prefix "
                    "of one (the "
                    "first 8 "
                    "characters will "
                    "do)",
                    "maxLength": 64,
                    "minLength": 4,
                    "title": "Memory Id",
                    "type": "string",
                },
                "pinned": {
                    "default": True,
                    "description": "true to pin, false to unpin",
                    "title": "Pinned",
                    "type": "boolean",
                },
            },
            "required": ["memory_id"],
            "title": "pinArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "One memory.",
            "properties": {
                "id": {
                    "description": "The memory's id (any unique prefix works in other tools)",
                    "title": "Id",
                    "type": "string",
                },
                "text": {"title": "Text", "type": "string"},
                "category": {"title": "Category", "type": "string"},
                "importance": {"title": "Importance", "type": "number"},
                "scope": {
                    "description": "'project' (this codebase) or 'global' (follows the user)",
                    "title": "Scope",
                    "type": "string",
                },
                "pinned": {"title": "Pinned", "type": "boolean"},
                "metadata": {"additionalProperties": True, "title": "Metadata", "type": "object"},
                "created_at": {
                    "description": "When it was recorded (ISO 8601, UTC)",
                    "title": "Created At",
                    "type": "string",
                },
                "updated_at": {"title": "Updated At", "type": "string"},
                "event_time": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "When it happened, if known",
                    "title": "Event Time",
                },
                "expires_at": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Expires At",
                },
                "access_count": {"title": "Access Count", "type": "integer"},
                "superseded_by": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Superseded By",
                },
                "source": {"title": "Source", "type": "string"},
                "agent": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Agent",
                },
                "session_id": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "default": None,
                    "title": "Session Id",
                },
            },
            "required": [
                "id",
                "text",
                "category",
                "importance",
                "scope",
                "pinned",
                "metadata",
                "created_at",
                "updated_at",
                "access_count",
                "source",
            ],
            "title": "MemoryOut",
            "type": "object",
        },
        "annotations": {
            "title": "Pin or unpin a memory",
            "readOnlyHint": False,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "forget",
        "description": "Delete one memory for good. Call it only when the user asks "
        "you to forget something, or a memory is plainly wrong and "
        "cannot be corrected with update_memory. This cannot be "
        "undone.",
        "inputSchema": {
            "properties": {
                "memory_id": {
                    "description": "A memory id, or "
                    "a unique prefix "
                    "of one (the "
                    "first 8 "
                    "characters will "
                    "do)",
                    "maxLength": 64,
                    "minLength": 4,
                    "title": "Memory Id",
                    "type": "string",
                }
            },
            "required": ["memory_id"],
            "title": "forgetArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "The memory that was deleted.",
            "properties": {
                "forgotten": {
                    "description": "One memory.",
                    "properties": {
                        "id": {
                            "description": "The "
                            "memory's "
                            "id "
                            "(any "
                            "unique "
                            "prefix "
                            "works "
                            "in "
                            "other "
                            "tools)",
                            "title": "Id",
                            "type": "string",
                        },
                        "text": {"title": "Text", "type": "string"},
                        "category": {"title": "Category", "type": "string"},
                        "importance": {"title": "Importance", "type": "number"},
                        "scope": {
                            "description": "'project' "
                            "(this "
                            "codebase) "
                            "or "
                            "'global' "
                            "(follows "
                            "the "
                            "user)",
                            "title": "Scope",
                            "type": "string",
                        },
                        "pinned": {"title": "Pinned", "type": "boolean"},
                        "metadata": {
                            "additionalProperties": True,
                            "title": "Metadata",
                            "type": "object",
                        },
                        "created_at": {
                            "description": "When it was recorded (ISO 8601, UTC)",
                            "title": "Created At",
                            "type": "string",
                        },
                        "updated_at": {"title": "Updated At", "type": "string"},
                        "event_time": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "description": "When it happened, if known",
                            "title": "Event Time",
                        },
                        "expires_at": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "title": "Expires At",
                        },
                        "access_count": {"title": "Access Count", "type": "integer"},
                        "superseded_by": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "title": "Superseded By",
                        },
                        "source": {"title": "Source", "type": "string"},
                        "agent": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "title": "Agent",
                        },
                        "session_id": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": None,
                            "title": "Session Id",
                        },
                    },
                    "required": [
                        "id",
                        "text",
                        "category",
                        "importance",
                        "scope",
                        "pinned",
                        "metadata",
                        "created_at",
                        "updated_at",
                        "access_count",
                        "source",
                    ],
                    "title": "MemoryOut",
                    "type": "object",
                }
            },
            "required": ["forgotten"],
            "title": "ForgetResult",
            "type": "object",
        },
        "annotations": {
            "title": "Forget a memory",
            "readOnlyHint": False,
            "destructiveHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "list_memories",
        "description": "Browse memories without a query, e.g. the newest decisions "
        "or every guardrail. Call it when the user asks what you "
        "remember in general; use recall to answer a question.",
        "inputSchema": {
            "properties": {
                "category": {
                    "anyOf": [
                        {
                            "enum": [
                                "preference",
                                "guardrail",
                                "mistake",
                                "personality",
                                "question",
                                "decision",
                                "pattern",
                                "context",
                                "session_summary",
                            ],
                            "type": "string",
                        },
                        {"type": "null"},
                    ],
                    "default": None,
                    "description": "Only this category",
                    "title": "Category",
                },
                "scope": {
                    "anyOf": [{"enum": ["project", "global"], "type": "string"}, {"type": "null"}],
                    "default": None,
                    "description": "Only project or only global",
                    "title": "Scope",
                },
                "order": {
                    "default": "newest",
                    "description": "Sort order",
                    "enum": ["newest", "oldest", "importance", "updated", "accessed"],
                    "title": "Order",
                    "type": "string",
                },
                "limit": {
                    "default": 20,
                    "description": "How many memories (at most 100)",
                    "maximum": 100,
                    "minimum": 1,
                    "title": "Limit",
                    "type": "integer",
                },
                "offset": {
                    "default": 0,
                    "description": "How many to skip, to page through the rest",
                    "maximum": 1000000,
                    "minimum": 0,
                    "title": "Offset",
                    "type": "integer",
                },
            },
            "title": "list_memoriesArguments",
            "type": "object",
        },
        "outputSchema": {
            "description": "A page of memories.",
            "properties": {
                "count": {"title": "Count", "type": "integer"},
                "memories": {
                    "items": {
                        "description": "One memory.",
                        "properties": {
                            "id": {
                                "description": "The "
                                "memory's "
                                "id "
                                "(any "
                                "unique "
                                "prefix "
                                "works "
                                "in "
                                "other "
                                "tools)",
                                "title": "Id",
                                "type": "string",
                            },
                            "text": {"title": "Text", "type": "string"},
                            "category": {"title": "Category", "type": "string"},
                            "importance": {"title": "Importance", "type": "number"},
                            "scope": {
                                "description": "'project' "
                                "(this "
                                "codebase) "
                                "or "
                                "'global' "
                                "(follows "
                                "the "
                                "user)",
                                "title": "Scope",
                                "type": "string",
                            },
                            "pinned": {"title": "Pinned", "type": "boolean"},
                            "metadata": {
                                "additionalProperties": True,
                                "title": "Metadata",
                                "type": "object",
                            },
                            "created_at": {
                                "description": "When it was recorded (ISO 8601, UTC)",
                                "title": "Created At",
                                "type": "string",
                            },
                            "updated_at": {"title": "Updated At", "type": "string"},
                            "event_time": {
                                "anyOf": [{"type": "string"}, {"type": "null"}],
                                "default": None,
                                "description": "When it happened, if known",
                                "title": "Event Time",
                            },
                            "expires_at": {
                                "anyOf": [{"type": "string"}, {"type": "null"}],
                                "default": None,
                                "title": "Expires At",
                            },
                            "access_count": {"title": "Access Count", "type": "integer"},
                            "superseded_by": {
                                "anyOf": [{"type": "string"}, {"type": "null"}],
                                "default": None,
                                "title": "Superseded By",
                            },
                            "source": {"title": "Source", "type": "string"},
                            "agent": {
                                "anyOf": [{"type": "string"}, {"type": "null"}],
                                "default": None,
                                "title": "Agent",
                            },
                            "session_id": {
                                "anyOf": [{"type": "string"}, {"type": "null"}],
                                "default": None,
                                "title": "Session Id",
                            },
                        },
                        "required": [
                            "id",
                            "text",
                            "category",
                            "importance",
                            "scope",
                            "pinned",
                            "metadata",
                            "created_at",
                            "updated_at",
                            "access_count",
                            "source",
                        ],
                        "title": "MemoryOut",
                        "type": "object",
                    },
                    "title": "Memories",
                    "type": "array",
                },
            },
            "required": ["count", "memories"],
            "title": "ListResult",
            "type": "object",
        },
        "annotations": {
            "title": "List memories",
            "readOnlyHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
    {
        "name": "memory_stats",
        "description": "How many memories there are by scope and category, and where "
        "the stores live. Call it when the user asks about their "
        "memory store or whether MemoryMesh is working.",
        "inputSchema": {"properties": {}, "title": "memory_statsArguments", "type": "object"},
        "outputSchema": {
            "description": "Counts over both stores, and where they live.",
            "properties": {
                "total": {"title": "Total", "type": "integer"},
                "by_scope": {
                    "additionalProperties": {"type": "integer"},
                    "title": "By Scope",
                    "type": "object",
                },
                "by_category": {
                    "additionalProperties": {"type": "integer"},
                    "title": "By Category",
                    "type": "object",
                },
                "pinned": {"title": "Pinned", "type": "integer"},
                "superseded": {"title": "Superseded", "type": "integer"},
                "expired": {"title": "Expired", "type": "integer"},
                "project_store": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "None when no project was detected",
                    "title": "Project Store",
                },
                "global_store": {"title": "Global Store", "type": "string"},
                "client": {
                    "anyOf": [{"type": "string"}, {"type": "null"}],
                    "description": "The MCP client's name, recorded as agent on writes",
                    "title": "Client",
                },
            },
            "required": [
                "total",
                "by_scope",
                "by_category",
                "pinned",
                "superseded",
                "expired",
                "project_store",
                "global_store",
                "client",
            ],
            "title": "StatsOut",
            "type": "object",
        },
        "annotations": {
            "title": "Memory statistics",
            "readOnlyHint": True,
            "idempotentHint": True,
            "openWorldHint": False,
        },
    },
]
