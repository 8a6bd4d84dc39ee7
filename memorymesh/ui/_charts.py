"""Inline SVG charts, drawn by our own code: no charting library, no script, no network.

Two shapes cover the Insights page: :func:`bars` (one value per label, e.g. writes per day)
and :func:`stacked` (a value per label and per series, e.g. memories per day by category).
Colours come from CSS classes (``s0``..``s7``) so the dark theme restyles them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ._html import esc

__all__ = ["bars", "stacked"]

_W, _H, _AXIS = 480, 140, 16
SERIES_COLOURS = 8


def _frame(inner: str, title: str, peak: float) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_W} {_H + _AXIS}" role="img" '
        f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
        f'<text x="0" y="10">{peak:g}</text>{inner}</svg>'
    )


def bars(points: Sequence[tuple[str, float]], title: str) -> str:
    """A bar per ``(label, value)``; the first and last labels under the axis."""
    if not points:
        return f'<p class="meta">{esc(title)}: no data yet.</p>'
    top = max(v for _, v in points)
    peak = top or 1.0
    step = _W / len(points)
    inner = []
    for i, (label, value) in enumerate(points):
        height = (_H - 14) * value / peak
        inner.append(
            f'<rect class="b" x="{i * step + 1:.1f}" y="{_H - height:.1f}" '
            f'width="{max(step - 2, 1):.1f}" height="{height:.1f}">'
            f"<title>{esc(label)}: {value:g}</title></rect>"
        )
    inner.append(_labels(points[0][0], points[-1][0]))
    return _frame("".join(inner), title, top)


def stacked(labels: Sequence[str], series: Mapping[str, Sequence[float]], title: str) -> str:
    """Bars of stacked series (each the same length as ``labels``), with a legend."""
    if not labels or not series:
        return f'<p class="meta">{esc(title)}: no data yet.</p>'
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    peak = max(totals) or 1.0
    step = _W / len(labels)
    inner = []
    for i, label in enumerate(labels):
        base = float(_H)
        for n, (name, values) in enumerate(series.items()):
            if not values[i]:
                continue
            height = (_H - 14) * values[i] / peak
            base -= height
            inner.append(
                f'<rect class="s{n % SERIES_COLOURS}" x="{i * step + 1:.1f}" y="{base:.1f}" '
                f'width="{max(step - 2, 1):.1f}" height="{height:.1f}">'
                f"<title>{esc(label)} · {esc(name)}: {values[i]:g}</title></rect>"
            )
    inner.append(_labels(labels[0], labels[-1]))
    legend = "".join(
        f'<span class="key"><svg width="10" height="10"><rect class="s{n % SERIES_COLOURS}" '
        f'width="10" height="10"/></svg> {esc(name)}</span>'
        for n, name in enumerate(series)
    )
    return _frame("".join(inner), title, peak) + f'<p class="legend">{legend}</p>'


def _labels(first: str, last: str) -> str:
    y = _H + _AXIS - 4
    return (
        f'<text x="0" y="{y}">{esc(first)}</text>'
        f'<text x="{_W}" y="{y}" text-anchor="end">{esc(last)}</text>'
    )
