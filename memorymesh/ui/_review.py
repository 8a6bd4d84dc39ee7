"""The review queue (accept, edit, reject, in bulk; and the possible conflicts a write kept
both of: accept the new memory as the replacement, or keep both) and the conflicts page
(recent supersedes and duplicates side by side, restore or keep both).

Both are views over the facade: :meth:`~AsyncMemoryMesh.review_queue`,
:meth:`~AsyncMemoryMesh.accept`, :meth:`~AsyncMemoryMesh.reject`, and the write log
(:meth:`~AsyncMemoryMesh.log`), whose ``superseded`` and ``deduplicated`` entries are the
conflicts the write pipeline resolved; ``stored`` entries whose conflicts carry a ``possible_``
kind are the low-confidence pairs it kept both of, shown for a person to judge.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._errors import InvalidInputError, MemoryNotFoundError
from .._models import ConflictPair, Memory, WriteLogEntry
from ._forms import body_fields, choice, first
from ._html import esc, form, page, qs, when
from ._live import marked
from ._state import ui

__all__ = ["routes"]

QUEUE_SHOWN = 200
CONFLICTS_SHOWN = 50
#: How far back in the write log the conflicts page looks.
LOG_WINDOW = 2000


def _why(memory: Memory) -> str:
    """What captured a queued memory and by which rule (the hook records both)."""
    meta = memory.metadata
    parts = [
        f"{label} <b>{esc(meta[key])}</b>"
        for key, label in (("hook", "hook"), ("tool", "tool"), ("rule", "rule"))
        if key in meta
    ]
    parts.append(f"source <b>{esc(memory.source)}</b>")
    if memory.session_id:
        parts.append(f"session <b>{esc(memory.session_id)}</b>")
    return " · ".join(parts)


@marked
async def review_page(request: Request) -> Response:
    state = ui(request)
    queue = [state.shown(m) for m in await state.mesh.review_queue(limit=QUEUE_SHOWN)]
    items = "".join(
        f"""<li class="queued" data-id="{esc(m.id)}">
<input type="checkbox" name="ids" value="{esc(m.id)}" form="bulk" aria-label="select {
            esc(m.id[:8])
        }">
{
            form(
                request,
                f"/review/{m.id}",
                f'''<textarea name="text" rows="2" aria-label="text">{esc(m.text)}</textarea>
<span class="meta">{esc(m.category.value)} · {esc(when(m.created_at))} · {_why(m)}</span>
<button type="submit" name="action" value="accept">Accept</button>
<button type="submit" name="action" value="reject" class="danger">Reject</button>''',
                cls="item",
            )
        }
</li>"""
        for m in queue
    )
    bulk = form(
        request,
        "/review",
        '<button type="submit" name="action" value="accept">Accept selected</button> '
        '<button type="submit" name="action" value="reject" class="danger">'
        "Reject selected</button>",
        cls="bulk",
    ).replace("<form ", '<form id="bulk" ', 1)
    pairs = await state.mesh.conflict_pairs(limit=QUEUE_SHOWN)
    body = (
        f'<h1>Review queue <span class="count">{len(queue)}</span></h1>'
        + (
            f'{bulk}<ol class="queue">{items}</ol>'
            if queue
            else "<p>The review queue is empty.</p>"
        )
        + f'<h2>Possible conflicts <span class="count">{len(pairs)}</span> '
        "<span class=meta>(low confidence: both kept until you decide)</span></h2>"
        + (
            f'<ol class="conflicts">{"".join(_pair_card(request, p) for p in pairs)}</ol>'
            if pairs
            else "<p>None waiting.</p>"
        )
    )
    return page(request, "Review", body, live=True)


def _pair_card(request: Request, pair: ConflictPair) -> str:
    state = ui(request)
    old, new = state.shown(pair.old), state.shown(pair.new)
    label = pair.kind.removeprefix("possible_")
    why = f" · {esc(pair.reason)}" if pair.reason else ""
    actions = form(
        request,
        f"/review/pair/{new.id}/{old.id}",
        '<button type="submit" name="action" value="replace">Newer replaces earlier</button> '
        '<button type="submit" name="action" value="keep_both">Keep both</button>',
    )
    return f"""<li class="conflict pair" data-new="{esc(new.id)}" data-old="{esc(old.id)}">
<span class="meta">{esc(when(pair.created_at))} · possible {esc(label)}{why}</span>
<div class="sides">
<div><h3>Earlier <a href="/memory/{esc(old.id)}">{esc(old.id[:8])}</a></h3>
<p>{esc(old.text)}</p></div>
<div><h3>Newer <a href="/memory/{esc(new.id)}">{esc(new.id[:8])}</a></h3>
<p>{esc(new.text)}</p></div>
</div>{actions}</li>"""


async def review_pair(request: Request) -> Response:
    """Settle a possible conflict: ``replace`` (the newer memory supersedes the earlier one;
    undo with restore) or ``keep_both``."""
    state = ui(request)
    fields = await body_fields(request)
    action = choice(first(fields, "action"), ("replace", "keep_both"), "action")
    if action is None:
        raise InvalidInputError("action must be replace or keep_both")
    await state.mesh.resolve_conflict(
        request.path_params["new_id"],
        request.path_params["old_id"],
        action="replace" if action == "replace" else "keep_both",
    )
    message = "The newer memory replaces the earlier one." if action == "replace" else "Kept both."
    return RedirectResponse(f"/review{qs(msg=message)}", status_code=303)


async def review_one(request: Request) -> Response:
    state = ui(request)
    memory_id = request.path_params["memory_id"]
    fields = await body_fields(request)
    action = choice(first(fields, "action"), ("accept", "reject"), "action")
    queued = {m.id: m for m in await state.mesh.review_queue(limit=10_000)}
    if memory_id not in queued:
        raise MemoryNotFoundError(f"{memory_id} is not in the review queue")
    if action == "accept":
        text = first(fields, "text")
        if text is not None and text.strip() and text != queued[memory_id].text:
            await state.mesh.update(memory_id, text=text)  # accept the corrected version
        done = await state.mesh.accept([memory_id])
        message = "Accepted." if done else "Already remembered: marked rejected as a duplicate."
    elif action == "reject":
        await state.mesh.reject([memory_id])
        message = "Rejected."
    else:
        raise InvalidInputError("action must be accept or reject")
    return RedirectResponse(f"/review{qs(msg=message)}", status_code=303)


async def review_bulk(request: Request) -> Response:
    state = ui(request)
    fields = await body_fields(request)
    action = choice(first(fields, "action"), ("accept", "reject"), "action")
    ids = fields.get("ids", [])
    if not ids:
        raise InvalidInputError("select at least one memory")
    if action == "accept":
        message = f"Accepted {len(await state.mesh.accept(ids))}."
    elif action == "reject":
        message = f"Rejected {await state.mesh.reject(ids)}."
    else:
        raise InvalidInputError("action must be accept or reject")
    return RedirectResponse(f"/review{qs(msg=message)}", status_code=303)


# -- conflicts ------------------------------------------------------------------------------


async def _pair(request: Request, entry: WriteLogEntry) -> tuple[Memory, Memory] | None:
    """The two memories of a conflict: (the older one, the one that won)."""
    mesh = ui(request).mesh
    if entry.memory_id is None:
        return None
    winner = entry.detail.get("superseded_by") if entry.action == "superseded" else None
    try:
        old = await mesh.get(entry.memory_id)
        new = await mesh.get(winner) if isinstance(winner, str) else None
    except MemoryNotFoundError:
        return None  # forgotten since
    return None if new is None else (old, new)


async def _possible(request: Request, entry: WriteLogEntry) -> list[str]:
    """Cards for the low-confidence conflicts a write reported and kept both of."""
    if entry.memory_id is None or entry.action not in ("stored", "queued"):
        return []
    found = entry.detail.get("conflicts")
    if not isinstance(found, list):
        return []
    state = ui(request)
    cards: list[str] = []
    for conflict in found:
        if not isinstance(conflict, dict):
            continue
        kind, other = conflict.get("kind"), conflict.get("memory_id")
        if not (isinstance(kind, str) and kind.startswith("possible_") and isinstance(other, str)):
            continue
        try:
            new = state.shown(await state.mesh.get(entry.memory_id))
            old = state.shown(await state.mesh.get(other))
        except MemoryNotFoundError:
            continue  # forgotten since: nothing left to compare
        label = kind.removeprefix("possible_")
        reason = conflict.get("reason")
        why = f" · {esc(reason)}" if isinstance(reason, str) and reason else ""
        cards.append(
            f"""<li class="conflict possible" data-id="{esc(new.id)}" data-kind="{esc(kind)}">
<span class="meta">{esc(when(entry.at))} · possible {esc(label)}{why} · kept both</span>
<div class="sides">
<div><h3>Earlier <a href="/memory/{esc(old.id)}">{esc(old.id[:8])}</a></h3>
<p>{esc(old.text)}</p></div>
<div><h3>Newer <a href="/memory/{esc(new.id)}">{esc(new.id[:8])}</a></h3>
<p>{esc(new.text)}</p></div>
</div></li>"""
        )
    return cards


@marked
async def conflicts_page(request: Request) -> Response:
    state = ui(request)
    log = await state.mesh.log(limit=LOG_WINDOW)
    cards: list[str] = []
    duplicates: list[str] = []
    possible: list[str] = []
    for entry in log:
        if len(possible) < CONFLICTS_SHOWN:
            possible += await _possible(request, entry)
        if entry.action == "deduplicated" and len(duplicates) < CONFLICTS_SHOWN:
            duplicates.append(
                f"<li>{esc(when(entry.at))} · a write repeated "
                f'<a href="/memory/{esc(entry.memory_id)}">{esc((entry.memory_id or "")[:8])}</a>'
                f" ({esc(entry.source or '')}); kept one copy</li>"
            )
        if entry.action != "superseded" or len(cards) >= CONFLICTS_SHOWN:
            continue
        pair = await _pair(request, entry)
        if pair is None:
            continue
        old, new = (state.shown(m) for m in pair)
        settled = old.superseded_by is None
        actions = (
            "<p class=meta>Restored: both versions have been current since.</p>"
            if settled
            else form(
                request,
                f"/conflicts/{old.id}",
                '<button type="submit" name="action" value="restore">Restore the earlier one'
                '</button> <button type="submit" name="action" value="keep_both">Keep both'
                "</button>",
            )
        )
        cards.append(
            f"""<li class="conflict" data-id="{esc(old.id)}">
<span class="meta">{esc(when(entry.at))} · superseded</span><div class="sides">
<div><h3>Earlier <a href="/memory/{esc(old.id)}">{esc(old.id[:8])}</a></h3>
<p>{esc(old.text)}</p></div>
<div><h3>Replaced by <a href="/memory/{esc(new.id)}">{esc(new.id[:8])}</a></h3>
<p>{esc(new.text)}</p></div>
</div>{actions}</li>"""
        )
    body = (
        "<h1>Conflicts</h1><h2>Supersedes</h2>"
        + (f'<ol class="conflicts">{"".join(cards)}</ol>' if cards else "<p>None recently.</p>")
        + "<h2>Duplicates</h2>"
        + (f"<ul>{''.join(duplicates)}</ul>" if duplicates else "<p>None recently.</p>")
        + "<h2>Possible <span class=meta>(low confidence: both kept)</span></h2>"
        + (
            f'<ol class="conflicts">{"".join(possible[:CONFLICTS_SHOWN])}</ol>'
            if possible
            else "<p>None recently.</p>"
        )
    )
    return page(request, "Conflicts", body, live=True)


async def resolve_conflict(request: Request) -> Response:
    """``restore``: the earlier memory is current again and the later one history (the
    facade's restore). ``keep_both``: the earlier text is remembered again as its own
    memory beside the later one (``on_conflict="keep_both"``), its history kept."""
    state = ui(request)
    memory_id = request.path_params["memory_id"]
    fields = await body_fields(request)
    action = choice(first(fields, "action"), ("restore", "keep_both"), "action")
    old = await state.mesh.get(memory_id)
    if action == "restore":
        await state.mesh.restore(memory_id)
        target, message = memory_id, "Restored the earlier version."
    else:
        copy = await state.mesh.remember(
            old.text,
            category=old.category,
            importance=old.importance,
            scope=old.scope,
            metadata={**old.metadata, "kept_from": old.id},
            session_id=old.session_id,
            source="ui",
            on_conflict="keep_both",
        )
        target, message = copy.id, "Kept both."
    return RedirectResponse(f"/memory/{target}{qs(msg=message)}", status_code=303)


routes = [
    Route("/review", review_page),
    Route("/review", review_bulk, methods=["POST"]),
    Route("/review/{memory_id}", review_one, methods=["POST"]),
    Route("/review/pair/{new_id}/{old_id}", review_pair, methods=["POST"]),
    Route("/conflicts", conflicts_page),
    Route("/conflicts/{memory_id}", resolve_conflict, methods=["POST"]),
]
