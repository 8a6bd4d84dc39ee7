"""The Insights page: what the store holds and how it is used, as inline SVG charts.

Totals come from :meth:`~AsyncMemoryMesh.stats` (exact, indexed counts). The charts over time
read a bounded window, so the page costs the same at 100,000 memories as at 1,000: the newest
:data:`SAMPLE` memories (per day by category, when they were last recalled, the most and never
recalled) and the newest :data:`LOG_WINDOW` write-log entries (writes per day, conflicts per
week). The page says which window each chart covers.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._charts import bars, stacked
from ._html import esc, page
from ._live import marked
from ._state import ui

__all__ = ["routes", "store_bytes"]

SAMPLE = 5000
LOG_WINDOW = 10_000
DAYS = 30
WEEKS = 12


def _days(now: datetime) -> list[str]:
    return [(now - timedelta(days=n)).date().isoformat() for n in range(DAYS - 1, -1, -1)]


def store_bytes(label: str) -> int | None:
    """A SQLite store's size on disk (with its WAL); None for servers and ``:memory:``."""
    path = Path(label)
    if not path.is_file():
        return None
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.is_file() else 0)


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1_048_576:.1f} MiB" if n >= 1_048_576 else f"{n / 1024:.0f} KiB"


@marked
async def insights_page(request: Request) -> Response:
    state = ui(request)
    mesh = state.mesh
    stats = await mesh.stats()
    recent = await mesh.list(limit=SAMPLE, order="newest")
    log = await mesh.log(limit=LOG_WINDOW)
    backlog = await mesh.embedding_backlog()
    sizes = [await anyio.to_thread.run_sync(store_bytes, s.label) for s in mesh.stores]
    now = datetime.now(UTC)
    days = _days(now)

    per_category: dict[str, list[float]] = defaultdict(lambda: [0.0] * DAYS)
    recalled: Counter[str] = Counter()
    index = {day: i for i, day in enumerate(days)}
    for memory in recent:
        day = memory.created_at.date().isoformat()
        if day in index:
            per_category[memory.category.value][index[day]] += 1
        if memory.last_accessed_at is not None:
            recalled[memory.last_accessed_at.date().isoformat()] += 1
    writes: Counter[str] = Counter(e.at.date().isoformat() for e in log)
    weeks = [(now - timedelta(weeks=n)) for n in range(WEEKS - 1, -1, -1)]
    week_of = {w.strftime("%G-W%V"): 0 for w in weeks}
    for entry in log:
        if entry.action in ("superseded", "deduplicated"):
            key = entry.at.strftime("%G-W%V")
            if key in week_of:
                week_of[key] += 1
    most = sorted((m for m in recent if m.access_count), key=lambda m: -m.access_count)[:10]
    never = sum(1 for m in recent if m.access_count == 0)

    cards = "".join(
        f'<div class="card"><h3>{esc(title)}</h3><div class="big">{esc(value)}</div>'
        f'<div class="meta">{esc(note)}</div></div>'
        for title, value, note in (
            (
                "Memories",
                f"{stats.total:,}",
                ", ".join(f"{k} {v:,}" for k, v in stats.by_scope.items()),
            ),
            (
                "Pinned",
                f"{stats.pinned:,}",
                f"superseded {stats.superseded:,}, expired {stats.expired:,}",
            ),
            ("On disk", _size(sum(s for s in sizes if s) if any(sizes) else None), "store files"),
            ("Embedding backlog", f"{backlog:,}", f"embedder {stats.embedder}"),
            ("Never recalled", f"{never:,}", f"of the newest {len(recent):,}"),
        )
    )
    top = "".join(
        f'<li><a href="/memory/{esc(m.id)}">{esc(state.shown(m).text[:90])}</a> '
        f'<span class="meta">{m.access_count} recalls</span></li>'
        for m in most
    )
    categories = "".join(
        f"<li>{esc(name)} <b>{count:,}</b></li>"
        for name, count in sorted(stats.by_category.items(), key=lambda kv: -kv[1])
    )
    body = f"""<h1>Insights</h1>
<div class="cards">{cards}</div>
<div class="charts"><section>
<h2>New memories per day, by category <span class="meta">(last {DAYS} days, newest
{len(recent):,})</span></h2>
{stacked(days, dict(per_category), "new memories per day by category")}
</section><section><h2>Writes per day <span class="meta">(write log, last {DAYS} days)</span></h2>
{bars([(d, float(writes.get(d, 0))) for d in days], "writes per day")}
</section><section><h2>Recalled per day
<span class="meta">(memories by the day they were last recalled)</span></h2>
{bars([(d, float(recalled.get(d, 0))) for d in days], "memories last recalled per day")}
</section><section><h2>Conflicts per week <span class="meta">(supersedes and duplicates)</span></h2>
{bars([(w, float(n)) for w, n in week_of.items()], "conflicts per week")}
</section></div>
<div class="split"><section><h2>Most recalled</h2><ol>{top or "<li>None yet.</li>"}</ol></section>
<section><h2>By category</h2><ul>{categories}</ul></section></div>"""
    return page(request, "Insights", body, live=True)


routes = [Route("/insights", insights_page)]
