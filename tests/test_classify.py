"""Auto-categorisation and auto-importance on a table of examples."""

from __future__ import annotations

import pytest

from memorymesh import Category, classify, estimate_importance

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
