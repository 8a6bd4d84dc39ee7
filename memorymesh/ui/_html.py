"""Server-side HTML: escaping, the page shell and the small pieces pages share.

Pages are built from Python strings rather than a template engine: there are a handful of
them, each a few dozen lines, and building them here keeps the ``ui`` extra at two packages
(Starlette and uvicorn). The rule that makes this safe: every value from a memory, a query or
a URL goes through :func:`esc` (attributes too), and pieces already built are passed on as
:class:`Safe`.
"""

from __future__ import annotations

import html
from datetime import datetime
from functools import cache
from importlib.resources import files
from string import Template
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["Safe", "esc", "form", "page", "qs", "when"]

#: The navigation, in order: (path, label).
NAV = (
    ("/", "Memories"),
    ("/review", "Review"),
    ("/conflicts", "Conflicts"),
    ("/sessions", "Sessions"),
    ("/insights", "Insights"),
    ("/health", "Health"),
)


class Safe(str):
    """HTML built by this package, which :func:`esc` passes through unchanged."""

    __slots__ = ()


def esc(value: object) -> Safe:
    """``value`` as text that is safe in HTML content and in quoted attributes."""
    if isinstance(value, Safe):
        return value
    return Safe(html.escape("" if value is None else str(value), quote=True))


def when(value: datetime | None) -> str:
    """A timestamp as people read it, in UTC (the server and the browser may disagree on the
    local zone)."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M")


def qs(**params: object) -> str:
    """A query string from the non-empty parameters."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


def form(request: Request, action: str, inner: str, *, cls: str = "") -> Safe:
    """A POST form to ``action`` carrying the session's CSRF token."""
    csrf = esc(request.scope.get("state", {}).get("csrf", ""))
    klass = f' class="{esc(cls)}"' if cls else ""
    return Safe(
        f'<form method="post" action="{esc(action)}"{klass}>'
        f'<input type="hidden" name="_csrf" value="{csrf}">{inner}</form>'
    )


@cache
def _shell() -> Template:
    return Template(files(__package__).joinpath("templates/base.html").read_text("utf-8"))


def page(
    request: Request,
    title: str,
    body: str,
    *,
    status: int = 200,
    flash: str = "",
    live: bool = False,
) -> HTMLResponse:
    """The whole page: shell, navigation, an optional message and ``body`` (already HTML).

    ``live`` asks app.js to refresh the page's content when the change feed moves.
    """
    here = request.url.path
    nav = "".join(
        f'<a href="{path}"{" aria-current=page" if _is_current(here, path) else ""}>{label}</a>'
        for path, label in NAV
    )
    notice = request.query_params.get("msg") or ""
    message = flash or (esc(notice) if notice else "")
    html_text = _shell().substitute(
        title=esc(title),
        csrf=esc(request.scope.get("state", {}).get("csrf", "")),
        nav=nav,
        flash=f'<p class="flash" role="status">{message}</p>' if message else "",
        body=body,
        live="1" if live else "",
        poll_ms=str(round(request.app.state.ui.poll_seconds * 1000)),
        mark=esc(getattr(request.state, "live_mark", "")),
    )
    return HTMLResponse(html_text, status_code=status)


def _is_current(here: str, path: str) -> bool:
    return here == path or (path == "/" and here.startswith("/memory/"))
