"""The MCP server: tools, resources and a prompt over one :class:`~memorymesh.AsyncMemoryMesh`.

Every tool validates its arguments with pydantic (limits in :mod:`._limits` appear in the input
schema as ``maxLength``/``maximum``), returns a flat pydantic model as structured output, and
turns every :class:`~memorymesh.MemoryMeshError` into a tool error with a plain message. Core
writes are single transactions, so a failed call never leaves half a memory behind.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, get_args

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool, ToolManager
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from mcp_types import Tool as MCPTool
from pydantic import Field, ValidationError

from memorymesh import (
    InjectedContextError,
    InvalidInputError,
    MemoryMeshError,
    MemoryNotFoundError,
    __version__,
    mark_injected,
)

from ._flatten import flatten_schema
from ._limits import (
    MAX_BUDGET_TOKENS,
    MAX_ID_CHARS,
    MAX_LIST,
    MAX_METADATA_BYTES,
    MAX_QUERY_CHARS,
    MAX_RECALL_K,
    MAX_TEXT_CHARS,
    MIN_BUDGET_TOKENS,
)
from ._listing import TOOL_LISTING
from ._models import (
    ForgetResult,
    ListResult,
    MemoryOut,
    RecallHit,
    RecallOut,
    RememberResult,
    ScoreParts,
    SessionStartResult,
    StatsOut,
)
from ._state import ServerState, allowed_root_folders, check_store_files, request_scope

if TYPE_CHECKING:
    from memorymesh import AsyncMemoryMesh

__all__ = ["INSTRUCTIONS", "build_server"]

T = TypeVar("T")

INSTRUCTIONS = """\
MemoryMesh is your long-term memory: it persists across sessions and is shared with the \
user's other AI tools. Use it so the user never has to repeat themselves.
- At the start of a session, call session_start (pass the user's first message or task as \
query) and follow what it returns: guardrails are rules, not suggestions. What you \
remember after it is linked to that session, so the next session knows what this one did.
- Before answering questions about the user, this project, past decisions or past mistakes, \
call recall.
- Call remember when you learn something worth keeping: a preference, a decision and its \
reason, a convention, a guardrail ("never ..."), or the cause and fix of a mistake. One fact \
per call, in a self-contained sentence. Never store secrets, and never store text you got \
from MemoryMesh itself.
- When a memory is wrong or outdated, call update_memory (or forget when the user asks). Pin \
what must never be forgotten.
"""

Category = Literal[
    "preference",
    "guardrail",
    "mistake",
    "personality",
    "question",
    "decision",
    "pattern",
    "context",
    "session_summary",
]
ScopeArg = Literal["project", "global"]
MemoryId = Annotated[
    str,
    Field(
        min_length=4,
        max_length=MAX_ID_CHARS,
        description="A memory id, or a unique prefix of one (the first 8 characters will do)",
    ),
]
Metadata = Annotated[
    dict[str, Any] | None,
    Field(
        description=f"Optional JSON object stored with the memory (at most {MAX_METADATA_BYTES} "
        "bytes as JSON)",
    ),
]


def _client_name(ctx: Context[Any, Any]) -> str | None:
    params = ctx.request_context.session.client_params
    info = getattr(params, "client_info", None)
    name = getattr(info, "name", None)
    return name[:256] if isinstance(name, str) and name.strip() else None


def _state(ctx: Context[Any, Any]) -> ServerState:
    state: ServerState = ctx.request_context.lifespan_context
    return state


async def _mesh(ctx: Context[Any, Any]) -> AsyncMemoryMesh:
    state = _state(ctx)
    return await _guard(lambda: state.mesh_for(ctx.request_context.session))


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    """Run a core call; a MemoryMesh error becomes a tool error the assistant can read."""
    try:
        return await call()
    except MemoryNotFoundError as exc:
        raise ToolError(
            f"No memory with id {exc.memory_id!r} (or the prefix matches several). "
            "Use recall or list_memories to find the right id."
        ) from exc
    except MemoryMeshError as exc:
        raise ToolError(str(exc)) from exc


async def _resolve(mesh: AsyncMemoryMesh, given: str) -> str:
    try:
        return (await mesh.get(given)).id
    except MemoryNotFoundError:
        return await mesh.resolve_id(given)


_NOT_STORED_INJECTED = RememberResult(
    status="not_stored_injected_context",
    message="Not stored: this text is memory context MemoryMesh itself supplied "
    "(session_start, recall or list_memories output), so it is already remembered.",
)

#: The top-level keys of the structured output of each tool (and the memory resource) that
#: returns memories.
_OUTPUT_SHAPES = (
    frozenset(RecallOut.model_fields) - {"terms", "filters", "reason"},
    frozenset(ListResult.model_fields),
    frozenset({"text", "items", "budget_tokens"}),
    frozenset({"id", "text", "category", "scope", "created_at", "access_count"}),
)


def _is_tool_output(text: str) -> bool:
    """True if ``text`` is one of our own outputs passed back whole as JSON: a client that
    shows the model the structured result (no marker there) must not turn it into a memory."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return False
    try:
        data = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(data, dict) and any(shape <= data.keys() for shape in _OUTPUT_SHAPES)


# -- tools ----------------------------------------------------------------------------------------


async def remember(
    text: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_TEXT_CHARS,
            description="One fact in a self-contained sentence, e.g. 'User prefers tabs over "
            "spaces in Python' or 'We chose PostgreSQL for billing because of row locks'",
        ),
    ],
    ctx: Context[Any, Any],
    category: Annotated[
        Category | None,
        Field(description="What kind of memory; inferred from the text when omitted"),
    ] = None,
    importance: Annotated[
        float | None,
        Field(ge=0.0, le=1.0, description="0 trivia … 1 never forget; estimated when omitted"),
    ] = None,
    scope: Annotated[
        ScopeArg | None,
        Field(
            description="'global' follows the user into every project, 'project' stays with "
            "this codebase; follows the category when omitted"
        ),
    ] = None,
    metadata: Metadata = None,
    pin: Annotated[bool, Field(description="Pin it: top importance, never expires")] = False,
    session_id: Annotated[
        str | None,
        Field(
            max_length=256,
            description="The conversation this came from (default: this connection's session)",
        ),
    ] = None,
) -> RememberResult:
    """Store one thing worth remembering across sessions and tools.

    Call it when the user states a preference, you make or learn a decision (with its reason),
    you discover a convention, the user sets a rule ("never ...", "always ..."), or you find
    the cause and fix of a mistake. One fact per call. Storing the same text again returns
    the existing memory. Do not store secrets or text MemoryMesh gave you.
    """
    mesh = await _mesh(ctx)
    if _is_tool_output(text):
        return _NOT_STORED_INJECTED
    if session_id is None:
        session_id = _state(ctx).started_session(ctx.request_context.session)
    started = time.time()
    try:
        memory = await _guard(
            lambda: mesh.remember(
                text,
                category=category,
                importance=importance,
                scope=scope,
                metadata=metadata,
                pin=pin,
                session_id=session_id,
                agent=_client_name(ctx),
            )
        )
    except ToolError as exc:
        if isinstance(exc.__cause__, InjectedContextError):
            return _NOT_STORED_INJECTED
        raise
    if memory.created_at.timestamp() < started:
        return RememberResult(
            status="duplicate",
            message=f"Already remembered as {memory.id[:8]}; nothing new was stored.",
            memory=MemoryOut.of(memory),
        )
    return RememberResult(
        status="stored",
        message=f"Remembered {memory.id[:8]} ({memory.category.value}, {memory.scope.value}).",
        memory=MemoryOut.of(memory),
    )


async def recall(
    query: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_QUERY_CHARS,
            description="A question or keywords, e.g. 'which database do we use for billing?'",
        ),
    ],
    ctx: Context[Any, Any],
    k: Annotated[int, Field(ge=1, le=MAX_RECALL_K, description="How many results")] = 5,
    category: Annotated[
        Category | None, Field(description="Only memories of this category")
    ] = None,
    scope: Annotated[ScopeArg | None, Field(description="Only project or only global")] = None,
    min_importance: Annotated[
        float | None,
        Field(ge=0.0, le=1.0, description="Only memories at least this important (0 … 1)"),
    ] = None,
    include_history: Annotated[
        bool,
        Field(description="Also return superseded and expired memories (what used to be true)"),
    ] = False,
    explain: Annotated[
        bool,
        Field(
            description="Add each score's breakdown, the terms and filters used, and why "
            "nothing matched when nothing did"
        ),
    ] = False,
) -> RecallOut:
    """Search long-term memory; best matches first, each with a score from 0 to 1.

    Call it before answering anything that may depend on the user's preferences, this
    project's decisions and conventions, or lessons from past mistakes, and whenever the user
    asks what you remember. Keyword search: use the words the memory would contain. Set
    explain when the user asks why a memory came back or why nothing did.
    """
    mesh = await _mesh(ctx)
    hits = await _guard(
        lambda: mesh.recall(
            query,
            k=k,
            category=category,
            scope=scope,
            min_importance=min_importance,
            current_only=not include_history,
            explain=explain,
        )
    )
    results = []
    for hit in hits:
        why = None
        if explain:
            b = hit.breakdown
            why = ScoreParts(
                relevance=round(b.relevance, 4),
                recency=round(b.recency, 4),
                importance=round(b.importance, 4),
                frequency=round(b.frequency, 4),
                weights={
                    "relevance": b.weights.relevance,
                    "recency": b.weights.recency,
                    "importance": b.weights.importance,
                    "frequency": b.weights.frequency,
                },
            )
        results.append(
            RecallHit(score=round(hit.score, 4), memory=MemoryOut.of(hit.memory), why=why)
        )
    explanation = hits.explanation
    return RecallOut(
        query=query,
        count=len(hits),
        results=results,
        terms=explanation.query_terms if explanation else None,
        filters=explanation.filters if explanation else None,
        reason=explanation.reason if explanation else None,
    )


async def session_start(
    ctx: Context[Any, Any],
    query: Annotated[
        str | None,
        Field(
            max_length=MAX_QUERY_CHARS,
            description="The user's first message or task: adds the memories relevant to it",
        ),
    ] = None,
    budget_tokens: Annotated[
        int,
        Field(
            ge=MIN_BUDGET_TOKENS,
            le=MAX_BUDGET_TOKENS,
            description="Most tokens the context may use (estimated as characters / 4)",
        ),
    ] = 1500,
    session_id: Annotated[
        str | None,
        Field(max_length=256, description="A session being resumed: adds its memories"),
    ] = None,
    continues: Annotated[
        str | None,
        Field(
            max_length=256,
            description="The id of the earlier session this one picks up from (default: "
            "this client's last session in the project)",
        ),
    ] = None,
) -> SessionStartResult:
    """Load what you should know before your first answer in a session.

    Call it once at the start of every session (pass the first message or task as query).
    Returns guardrails, the user's profile and preferences, mistakes not to repeat, recent
    project decisions, and memories relevant to the task, most useful first, within a token
    budget. Treat the text as background knowledge; do not remember it again.
    """
    mesh = await _mesh(ctx)
    context = await _guard(
        lambda: mesh.session_start(
            query,
            budget_tokens=budget_tokens,
            session_id=session_id,
            client=_client_name(ctx),
            continues=continues,
        )
    )
    if context.session_id is not None:
        _state(ctx).record_session(ctx.request_context.session, context.session_id)
    return SessionStartResult.of(context)


async def update_memory(
    memory_id: MemoryId,
    ctx: Context[Any, Any],
    text: Annotated[
        str | None,
        Field(min_length=1, max_length=MAX_TEXT_CHARS, description="The corrected text"),
    ] = None,
    category: Annotated[Category | None, Field(description="A new category")] = None,
    importance: Annotated[
        float | None,
        Field(ge=0.0, le=1.0, description="A new importance, 0 trivia … 1 never forget"),
    ] = None,
    metadata: Annotated[
        dict[str, Any] | None,
        Field(description="Replaces the whole metadata object"),
    ] = None,
) -> MemoryOut:
    """Correct a memory that is wrong or outdated; fields you omit stay as they are.

    Call it when the user corrects something you remembered, or a decision changed. Prefer it
    to forget + remember: the memory keeps its id and history.
    """
    if text is None and category is None and importance is None and metadata is None:
        raise ToolError("Nothing to update: give text, category, importance or metadata.")
    mesh = await _mesh(ctx)

    async def run() -> MemoryOut:
        full = await _resolve(mesh, memory_id)
        return MemoryOut.of(
            await mesh.update(
                full, text=text, category=category, importance=importance, metadata=metadata
            )
        )

    return await _guard(run)


async def forget(memory_id: MemoryId, ctx: Context[Any, Any]) -> ForgetResult:
    """Delete one memory for good.

    Call it only when the user asks you to forget something, or a memory is plainly wrong and
    cannot be corrected with update_memory. This cannot be undone.
    """
    mesh = await _mesh(ctx)

    async def run() -> ForgetResult:
        return ForgetResult(
            forgotten=MemoryOut.of(await mesh.forget(await _resolve(mesh, memory_id)))
        )

    return await _guard(run)


async def pin(
    memory_id: MemoryId,
    ctx: Context[Any, Any],
    pinned: Annotated[bool, Field(description="true to pin, false to unpin")] = True,
) -> MemoryOut:
    """Pin a memory so it always ranks first and never expires (or unpin it).

    Call it when the user says something must never be forgotten, or for a guardrail that
    must always be in context.
    """
    mesh = await _mesh(ctx)

    async def run() -> MemoryOut:
        full = await _resolve(mesh, memory_id)
        return MemoryOut.of(await (mesh.pin(full) if pinned else mesh.unpin(full)))

    return await _guard(run)


async def list_memories(
    ctx: Context[Any, Any],
    category: Annotated[Category | None, Field(description="Only this category")] = None,
    scope: Annotated[ScopeArg | None, Field(description="Only project or only global")] = None,
    order: Annotated[
        Literal["newest", "oldest", "importance", "updated", "accessed"],
        Field(description="Sort order"),
    ] = "newest",
    limit: Annotated[
        int, Field(ge=1, le=MAX_LIST, description=f"How many memories (at most {MAX_LIST})")
    ] = 20,
    offset: Annotated[
        int, Field(ge=0, le=1_000_000, description="How many to skip, to page through the rest")
    ] = 0,
) -> ListResult:
    """Browse memories without a query, e.g. the newest decisions or every guardrail.

    Call it when the user asks what you remember in general; use recall to answer a question.
    """
    mesh = await _mesh(ctx)
    memories = await _guard(
        lambda: mesh.list(category=category, scope=scope, order=order, limit=limit, offset=offset)
    )
    return ListResult(count=len(memories), memories=[MemoryOut.of(m) for m in memories])


async def memory_stats(ctx: Context[Any, Any]) -> StatsOut:
    """How many memories there are by scope and category, and where the stores live.

    Call it when the user asks about their memory store or whether MemoryMesh is working.
    """
    mesh = await _mesh(ctx)
    return StatsOut.of(await _guard(mesh.stats), _client_name(ctx))


def _annotations(
    title: str, *, read_only: bool, destructive: bool = False, idempotent: bool = False
) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=read_only,
        destructive_hint=None if read_only else destructive,
        idempotent_hint=idempotent,
        open_world_hint=False,  # a local database, nothing outside it
    )


#: Each tool and its honest hints. Recall and session_start count the memories they return as
#: accessed (statistics that feed ranking), which changes no memory, so they are read-only.
#: session_start also records the session in its chain (bookkeeping, no memory changes); a
#: second call without ``session_id`` records another session, so it is not idempotent.
TOOLS: list[tuple[Callable[..., Awaitable[Any]], ToolAnnotations]] = [
    (session_start, _annotations("Load memory for this session", read_only=True, idempotent=False)),
    (recall, _annotations("Recall memories", read_only=True, idempotent=True)),
    # Storing the same text twice returns the first memory: idempotent, and nothing is lost.
    (remember, _annotations("Remember", read_only=False, idempotent=True)),
    (
        update_memory,
        _annotations("Update a memory", read_only=False, destructive=True, idempotent=True),
    ),
    (pin, _annotations("Pin or unpin a memory", read_only=False, idempotent=True)),
    (forget, _annotations("Forget a memory", read_only=False, destructive=True, idempotent=True)),
    (list_memories, _annotations("List memories", read_only=True, idempotent=True)),
    (memory_stats, _annotations("Memory statistics", read_only=True, idempotent=True)),
]


#: Tools whose output hands stored memories to the model, and the label of their marker.
#: session_start is not here: its text is marked already (see ``memorymesh.context._session``).
MARKED_OUTPUT = {"recall": "recall", "list_memories": "list"}


def _mark_content(result: CallToolResult, label: str) -> CallToolResult:
    """Wrap the text the model reads in the injected-context marker, so that text passed back
    to ``remember`` (or saved by any MemoryMesh write path) is recognised and not stored."""
    content = [
        block.model_copy(update={"text": mark_injected(block.text, label=label)})
        if isinstance(block, TextContent)
        else block
        for block in result.content
    ]
    return result.model_copy(update={"content": content})


class _Tool(Tool):
    """A tool whose argument errors read as one line per field, without pydantic's links, and
    whose memory-bearing output is marked as injected context."""

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with request_scope():
                result = await super().run(*args, **kwargs)
        except ToolError as exc:
            cause = exc.__cause__
            if not isinstance(cause, ValidationError):
                raise
            problems = "; ".join(
                f"{'.'.join(str(part) for part in error['loc']) or 'arguments'}: {error['msg']}"
                for error in cause.errors()
            )
            raise ToolError(f"Invalid arguments for {self.name}: {problems}") from cause
        label = MARKED_OUTPUT.get(self.name)
        if label is not None and isinstance(result, CallToolResult) and not result.is_error:
            return _mark_content(result, label)
        return result


def _keep_text_as_given(tool: Tool) -> None:
    """Pass optional text arguments through as the strings they are.

    The SDK parses a string argument that is valid JSON into an object unless its type is
    exactly ``str``: ``update_memory(text='{"retries": 3}')`` (``str | None``) then failed
    as "not a valid string". Text is text, whatever it looks like.
    """
    metadata = tool.fn_metadata
    text_fields = {
        name
        for name, field in metadata.arg_model.model_fields.items()
        if set(get_args(field.annotation)) == {str, type(None)}
    }
    if not text_fields:
        return
    parse = metadata.pre_parse_json

    def pre_parse_json(data: dict[str, Any]) -> dict[str, Any]:
        parsed = parse(data)
        for name in text_fields & data.keys():
            parsed[name] = data[name]
        return parsed

    # FuncMetadata is a pydantic model: set the instance attribute past its field checks.
    object.__setattr__(metadata, "pre_parse_json", pre_parse_json)


def _tool(fn: Callable[..., Awaitable[Any]], annotations: ToolAnnotations) -> Tool:
    tool = _Tool.from_function(fn, annotations=annotations, structured_output=True)
    _keep_text_as_given(tool)
    # Clients and models cope badly with $ref: publish self-contained schemas.
    tool.parameters = flatten_schema(tool.parameters)
    if tool.fn_metadata.output_schema is not None:
        tool.fn_metadata.output_schema = flatten_schema(tool.fn_metadata.output_schema)
    tool.description = " ".join(tool.description.split())
    return tool


def _build_tools() -> list[Tool]:
    return [_tool(fn, annotations) for fn, annotations in TOOLS]


class _LazyTools(ToolManager):
    """The SDK's tool manager, with the tools built on first use rather than at start-up.

    Building a tool makes pydantic models of its arguments and output and their JSON
    schemas: ~30 ms for the eight, which a client waited for before its first ``tools/list``.
    Until a tool is called (or looked up, added or removed), the server lists them from
    :data:`._listing.TOOL_LISTING`, what building them publishes (``tests/test_mcp.py``
    checks the two are equal).
    """

    def __init__(self, build: Callable[[], list[Tool]], *, warn_on_duplicate_tools: bool) -> None:
        super().__init__(warn_on_duplicate_tools=warn_on_duplicate_tools)
        self._build: Callable[[], list[Tool]] | None = build

    @property
    def built(self) -> bool:
        return self._build is None

    def _ready(self) -> None:
        if self._build is not None:
            build, self._build = self._build, None
            added, self._tools = self._tools, {tool.name: tool for tool in build()}
            self._tools.update(added)

    def get_tool(self, name: str) -> Tool | None:
        self._ready()
        return super().get_tool(name)

    def list_tools(self) -> list[Tool]:
        self._ready()
        return super().list_tools()

    def add_tool(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Tool:
        self._ready()
        return super().add_tool(fn, *args, **kwargs)

    def remove_tool(self, name: str) -> None:
        self._ready()
        super().remove_tool(name)


def tool_listing(tools: Sequence[MCPTool]) -> list[dict[str, Any]]:
    """What ``tools/list`` publishes for ``tools``, as JSON (the form of
    :data:`._listing.TOOL_LISTING`)."""
    return [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]


async def built_listing() -> list[dict[str, Any]]:
    """What ``tools/list`` publishes once the tools are built (not from the listing)."""
    server = build_server(":memory:", ":memory:")
    return tool_listing(await MCPServer.list_tools(server))


# -- server ---------------------------------------------------------------------------------------

#: "Resource not found" in the handshake-era protocols (2024-11-05 … 2025-11-25); from
#: 2026-07-28 the spec answers a missing resource with -32602 (invalid params) instead.
RESOURCE_NOT_FOUND = -32002


def _not_found(ctx: Context[Any, Any], uri: str) -> MCPError:
    version = str(getattr(ctx.request_context.session, "protocol_version", ""))
    code = RESOURCE_NOT_FOUND if version.startswith(("2024-", "2025-")) else INVALID_PARAMS
    return MCPError(code=code, message="Resource not found", data={"uri": uri})


class _MemoryMeshServer(MCPServer[Any]):
    """The SDK's server, answering an unknown prompt name with -32602 (invalid params), as
    the spec asks, instead of an error with code 0 and a logged traceback; and listing its
    tools before they are built (see :class:`_LazyTools`)."""

    async def list_tools(self) -> list[MCPTool]:
        manager = self._tool_manager
        if isinstance(manager, _LazyTools) and not manager.built:
            return [MCPTool.model_validate(entry) for entry in TOOL_LISTING]
        return await super().list_tools()

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> Any:
        if name not in {prompt.name for prompt in await self.list_prompts()}:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name[:100]!a}")
        return await super().get_prompt(name, arguments, context)


def build_server(
    path: str | None = None,
    global_path: str | None = None,
    *,
    allowed_roots: Sequence[str | Path] = (),
) -> MCPServer[Any]:
    """The MemoryMesh MCP server on these stores (defaults: the project found from the working
    directory or ``MEMORYMESH_PROJECT_ROOT``, and ``~/.memorymesh/global.db``).

    ``allowed_roots``: folders besides the one the server starts for where a client's MCP
    roots may pick the project (see :func:`._state.allowed_root_folders`).
    """

    @asynccontextmanager
    async def lifespan(_: MCPServer[Any]) -> AsyncIterator[ServerState]:
        # Every mesh is entered (`async with`) when a request first needs it, so each runs
        # its background work (access statistics, the judge) while the server runs; left in
        # reverse on shutdown: the project meshes a client's roots opened, then the default
        # one. Only the default stores' files are checked before the first request.
        check_store_files(path, global_path)
        async with AsyncExitStack() as stack:
            state = ServerState((path, global_path), allowed=allowed_root_folders(allowed_roots))
            stack.push_async_callback(state.aclose)
            running["state"] = state
            stack.callback(running.clear)
            yield state

    # Static resources get no request context to reach the lifespan state through.
    running: dict[str, ServerState] = {}

    server: MCPServer[Any] = _MemoryMeshServer(
        "memorymesh",
        title="MemoryMesh",
        description="Persistent, local, private long-term memory shared by your AI tools.",
        instructions=INSTRUCTIONS,
        website_url="https://github.com/memorymesh/memorymesh",
        version=__version__,
        lifespan=lifespan,
        log_level="WARNING",
    )
    # The SDK's manager has no hook for building its tools late: ours replaces it.
    server._tool_manager = _LazyTools(
        _build_tools, warn_on_duplicate_tools=server.settings.warn_on_duplicate_tools
    )

    @server.resource(
        "memory://stats",
        name="memory-stats",
        title="Memory statistics",
        description="Counts by scope and category, and where the stores live (JSON).",
        mime_type="application/json",
    )
    async def stats_resource() -> str:
        state = running.get("state")
        if state is None:
            raise ToolError("the server is not running")
        stats = await (await state.default_mesh()).stats()
        return json.dumps(StatsOut.of(stats, None).model_dump(mode="json"), indent=2)

    @server.resource(
        "memory://{memory_id}",
        name="memory",
        title="One memory",
        description="Every field of one memory, by id or unique id prefix (JSON).",
        mime_type="application/json",
    )
    async def memory_resource(memory_id: str, ctx: Context[Any, Any]) -> str:
        async with request_scope():
            state: ServerState = ctx.request_context.lifespan_context
            try:
                mesh = await state.mesh_for(ctx.request_context.session)
                memory = await mesh.get(await _resolve(mesh, memory_id))
            except MemoryNotFoundError:
                raise _not_found(ctx, f"memory://{memory_id}") from None
            except MemoryMeshError as exc:
                # Expected: answered with its message, logged without a traceback.
                raise ResourceError(str(exc)) from None
            return json.dumps(MemoryOut.of(memory).model_dump(mode="json"), indent=2)

    @server.prompt(
        name="load_memory",
        title="Load my memory",
        description="Start a session with what MemoryMesh remembers: guardrails, profile, "
        "mistakes, recent decisions and memories relevant to the task.",
    )
    async def load_memory(ctx: Context[Any, Any], task: str = "") -> str:
        async with request_scope():
            state: ServerState = ctx.request_context.lifespan_context
            try:
                mesh = await state.mesh_for(ctx.request_context.session)
                context = await mesh.session_start(task[:MAX_QUERY_CHARS] or None)
            except InvalidInputError as exc:
                raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
            except MemoryMeshError as exc:
                raise MCPError(code=INTERNAL_ERROR, message=str(exc)) from None
        return (
            "Here is what you remember from earlier sessions (from MemoryMesh). Use it as "
            "background; follow the guardrails; do not store it again.\n\n"
            + context.text
            + ("\n\nThe task: " + task if task else "")
        )

    return server
