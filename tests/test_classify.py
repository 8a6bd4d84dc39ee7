"""Auto-categorisation and auto-importance on a table of examples."""

from __future__ import annotations

import pytest

from memorymesh import AsyncMemoryMesh, Category, Scope, classify, estimate_importance

EXAMPLES = [
    ("User prefers dark mode in every editor", Category.PREFERENCE),
    ("I like short answers", Category.PREFERENCE),
    ("She hates long meetings", Category.PREFERENCE),
    ("Her favourite language is Rust", Category.PREFERENCE),
    ("Never commit secrets to git", Category.GUARDRAIL),
    ("Always run the linter before pushing", Category.GUARDRAIL),
    ("Do not edit generated files under gen/", Category.GUARDRAIL),
    ("Avoid global state in handlers", Category.GUARDRAIL),
    ("The outage was caused by a missing index; lesson learned", Category.MISTAKE),
    ("I forgot to bump the version and the release broke", Category.MISTAKE),
    ("The flaky test failed because of a timezone bug", Category.MISTAKE),
    ("We decided to use PostgreSQL for billing", Category.DECISION),
    ("The team chose Redis for the cache", Category.DECISION),
    ("We switched to uv for installs", Category.DECISION),
    ("By convention, handlers live in app/handlers", Category.PATTERN),
    ("We usually squash-merge pull requests", Category.PATTERN),
    ("My name is Ada and I work as a data engineer", Category.PERSONALITY),
    ("User is a senior engineer with 10 years of experience", Category.PERSONALITY),
    ("How do we rotate the signing keys?", Category.QUESTION),
    ("Session summary: migrated the auth module", Category.SESSION_SUMMARY),
    ("Today we refactored the parser", Category.SESSION_SUMMARY),
    ("The API listens on port 8080", Category.CONTEXT),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_classify_examples(text: str, expected: Category) -> None:
    result = classify(text)
    assert result.category is expected, (text, result)
    assert result.rule
    if expected is not Category.CONTEXT:
        assert result.matched


@pytest.mark.parametrize(
    ("text", "category", "low", "high"),
    [
        ("Never store secrets in production logs", Category.GUARDRAIL, 0.95, 1.0),
        ("Maybe try the other formatter", Category.PREFERENCE, 0.0, 0.55),
        ("ok", Category.CONTEXT, 0.05, 0.45),
        ("The API listens on port 8080", Category.CONTEXT, 0.45, 0.55),
    ],
)
def test_importance_estimates(text: str, category: Category, low: float, high: float) -> None:
    assert low <= estimate_importance(text, category) <= high


def test_importance_stays_in_range() -> None:
    loud = "critical security production urgent important " * 5
    assert estimate_importance(loud, Category.GUARDRAIL) == 1.0
    assert estimate_importance("hm", Category.QUESTION) >= 0.05


# With no scope and no category given, only what is clearly about the user goes to the
# global store, which every project on the machine shares.
ABOUT_THE_USER = [
    "User prefers dark mode in every editor",
    "I like short answers",
    "My name is Sam and I work as a data engineer",
    "The user's favourite editor is Helix",
]
ABOUT_THE_PROJECT = [
    "Never commit secrets to git",
    "Always run the linter before pushing",
    "The flaky test failed because of a timezone bug",
    "The outage was caused by a missing index; lesson learned",
    "What is my favourite database?",
    "How do we deploy the billing service?",
    "We prefer tabs in the Go code",
    "The client wants invoices sent monthly",
    "Use pnpm rather than npm in this repo",
    "We decided to use MySQL for the billing database",
    "The API handlers live in src/api",
]


@pytest.mark.anyio
async def test_inferred_memories_go_global_only_when_about_the_user(
    mesh: AsyncMemoryMesh,
) -> None:
    for text in ABOUT_THE_USER:
        assert (await mesh.remember(text)).scope is Scope.GLOBAL, text
    for text in ABOUT_THE_PROJECT:
        assert (await mesh.remember(text)).scope is Scope.PROJECT, text
    stats = await mesh.stats()
    assert stats.by_scope == {"project": len(ABOUT_THE_PROJECT), "global": len(ABOUT_THE_USER)}


@pytest.mark.anyio
async def test_a_named_category_or_scope_still_decides(mesh: AsyncMemoryMesh) -> None:
    preference = await mesh.remember("tabs over spaces", category="preference")
    rule = await mesh.remember("Never force-push to main", scope="global")
    assert (preference.scope, rule.scope) == (Scope.GLOBAL, Scope.GLOBAL)
