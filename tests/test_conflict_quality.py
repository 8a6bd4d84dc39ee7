"""Conflict detection quality on the labelled corpus, through real stores on disk.

Every pair of ``conflict_corpus.PAIRS`` is written to a fresh store (old text, then new text
with the default policy) and the reported conflict is scored against the label. The floors
sit a little below the figures measured when they were set (``benchmarks/bench_conflicts.py``
prints them), so a change that makes detection worse fails here. Precision floors are the
strict ones: a false contradiction or near-duplicate hides a memory from recall by default.
"""

from __future__ import annotations

import pytest
from _conflict_eval import expected, mistakes, scores, verdicts
from conflict_corpus import NO_CONFLICT, PAIRS

from memorymesh.writes._conflicts import _change_event, content_tokens, judge
from memorymesh.writes._lemma import lemma

pytestmark = pytest.mark.anyio

#: kind -> (precision floor, recall floor), keyword mode (the default: no embedder), strict
#: (a low-confidence verdict counts as none). Measured when set, on 368 pairs: near-duplicate
#: 1.000 / 0.476, contradiction 0.991 / 0.873, any 0.994 / 0.745. (Near-duplicate recall was
#: 0.619 before the pair model: an elaboration that adds a detail, a value or another clause is
#: now reported as a possible duplicate and both memories are kept, as issue 22 asks: "a detail
#: added to a fact" is compatible. This corpus labels such elaborations near-duplicates.)
#: Session 8: near-duplicate 1.000 / 0.500, contradiction 0.991 / 0.905.
KEYWORD_FLOORS = {
    "duplicate": (1.0, 1.0),
    "near_duplicate": (0.97, 0.45),
    "contradiction": (0.97, 0.85),
    "any conflict": (0.97, 0.72),
}


def test_the_corpus_is_big_varied_and_well_formed() -> None:
    labels = [label for label, _, _ in PAIRS]
    assert len(PAIRS) >= 300
    assert len({(old, new) for _, old, new in PAIRS}) == len(PAIRS)
    for label in ("duplicate", "near_duplicate", "contradiction"):
        assert labels.count(label) >= 25, label
    assert sum(label in NO_CONFLICT for label in labels) >= 100


async def test_keyword_detection_meets_its_floors() -> None:
    got = await verdicts(PAIRS)
    measured = scores([label for label, _, _ in PAIRS], got)
    report = "\n".join(mistakes(PAIRS, got))
    for kind, (precision, recall) in KEYWORD_FLOORS.items():
        s = measured[kind]
        assert s.precision >= precision, f"{kind} precision {s.precision:.3f}\n{report}"
        assert s.recall >= recall, f"{kind} recall {s.recall:.3f}\n{report}"


def test_judging_tokens_is_a_looser_filter_than_judging_texts() -> None:
    # Without an embedder, stored candidates are first judged on their cached tokens and only
    # then on the texts: a verdict the texts would get must never be lost to the first pass.
    for _, old, new in PAIRS:
        if judge(new, old) is not None:
            assert judge(content_tokens(new), content_tokens(old)) is not None, (old, new)


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        # contractions negate like their long forms, with either apostrophe
        ("Pets can stay in the flat", "Pets can't stay in the flat", "contradiction"),
        ("Pets can not stay in the flat", "Pets can\u2019t stay in the flat", "near_duplicate"),
        ("The nightly job does retry", "The nightly job doesn't retry", "contradiction"),
        # opposite words flip a statement like a negation
        (
            "Dark launches are allowed in prod",
            "Dark launches are forbidden in prod",
            "contradiction",
        ),
        ("Search indexing is enabled", "Search indexing is disabled", "contradiction"),
        ("The export job is available", "The export job is unavailable", "contradiction"),
        ("The team likes pairing", "The team dislikes pairing", "contradiction"),
        ("Public buckets hold the logs", "Private buckets hold the logs", None),
        ("The API is still in beta", "The API is no longer in beta", "contradiction"),
        # a subject ends at its copula: a change before it names another thing
        ("Room 12 is free on Fridays", "Room 14 is free on Fridays", None),
        ("The rollout is at 20 percent", "The rollout is at 50 percent", "contradiction"),
        # one value after "is" or a preposition, replaced
        ("The build server runs on Ubuntu", "The build server runs on Debian", "contradiction"),
        ("The build server runs on Ubuntu", "The build server also runs on Debian", None),
        # an elaboration that renames the subject is another memory
        ("The user is learning Korean", "The user's brother is learning Korean", None),
        ("Note: the release is on Friday", "The release is on Friday", "near_duplicate"),
        # changes told as events; a denied change is none
        ("Lena works at Initech", "Lena quit Initech last month", "contradiction"),
        ("The team uses Trello", "The team stopped using Trello", "contradiction"),
        ("The weekly sync is on Mondays", "The weekly sync moved to Wednesdays", "contradiction"),
        ("The user uses Firefox", "The user now uses Chrome instead of Firefox", "contradiction"),
        # inflections, number words, versions and abbreviations
        ("The user is studying Korean", "The user studies Korean", "near_duplicate"),
        ("The user has two kids", "The user has 2 kids", "near_duplicate"),
        ("The user has two kids", "The user has three kids", "contradiction"),
        ("The cluster runs Postgres 15", "The cluster runs Postgres 16", "contradiction"),
        ("We deploy to Kubernetes", "We deploy to k8s", "near_duplicate"),
        # low confidence: another clause, less detail, another verb, a transcript's lines
        (
            "The team owns the search service",
            "The team owns the search service and the indexer",
            "possible_duplicate",
        ),
        ("Deploys go out on Tuesdays at noon", "Deploys go out on Tuesdays", "possible_duplicate"),
        ("Ana's sister lives in Madrid", "Ana's sister works in Madrid", "possible_contradiction"),
        ("Jo: Thanks, Ann! See you soon", "Jo: Thanks Ann! See you soon", "possible_duplicate"),
        ("Jo: Thanks, Ann! See you soon", "Ann: Thanks, Jo! See you soon", None),
    ],
)
def test_judge_rules(old: str, new: str, kind: str | None) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == kind, verdict


@pytest.mark.parametrize(
    ("forms", "same"),
    [
        (("use", "uses", "using", "used"), True),
        (("move", "moves", "moved", "moving"), True),
        (("stop", "stops", "stopped", "stopping"), True),
        (("leave", "left", "leaves"), True),
        (("child", "children", "kids"), True),
        (("add", "added", "adding"), True),
        (("need", "needed"), True),
        (("live", "love"), False),
    ],
)
def test_the_lemmatiser_folds_the_forms_of_a_word(forms: tuple[str, ...], same: bool) -> None:
    assert (len({lemma(w) for w in forms}) == 1) is same


def test_a_denied_change_is_no_change() -> None:
    assert _change_event("Omar won't quit Initech", "Omar works at Initech", None) is None
    assert _change_event("Omar quit Initech", "Omar works at Initech", None) is not None


def test_labels_map_to_verdicts() -> None:
    assert expected("compatible") == expected("unrelated") == "none"
    assert expected("contradiction") == "contradiction"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # "HR" is human resources; an abbreviated unit is one only after a number.
        ("User works in HR.", "The user works in human resources.", True),
        ("The meeting takes 2 hrs", "The meeting takes 2 hours", True),
        ("User works in HR.", "User works in hours.", False),
        # "notes" is not "not".
        ("User keeps notes in Obsidian", "User keeps not in Obsidian", False),
        # A first-person text is about the user.
        ("I live in Leeds", "The user lives in Leeds", True),
        # Common nouns fold to one word.
        ("User rents a flat in Leeds", "User rents an apartment in Leeds", True),
        ("User's mum lives in Porto", "User's mother lives in Porto", True),
    ],
)
def test_tokens_read_abbreviations_persons_and_synonyms(a: str, b: str, same: bool) -> None:
    assert (content_tokens(a)[0] == content_tokens(b)[0]) is same, (
        content_tokens(a),
        content_tokens(b),
    )


def test_a_stem_is_never_a_function_word() -> None:
    assert {lemma(w) for w in ("note", "notes", "noted", "noting")} == {lemma("note")}
    assert lemma("note") != "not" and lemma("done") != "don" and lemma("ones") != "on"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Rent is $1,800 a month", "Rent is 1800 dollars a month"),
        ("The budget is 2k", "The budget is 2,000"),
        ("The office closes at 6pm", "The office shuts at 18:00"),
    ],
)
def test_numbers_are_compared_in_one_spelling(a: str, b: str) -> None:
    assert content_tokens(a)[1] == content_tokens(b)[1]
