"""The Conflicts page over plain HTTP: a low-confidence verdict the write kept both of is
shown as a "possible" pair, both texts side by side with its kind."""

from __future__ import annotations

import httpx

from .conftest import Dashboard
from .test_security import _login


def test_possible_conflicts_are_shown_side_by_side(dashboard: Dashboard) -> None:
    [old] = dashboard.seed(["Maria owns the billing service"])
    [new] = dashboard.seed(["Maria owns the billing service and its on-call rotation"])
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        page = client.get("/conflicts")
        assert page.status_code == 200
        possible = page.text.split("<h2>Possible", 1)[1]
        assert '<li class="conflict possible"' in possible
        assert f'data-id="{new}" data-kind="possible_duplicate"' in possible
        assert "possible duplicate" in possible and "kept both" in possible
        earlier, newer = possible.split("<h3>Newer", 1)
        assert f'href="/memory/{old}"' in earlier
        assert "Maria owns the billing service</p>" in earlier
        assert f'href="/memory/{new}"' in newer
        assert "and its on-call rotation</p>" in newer
        # Kept both, so nothing was superseded: no supersede card.
        supersedes = page.text.split("<h2>Supersedes</h2>", 1)[1].split("<h2>", 1)[0]
        assert "None recently." in supersedes


def test_no_possible_conflicts_says_so(dashboard: Dashboard) -> None:
    dashboard.seed(["The staging database is on port 5433"])
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        page = client.get("/conflicts")
        assert page.status_code == 200
        assert "None recently." in page.text.split("<h2>Possible", 1)[1]
        assert 'class="conflict possible"' not in page.text
