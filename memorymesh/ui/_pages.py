"""The Sessions and Health pages.

Sessions: the sessions memories were recorded in (newest first, from the newest
:data:`SAMPLE` memories), and for one session its memories and the context
:meth:`~AsyncMemoryMesh.session_start` gives an assistant resuming it now.

Health: ``memorymesh doctor``'s file checks, a backup on demand (``memorymesh backup``'s
code, into a ``backups`` folder beside the global store), encryption, the embedder, and what
``memorymesh status`` reports about the AI clients and hooks set up.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._errors import InvalidInputError
from .._models import Memory
from ._html import esc, form, page, qs, when
from ._live import marked
from ._state import ui

__all__ = ["routes"]

SAMPLE = 5000


@marked
async def sessions_page(request: Request) -> Response:
    state = ui(request)
    mesh = state.mesh
    chosen = request.query_params.get("id")
    sessions: OrderedDict[str, list[Memory]] = OrderedDict()
    for memory in await mesh.list(limit=SAMPLE, order="newest"):
        if memory.session_id:
            sessions.setdefault(memory.session_id, []).append(memory)
    chain = "".join(
        f'<li><a href="/sessions{qs(id=sid)}">{esc(sid)}</a> '
        f'<span class="meta">{len(ms)} memories · {esc(when(ms[-1].created_at))} → '
        f"{esc(when(ms[0].created_at))}</span></li>"
        for sid, ms in sessions.items()
    )
    detail = ""
    if chosen:
        if len(chosen) > 256:
            raise InvalidInputError("a session id is at most 256 characters")
        memories = await mesh.list(session_id=chosen, limit=200, order="oldest")
        context = await mesh.session_start(session_id=chosen)
        rows = "".join(
            f'<li><a href="/memory/{esc(m.id)}">{esc(m.id[:8])}</a> '
            f"{esc(state.shown(m).text)} <span class=meta>{esc(when(m.created_at))}</span></li>"
            for m in memories
        )
        detail = (
            f"<h2>Session <code>{esc(chosen)}</code></h2>"
            f"<h3>Recorded in it</h3><ol>{rows or '<li>Nothing.</li>'}</ol>"
            f"<h3>What <code>session_start</code> injects when it resumes "
            f'<span class="meta">({context.used_tokens} of {context.budget_tokens} tokens)'
            f'</span></h3><pre class="context">{esc(state.shown_text(context.text))}</pre>'
        )
    body = (
        f"<h1>Sessions</h1>{detail}<h2>Sessions, newest first "
        f'<span class="meta">(newest {SAMPLE:,} memories)</span></h2>'
        f"<ol>{chain or '<li>No memory records a session yet.</li>'}</ol>"
    )
    return page(request, "Sessions", body, live=not chosen)


async def health_page(request: Request) -> Response:
    from ..cli._app import STATUS_HOOKS, build_parser
    from ..stores.sqlite import check_file

    state = ui(request)
    mesh = state.mesh
    await mesh.open()
    health = await mesh.health()

    rows = []
    for store in mesh.stores:
        is_file = await anyio.Path(store.label).is_file()
        checked = await check_file(Path(store.label)) if is_file else None
        verdict = health.get(store.label, [])
        ok = verdict == ["ok"]
        rows.append(
            f"<tr><td>{esc(store.scope.value)}</td>"
            f"<td><code>{esc(store.label)}</code></td>"
            f'<td class="{"ok" if ok else "bad"}">{esc("; ".join(verdict))}</td>'
            f"<td>{'encrypted' if store.encrypted else 'not encrypted'}</td>"
            f"<td>{esc('' if checked is None else checked.journal_mode or '')}</td>"
            f"<td>{esc('' if checked is None else checked.permissions)}</td>"
            f"<td>{esc('; '.join(checked.problems) if checked else '')}</td></tr>"
        )
    build_parser()  # the command line's parts register what `memorymesh status` reports
    status: dict[str, Any] = {}
    for hook in STATUS_HOOKS:
        status.update(await anyio.to_thread.run_sync(hook))
    clients = "".join(
        f"<dt>{esc(key.replace('_', ' '))}</dt><dd>{esc(_readable(value))}</dd>"
        for key, value in status.items()
    )
    embedder = mesh.embedder.name if mesh.embedder is not None else "none (keyword recall)"
    backup = form(request, "/health/backup", '<button type="submit">Back up now</button>')
    body = f"""<h1>Health</h1>
<table class="health"><thead><tr><th>scope</th><th>store</th><th>integrity</th>
<th>encryption</th><th>journal</th><th>permissions</th><th>problems</th></tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2>Setup</h2><dl class="facts"><dt>embedder</dt><dd>{esc(embedder)}</dd>
<dt>privacy</dt><dd>{esc(mesh.privacy)}</dd>{clients}</dl>
<h2>Backup</h2><p>Copies each store with SQLite's online backup into
<code>{esc(_backup_folder(request))}</code>.</p>{backup}"""
    return page(request, "Health", body)


def _readable(value: Any) -> str:
    """A status value as a line of text (the MCP part reports one entry per client)."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_readable(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_readable(v) for v in value)
    return str(value)


def _backup_folder(request: Request) -> Path:
    return Path(ui(request).mesh.global_path).expanduser().resolve().parent / "backups"


async def backup_now(request: Request) -> Response:
    from ..cli._files import _backup_all

    mesh = ui(request).mesh
    files = {
        name: Path(await anyio.Path(label).resolve())
        for name, label in (("project", mesh.project_path), ("global", mesh.global_path))
        if label is not None and await anyio.Path(label).is_file()
    }
    if not files:
        raise InvalidInputError("there is no store file to back up (a server database?)")
    done = await _backup_all(files, _backup_folder(request))
    message = "Backed up: " + ", ".join(str(info["path"]) for info in done.values())
    return RedirectResponse(f"/health{qs(msg=message)}", status_code=303)


routes = [
    Route("/sessions", sessions_page),
    Route("/health", health_page),
    Route("/health/backup", backup_now, methods=["POST"]),
]
