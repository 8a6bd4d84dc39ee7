"""The Memories page (search and browse) and the page of one memory (edit, history, forget).

Search is :meth:`AsyncMemoryMesh.recall` with ``explain=True``, so each hit shows the same
score breakdown the API gives; browsing is :meth:`~AsyncMemoryMesh.list` a page at a time
(offset paging over the store's indexed order, so page 1 of 100,000 costs what page 1 of 100
does) with :meth:`~AsyncMemoryMesh.count` for the total.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .._errors import InvalidInputError
from .._models import Category, Memory, RecallResults, Scope
from .._vocab import MAX_RECALL_K
from ..cli._common import resolve_id
from ._forms import body_fields, choice, first, flag, number, timestamp, whole
from ._html import esc, form, page, qs, when
from ._live import marked
from ._state import ui

__all__ = ["routes"]

PER_PAGE = 50
_CATEGORIES = tuple(c.value for c in Category)
_SCOPES = tuple(s.value for s in Scope)
_ORDERS = ("newest", "oldest", "importance", "updated", "accessed")
_MODES = ("auto", "keyword", "vector", "hybrid")
_STATUSES = ("current", "all")


class _Query:
    """The Memories page's parameters, checked."""

    def __init__(self, params: dict[str, str]) -> None:
        self.q = (params.get("q") or "").strip()
        self.mode = choice(params.get("mode"), _MODES, "mode") or "auto"
        self.scope = choice(params.get("scope"), _SCOPES, "scope")
        self.category = choice(params.get("category"), _CATEGORIES, "category")
        self.session = (params.get("session") or "").strip() or None
        self.source = (params.get("source") or "").strip() or None
        self.agent = (params.get("agent") or "").strip() or None
        self.pinned = flag(params.get("pinned"))
        self.status = choice(params.get("status"), _STATUSES, "status") or "current"
        self.order = choice(params.get("order"), _ORDERS, "order") or "newest"
        self.since = timestamp(params.get("since"), "since")
        self.until = timestamp(params.get("until"), "until")
        if self.until is not None and len((params.get("until") or "").strip()) == 10:
            # A date means the whole day: "until 2025-05-03" includes the 3rd.
            self.until = datetime.combine(self.until.date(), time.max, tzinfo=UTC)
        self.page = whole(params.get("page"), "page", 1, 100_000, 1)
        # What links to other pages of this view keep (not the page, nor one-off notices).
        self.raw = {k: v for k, v in params.items() if k not in ("page", "msg", "undo") and v}

    def link(self, **change: object) -> str:
        merged: dict[str, object] = {**self.raw, **change}
        return "/" + qs(**merged)


async def _search(request: Request, query: _Query) -> tuple[RecallResults, bool]:
    mesh = ui(request).mesh
    k = min(query.page * PER_PAGE + 1, MAX_RECALL_K)
    results = await mesh.recall(
        query.q,
        k=k,
        mode=query.mode,  # type: ignore[arg-type]
        scope=query.scope,
        category=query.category,
        session_id=query.session,
        source=query.source,
        agent=query.agent,
        since=query.since,
        until=query.until,
        current_only=query.status == "current",
        explain=True,
    )
    if query.pinned:
        results[:] = [r for r in results if r.memory.pinned]
    start = (query.page - 1) * PER_PAGE
    more = len(results) > start + PER_PAGE
    page_of = RecallResults(results[start : start + PER_PAGE])
    page_of.explanation = results.explanation
    return page_of, more


async def _browse(request: Request, query: _Query) -> tuple[list[Memory], bool, int]:
    mesh = ui(request).mesh
    options: dict[str, Any] = {
        "scope": query.scope,
        "category": query.category,
        "session_id": query.session,
        "source": query.source,
        "agent": query.agent,
        "since": query.since,
        "until": query.until,
        "pinned": True if query.pinned else None,
        "include_superseded": query.status == "all",
        "include_expired": query.status == "all",
    }
    rows = await mesh.list(
        limit=PER_PAGE + 1,
        offset=(query.page - 1) * PER_PAGE,
        order=query.order,  # type: ignore[arg-type]
        **options,
    )
    total = await mesh.count(**options)
    return rows[:PER_PAGE], len(rows) > PER_PAGE, total


def _select(name: str, values: tuple[str, ...], current: str | None, blank: str) -> str:
    options = [f'<option value="">{esc(blank)}</option>'] if blank else []
    for value in values:
        chosen = " selected" if value == current else ""
        options.append(f'<option value="{esc(value)}"{chosen}>{esc(value)}</option>')
    return f'<select name="{name}" aria-label="{name}">{"".join(options)}</select>'


def _filters(query: _Query) -> str:
    pinned = " checked" if query.pinned else ""
    return f"""
<form class="filters" method="get" action="/" role="search">
  <input type="search" name="q" value="{esc(query.q)}" placeholder="Search memories…"
    aria-label="query" autofocus>
  {_select("mode", _MODES, query.mode, "")}
  {_select("scope", _SCOPES, query.scope, "any scope")}
  {_select("category", _CATEGORIES, query.category, "any category")}
  {_select("status", _STATUSES, query.status, "")}
  {_select("order", _ORDERS, query.order, "")}
  <input name="session" value="{esc(query.session or "")}" placeholder="session id"
    aria-label="session">
  <input name="source" value="{esc(query.source or "")}" placeholder="source"
    aria-label="source">
  <input name="agent" value="{esc(query.agent or "")}" placeholder="agent"
    aria-label="agent">
  <label>since <input type="date" name="since" value="{esc(_day(query.since))}"></label>
  <label>until <input type="date" name="until" value="{esc(_day(query.until))}"></label>
  <label><input type="checkbox" name="pinned"{pinned}> pinned</label>
  <button type="submit">Search</button>
  <a href="/">Reset</a>
</form>"""


def _day(value: datetime | None) -> str:
    return "" if value is None else value.date().isoformat()


def _bar(label: str, value: float, weight: float) -> str:
    # An SVG bar, not a styled <span>: the page's CSP allows no inline style attributes.
    width = max(0.0, min(1.0, value)) * 48
    return (
        f'<span class="part" title="{esc(label)} {value:.3f} x weight {weight:.2f}">'
        f'<span class="name">{esc(label)}</span><svg class="bar" width="48" height="7" '
        f'aria-hidden="true"><rect width="48" height="7" rx="3" class="track"/>'
        f'<rect width="{width:.1f}" height="7" rx="3" class="fill"/></svg>'
        f"<b>{value:.2f}</b></span>"
    )


def _row(memory: Memory, extra: str = "") -> str:
    pin = '<span class="pin" title="pinned">★</span>' if memory.pinned else ""
    state = ' class="old"' if memory.superseded_by else ""
    return (
        f'<tr{state} data-id="{esc(memory.id)}"><td><a href="/memory/{esc(memory.id)}" '
        f'class="mid">{esc(memory.id[:8])}</a>{pin}</td>'
        f'<td class="text">{esc(_clip(memory.text))}{extra}</td>'
        f"<td>{esc(memory.category.value)}</td><td>{esc(memory.scope.value)}</td>"
        f"<td>{memory.importance:.2f}</td><td>{esc(when(memory.created_at))}</td>"
        f"<td>{esc(memory.source)}</td></tr>"
    )


def _clip(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _head(query: _Query, sortable: bool) -> str:
    def col(label: str, order: str | None) -> str:
        if not sortable or order is None:
            return f"<th>{label}</th>"
        mark = " ▾" if query.order == order else ""
        return f'<th><a href="{esc(query.link(order=order))}">{label}{mark}</a></th>'

    return (
        "<thead><tr>"
        + col("id", None)
        + col("text", None)
        + col("category", None)
        + col("scope", None)
        + col("importance", "importance")
        + col("created", "newest")
        + col("source", None)
        + "</tr></thead>"
    )


def _pager(query: _Query, more: bool, total: int | None) -> str:
    parts = []
    if query.page > 1:
        parts.append(f'<a rel="prev" href="{esc(query.link(page=query.page - 1))}">← previous</a>')
    count = f" of {(total - 1) // PER_PAGE + 1}" if total is not None and total else ""
    parts.append(f"<span>page {query.page}{count}</span>")
    if more:
        parts.append(f'<a rel="next" href="{esc(query.link(page=query.page + 1))}">next →</a>')
    return f'<nav class="pager">{" ".join(parts)}</nav>'


@marked
async def memories_page(request: Request) -> Response:
    state = ui(request)
    try:
        query = _Query(dict(request.query_params))
    except InvalidInputError as exc:
        return page(request, "Memories", _filters(_Query({})), status=400, flash=esc(exc))
    undo = _undo_notice(request)
    try:
        if query.q:
            results, more = await _search(request, query)
            rows = "".join(
                _row(
                    state.shown(r.memory),
                    f'<div class="why"><b class="score">score {r.score:.3f}</b>'
                    + _bar("relevance", r.breakdown.relevance, r.breakdown.weights.relevance)
                    + _bar("recency", r.breakdown.recency, r.breakdown.weights.recency)
                    + _bar("importance", r.breakdown.importance, r.breakdown.weights.importance)
                    + _bar("frequency", r.breakdown.frequency, r.breakdown.weights.frequency)
                    + "</div>",
                )
                for r in results
            )
            why = results.explanation
            summary = (
                f'<p class="summary">{len(results)} shown · {why.candidates} candidates · '
                f"terms: {esc(', '.join(why.query_terms))}"
                + (f" · {esc(why.reason)}" if why.reason else "")
                + "</p>"
                if why
                else ""
            )
            table = f'<table class="memories">{_head(query, False)}<tbody>{rows}</tbody></table>'
            body = _filters(query) + summary + table + _pager(query, more, None)
        else:
            memories, more, total = await _browse(request, query)
            rows = "".join(_row(state.shown(m)) for m in memories)
            summary = f'<p class="summary"><b id="total">{total}</b> memories</p>'
            table = f'<table class="memories">{_head(query, True)}<tbody>{rows}</tbody></table>'
            body = _filters(query) + summary + table + _pager(query, more, total)
    except InvalidInputError as exc:
        return page(request, "Memories", _filters(query), status=400, flash=esc(exc))
    return page(request, "Memories", undo + body, live=not query.q)


def _undo_notice(request: Request) -> str:
    key = request.query_params.get("undo")
    memory = ui(request).peek_undo(key) if key else None
    if memory is None or key is None:
        return ""
    inner = f'Forgotten “{esc(_clip(memory.text, 60))}”. <button type="submit">Undo</button>'
    return form(request, f"/undo/{key}", inner, cls="flash undo")


# -- one memory ---------------------------------------------------------------------------------


async def _found(request: Request) -> str:
    return await resolve_id(ui(request).mesh, request.path_params["memory_id"])


async def memory_page(request: Request) -> Response:
    state = ui(request)
    memory_id = await _found(request)
    memory = state.shown(await state.mesh.get(memory_id))
    history = [state.shown(m) for m in await state.mesh.history(memory_id)]
    log = await state.mesh.log(memory_id=memory_id, limit=50)
    return page(request, f"Memory {memory_id[:8]}", _memory_body(request, memory, history, log))


def _memory_body(request: Request, memory: Memory, history: list[Memory], log: list[Any]) -> str:
    pinned = " checked" if memory.pinned else ""
    expires = _day(memory.expires_at)
    status = "current" if memory.superseded_by is None else "superseded"
    facts = "".join(
        f"<dt>{label}</dt><dd>{esc(value)}</dd>"
        for label, value in (
            ("id", memory.id),
            ("status", status),
            ("scope", memory.scope.value),
            ("created", when(memory.created_at)),
            ("updated", when(memory.updated_at)),
            ("event time", when(memory.event_time)),
            ("accessed", f"{memory.access_count} times, last {when(memory.last_accessed_at)}"),
            ("session", memory.session_id or "—"),
            ("source", memory.source),
            ("agent", memory.agent or "—"),
            ("redacted", ", ".join(memory.redactions) or "—"),
            (
                "metadata",
                json.dumps(memory.metadata, ensure_ascii=False) if memory.metadata else "—",
            ),
        )
    )
    edit = form(
        request,
        f"/memory/{memory.id}/edit",
        f"""<input type="hidden" name="_form" value="edit">
<label class="wide">Text
<textarea name="text" rows="5" required>{esc(memory.text)}</textarea></label>
<label>Category {_select("category", _CATEGORIES, memory.category.value, "")}</label>
<label>Importance <input type="number" name="importance" min="0" max="1" step="0.05"
  value="{memory.importance:.2f}"></label>
<label><input type="checkbox" name="pinned"{pinned}> pinned</label>
<label>Expires <input type="date" name="expires" value="{esc(expires)}"></label>
<button type="submit">Save</button>""",
        cls="edit",
    )
    forget = form(
        request,
        f"/memory/{memory.id}/forget",
        '<button type="submit" class="danger">Forget</button>',
    )
    versions = "".join(_version(request, m, memory.id) for m in reversed(history))
    entries = "".join(
        f"<tr><td>{esc(when(e.at))}</td><td>{esc(e.action)}</td><td>{esc(e.source or '')}</td>"
        f"<td><code>{esc(json.dumps(e.detail, ensure_ascii=False, default=str))}</code></td></tr>"
        for e in log
    )
    return f"""
<h1>Memory <code>{esc(memory.id[:8])}</code></h1>
<div class="split">
<section><h2>Edit</h2>{edit}{forget}</section>
<section><h2>Details</h2><dl class="facts">{facts}</dl></section>
</div>
<section><h2>History</h2>
<ol class="history">{versions or "<li>No other versions.</li>"}</ol></section>
<section><h2>Write log</h2><table class="log"><thead><tr><th>when</th><th>action</th>
<th>source</th><th>detail</th></tr></thead><tbody>{entries}</tbody></table></section>"""


def _version(request: Request, memory: Memory, here: str) -> str:
    current = memory.superseded_by is None
    label = "current" if current else f"superseded {when(memory.superseded_at)}"
    restore = (
        ""
        if current
        else form(request, f"/memory/{memory.id}/restore", '<button type="submit">Restore</button>')
    )
    mine = " mine" if memory.id == here else ""
    return (
        f'<li class="version{mine}" data-id="{esc(memory.id)}"><span class="meta">'
        f'<a href="/memory/{esc(memory.id)}">{esc(memory.id[:8])}</a> · {esc(label)} · '
        f"{esc(when(memory.created_at))}</span><p>{esc(memory.text)}</p>{restore}</li>"
    )


async def _edit_fields(request: Request, memory: Memory) -> dict[str, Any]:
    """The changes a form or a JSON body asks for (only what differs)."""
    fields = await body_fields(request)
    changes: dict[str, Any] = {}
    text = first(fields, "text")
    if text is not None and text != memory.text:
        changes["text"] = text
    category = choice(first(fields, "category"), _CATEGORIES, "category")
    if category is not None and category != memory.category.value:
        changes["category"] = category
    importance = number(first(fields, "importance"), "importance", 0.0, 1.0)
    if importance is not None and abs(importance - memory.importance) > 1e-9:
        changes["importance"] = importance
    if "pinned" in fields or first(fields, "_form") == "edit":
        pin = flag(first(fields, "pinned"))
        if pin != memory.pinned:
            changes["pin"] = pin
    expires = timestamp(first(fields, "expires"), "expires")
    if expires is not None and expires != memory.expires_at:
        changes["expires_at"] = expires
    return changes


async def edit(request: Request) -> Response:
    state = ui(request)
    memory_id = await _found(request)
    memory = await state.mesh.get(memory_id)
    changes = await _edit_fields(request, memory)
    if changes:
        await state.mesh.update(memory_id, **changes)
    message = "Saved." if changes else "Nothing changed."
    return RedirectResponse(f"/memory/{memory_id}{qs(msg=message)}", status_code=303)


async def restore(request: Request) -> Response:
    state = ui(request)
    memory_id = await _found(request)
    await state.mesh.restore(memory_id)
    return RedirectResponse(f"/memory/{memory_id}{qs(msg='Restored.')}", status_code=303)


async def forget(request: Request) -> Response:
    state = ui(request)
    memory_id = await _found(request)
    # History kept for undo is the row as stored, not as shown: undo must put back exactly it.
    memory = await state.mesh.forget(memory_id)
    key = state.keep_for_undo(memory)
    return RedirectResponse(f"/{qs(undo=key)}", status_code=303)


async def undo_forget(request: Request) -> Response:
    """Put a forgotten memory back, with its id, timestamps and statistics, through the
    public import (the same path ``memorymesh import`` takes)."""
    state = ui(request)
    memory = state.take_undo(request.path_params["key"])
    if memory is None:
        raise InvalidInputError("nothing to undo: it was undone already or the server restarted")
    await state.mesh.import_(io.StringIO(_export_line(memory)))
    return RedirectResponse(f"/memory/{memory.id}{qs(msg='Brought back.')}", status_code=303)


def _export_line(memory: Memory) -> str:
    record = memory.model_dump(mode="json", exclude={"conflicts"})
    header = {"format": "memorymesh", "version": 1, "count": 1}
    return json.dumps(header) + "\n" + json.dumps(record, ensure_ascii=False) + "\n"


# -- JSON -----------------------------------------------------------------------------------


async def api_memories(request: Request) -> Response:
    state = ui(request)
    query = _Query(dict(request.query_params))
    if query.q:
        results, more = await _search(request, query)
        items = [
            {
                "memory": state.shown(r.memory).model_dump(mode="json"),
                "score": r.score,
                "breakdown": r.breakdown.model_dump(mode="json"),
            }
            for r in results
        ]
        return JSONResponse({"results": items, "more": more})
    memories, more, total = await _browse(request, query)
    return JSONResponse(
        {
            "memories": [state.shown(m).model_dump(mode="json") for m in memories],
            "more": more,
            "total": total,
        }
    )


async def api_memory(request: Request) -> Response:
    state = ui(request)
    memory_id = await _found(request)
    if request.method == "POST":
        memory = await state.mesh.get(memory_id)
        changes = await _edit_fields(request, memory)
        if changes:
            await state.mesh.update(memory_id, **changes)
    return JSONResponse(state.shown(await state.mesh.get(memory_id)).model_dump(mode="json"))


routes = [
    Route("/", memories_page),
    Route("/memory/{memory_id}", memory_page),
    Route("/memory/{memory_id}/edit", edit, methods=["POST"]),
    Route("/memory/{memory_id}/restore", restore, methods=["POST"]),
    Route("/memory/{memory_id}/forget", forget, methods=["POST"]),
    Route("/undo/{key}", undo_forget, methods=["POST"]),
    Route("/api/memories", api_memories),
    Route("/api/memories/{memory_id}", api_memory, methods=["GET", "POST"]),
]
