"""The Memories page's browse filters over plain HTTP: agent, source and a time range narrow
what is listed (and the total), with no search query typed."""

from __future__ import annotations

import httpx

from memorymesh import NewMemory

from .conftest import Dashboard
from .test_security import _login


def _seed(dashboard: Dashboard) -> list[str]:
    return dashboard.seed(
        [
            NewMemory(text="Alice prefers tabs over spaces", source="mcp", agent="alice"),
            NewMemory(text="Alice reviews on Mondays", source="hook", agent="alice"),
            NewMemory(text="Bob deploys on Fridays", source="mcp", agent="bob"),
        ]
    )


def test_browsing_by_agent_shows_only_that_agents_memories(dashboard: Dashboard) -> None:
    alice_tabs, alice_mondays, bob = _seed(dashboard)
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        page = client.get("/", params={"agent": "alice"})
        assert page.status_code == 200
        assert alice_tabs in page.text and alice_mondays in page.text
        assert bob not in page.text and "Bob deploys" not in page.text
        assert '<b id="total">2</b>' in page.text
        assert 'name="agent" value="alice"' in page.text  # the form keeps the filter

        api = client.get("/api/memories", params={"agent": "bob"})
        assert api.status_code == 200
        assert [m["id"] for m in api.json()["memories"]] == [bob]
        assert api.json()["total"] == 1

        by_source = client.get("/api/memories", params={"source": "mcp", "agent": "alice"})
        assert [m["id"] for m in by_source.json()["memories"]] == [alice_tabs]


def test_a_time_range_narrows_browsing(dashboard: Dashboard) -> None:
    _seed(dashboard)
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        everything = client.get("/api/memories", params={"since": "2000-01-01"})
        assert everything.status_code == 200 and everything.json()["total"] == 3
        future = client.get("/", params={"since": "2999-01-01"})
        assert future.status_code == 200
        assert '<b id="total">0</b>' in future.text
        past = client.get("/api/memories", params={"until": "2000-01-01"})
        assert past.status_code == 200 and past.json()["memories"] == []
        bad = client.get("/", params={"since": "last tuesday"})
        assert bad.status_code == 400 and "since must be a date" in bad.text


def test_searching_by_agent_shows_only_that_agents_hits(dashboard: Dashboard) -> None:
    alice_tabs, alice_mondays, bob = _seed(dashboard)
    with httpx.Client(base_url=dashboard.base) as client:
        _login(dashboard, client)
        api = client.get("/api/memories", params={"q": "alice bob", "agent": "bob"})
        assert api.status_code == 200
        assert [r["memory"]["id"] for r in api.json()["results"]] == [bob]
        page = client.get("/", params={"q": "alice", "source": "hook"})
        assert page.status_code == 200
        assert alice_mondays in page.text and alice_tabs not in page.text
