"""A person at the dashboard, in a real Chromium: search and read the score breakdown, page
through, edit and restore, forget and undo, work the review queue and the conflicts, and see
another process's write appear without a reload."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from playwright.sync_api import expect

from .conftest import Dashboard

FACTS = [
    {"text": "The user prefers dark mode in every editor", "category": "preference"},
    {"text": "Deployments go through make release on Thursdays", "category": "decision"},
    {"text": "The staging database listens on port 5433", "category": "context", "scope": "global"},
]


def test_search_shows_the_score_breakdown_filters_and_pages(
    page: Any, dashboard: Dashboard
) -> None:
    notes = [
        {"text": f"Filler note number {n} about the build", "on_conflict": "keep_both"}
        for n in range(55)
    ]
    dashboard.seed([*FACTS, *notes])
    page.goto(dashboard.login_url())
    expect(page.locator("#total")).to_have_text("58")
    expect(page.locator("table.memories tbody tr")).to_have_count(50)
    page.get_by_role("link", name="next →").click()
    expect(page.locator("table.memories tbody tr")).to_have_count(8)
    expect(page.get_by_text("page 2 of 2")).to_be_visible()

    page.goto(dashboard.base + "/")
    page.get_by_label("query").fill("dark mode editor")
    page.get_by_role("button", name="Search").click()
    first = page.locator("table.memories tbody tr").first
    expect(first).to_contain_text("prefers dark mode")
    for part in ("relevance", "recency", "importance", "frequency"):
        expect(first.locator(".why")).to_contain_text(part)
    expect(first.locator(".score")).to_contain_text("score 0.")
    expect(page.locator(".summary")).to_contain_text("terms: dark, mode, editor")
    dashboard.shot(page, "search")

    page.goto(dashboard.base + "/?category=context&scope=global")  # filters narrow the listing
    expect(page.locator("#total")).to_have_text("1")
    expect(page.locator("table.memories")).to_contain_text("port 5433")
    page.goto(dashboard.base + "/?scope=nowhere")
    expect(page.locator(".flash")).to_contain_text("scope must be one of project, global")


def test_edit_keeps_history_and_restore_brings_the_earlier_text_back(
    page: Any, dashboard: Dashboard
) -> None:
    [memory_id, *_] = dashboard.seed(FACTS)
    page.goto(dashboard.login_url(f"/memory/{memory_id}"))
    page.locator("textarea[name=text]").fill("The user prefers light mode in every editor")
    page.get_by_label("pinned").check()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Saved.")
    expect(page.locator("textarea[name=text]")).to_have_value(
        "The user prefers light mode in every editor"
    )
    history = page.locator("ol.history li.version")
    expect(history).to_have_count(2)
    earlier = history.filter(has_text="dark mode")
    expect(earlier).to_contain_text("superseded")
    expect(page.locator("table.log")).to_contain_text("updated")
    dashboard.shot(page, "memory")

    earlier.get_by_role("button", name="Restore").click()
    expect(page.locator(".flash")).to_have_text("Restored.")
    expect(page.locator("textarea[name=text]")).to_have_value(
        "The user prefers dark mode in every editor"
    )


def test_forget_then_undo_brings_the_same_memory_back(page: Any, dashboard: Dashboard) -> None:
    [_, memory_id, _] = dashboard.seed(FACTS)
    page.goto(dashboard.login_url(f"/memory/{memory_id}"))
    page.get_by_role("button", name="Forget").click()
    expect(page.locator("#total")).to_have_text("2")
    expect(page.locator("form.undo")).to_contain_text("Forgotten “Deployments go through")
    page.get_by_role("button", name="Undo").click()
    expect(page.locator(".flash")).to_have_text("Brought back.")
    expect(page).to_have_url(f"{dashboard.base}/memory/{memory_id}?msg=Brought+back.")
    page.goto(dashboard.base + "/")
    expect(page.locator("#total")).to_have_text("3")


def test_the_review_queue_accepts_edited_and_rejects(page: Any, dashboard: Dashboard) -> None:
    queued = dashboard.seed(
        [
            {"text": "Run the tests with make test", "metadata": {"hook": "Stop", "rule": "how"}},
            {"text": "I think maybe somethin", "metadata": {"hook": "Stop", "rule": "noise"}},
            "Use ruff for linting",
            "Use mypy strict for typing",
        ],
        review=True,
    )
    page.goto(dashboard.login_url("/review"))
    expect(page.locator("li.queued")).to_have_count(4)
    expect(page.locator("li.queued").first).to_contain_text("rule how")
    dashboard.shot(page, "review")
    item = page.locator(f'li.queued[data-id="{queued[0]}"]')
    item.locator("textarea").fill("Run the whole test suite with make test")
    item.get_by_role("button", name="Accept").click()
    expect(page.locator(".flash")).to_have_text("Accepted.")
    page.locator(f'li.queued[data-id="{queued[1]}"]').get_by_role("button", name="Reject").click()
    expect(page.locator(".flash")).to_have_text("Rejected.")
    for memory_id in queued[2:]:
        page.get_by_label(f"select {memory_id[:8]}").check()
    page.get_by_role("button", name="Accept selected").click()
    expect(page.locator(".flash")).to_have_text("Accepted 2.")
    expect(page.get_by_text("The review queue is empty.")).to_be_visible()
    page.goto(dashboard.base + "/")
    expect(page.locator("#total")).to_have_text("3")
    expect(page.locator("table.memories")).to_contain_text("Run the whole test suite")


def test_conflicts_restore_the_earlier_memory_or_keep_both(page: Any, dashboard: Dashboard) -> None:
    tabs = {"text": "The team prefers tabs for indentation in Python", "category": "preference"}
    [old, _] = dashboard.seed([FACTS[0], tabs])
    light = {"text": "The user prefers light mode in every editor", "category": "preference"}
    spaces = {"text": "The team prefers spaces for indentation in Python", "category": "preference"}
    dashboard.seed([light, spaces])
    page.goto(dashboard.login_url("/conflicts"))
    cards = page.locator("li.conflict")
    expect(cards).to_have_count(2)
    card = cards.filter(has_text="dark mode")
    expect(card).to_contain_text("light mode")
    dashboard.shot(page, "conflicts")
    card.get_by_role("button", name="Restore the earlier one").click()
    expect(page).to_have_url(f"{dashboard.base}/memory/{old}?msg=Restored+the+earlier+version.")
    expect(page.locator("dl.facts")).to_contain_text("current")
    page.goto(dashboard.base + "/conflicts")
    expect(cards.filter(has_text="dark mode")).to_contain_text("Restored")

    cards.filter(has_text="tabs").get_by_role("button", name="Keep both").click()
    expect(page.locator(".flash")).to_have_text("Kept both.")
    expect(page.locator("textarea[name=text]")).to_have_value(tabs["text"])
    page.goto(dashboard.base + "/?category=preference")
    expect(page.locator("table.memories")).to_contain_text("tabs for indentation")
    expect(page.locator("table.memories")).to_contain_text("spaces for indentation")
    expect(page.locator("#total")).to_have_text("3")  # dark (restored), tabs, spaces


def test_a_write_from_another_process_appears_without_a_reload(
    page: Any, dashboard: Dashboard
) -> None:
    dashboard.seed(FACTS)
    page.goto(dashboard.login_url())
    expect(page.locator("#total")).to_have_text("3")
    subprocess.run(
        [
            sys.executable, "-m", "memorymesh", "remember", "--db", str(dashboard.project),
            "--global-db", str(dashboard.global_db), "The CI runs on two cores",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    expect(page.locator("#total")).to_have_text("4")
    expect(page.locator("table.memories")).to_contain_text("The CI runs on two cores")
    expect(page.locator("#live")).to_be_visible()


def test_sessions_insights_and_health_pages(page: Any, dashboard: Dashboard) -> None:
    dashboard.seed(
        [
            {**FACTS[0], "session_id": "s-monday"},
            {**FACTS[1], "session_id": "s-tuesday"},
            FACTS[2],
        ]
    )
    page.goto(dashboard.login_url("/sessions"))
    page.get_by_role("link", name="s-monday").click()
    expect(page.locator("h2").first).to_contain_text("s-monday")
    expect(page.locator("pre.context")).to_contain_text("dark mode")
    dashboard.shot(page, "sessions")

    page.get_by_role("link", name="Insights").click()
    expect(page.locator(".card").first).to_contain_text("3")
    expect(page.locator("svg.chart")).to_have_count(4)
    expect(page.locator("svg.chart rect.s0").first).to_be_attached()
    dashboard.shot(page, "insights")

    page.get_by_role("link", name="Health").click()
    expect(page.locator("table.health tbody tr")).to_have_count(2)
    expect(page.locator("table.health")).to_contain_text("not encrypted")
    expect(page.locator("td.ok").first).to_have_text("ok")
    page.get_by_role("button", name="Back up now").click()
    expect(page.locator(".flash")).to_contain_text("Backed up:")
    backups = sorted(p.name for p in (dashboard.global_db.parent / "backups").iterdir())
    assert [name.split("-", 1)[0] for name in backups] == ["global", "project"]
    dashboard.shot(page, "health")
