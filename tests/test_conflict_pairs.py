"""The pair model of conflict detection (``memorymesh/writes/_pairs.py``) and the second
development corpus it was fitted on (split A only).

What a memory is about and what it says is compared as a whole: values with their units
normalised, a change told as an event, a detail added or a fact about someone else.
"""

from __future__ import annotations

import json
import random

import pytest
from _conflict_eval import DEV2_PATH, load_dev2, outcomes, targets, targets_markdown

from memorymesh.writes._conflicts import judge
from memorymesh.writes._pairs import FEATURES, analyse, features, predict

pytestmark = pytest.mark.anyio

#: figure -> (floor, True for "at least", False for "at most"), keyword mode (the default),
#: on dev2 split A. Measured when set: contradiction precision 0.968, recall 0.600, duplicate
#: precision 1.000, recall 0.263, compatible superseded 0.000 (before the pair model: 0.917,
#: 0.330, 0.895, 0.179, 0.036); session 8: 1.000, 0.670, 1.000, 0.305, 0.000. Split B is
#: never asserted on: it is measured like a held-out set (benchmarks/bench_conflicts.py --dev2
#: --dev2-split B prints its aggregates).
DEV2_A_FLOORS: dict[str, tuple[float, bool]] = {
    "contradiction precision": (0.97, True),
    "contradiction recall": (0.62, True),
    "duplicate precision": (0.95, True),
    "duplicate recall": (0.27, True),
    "compatible superseded": (0.02, False),
}


def test_the_second_corpus_is_big_labelled_and_split() -> None:
    rows = json.loads(DEV2_PATH.read_text(encoding="utf-8"))
    assert len(rows) >= 450
    assert len({(r["old"], r["new"]) for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"contradiction", "duplicate", "compatible"}
    assert {r["split"] for r in rows} == {"A", "B"}
    assert all(r["kind"] and r["old"] and r["new"] and r["difficulty"] for r in rows)
    a, b = load_dev2("A"), load_dev2("B")
    assert len(a) + len(b) == len(rows) and min(len(a), len(b)) >= 200
    # The split was drawn at random per pair, seeded: it is reproducible.
    rng = random.Random(20261206)
    assert [r["split"] for r in rows] == [rng.choice("AB") for _ in rows]


def test_a_split_must_be_a_or_b() -> None:
    with pytest.raises(ValueError, match="split"):
        load_dev2("C")


async def test_keyword_detection_on_dev2_split_a_meets_its_floors() -> None:
    rows = load_dev2("A")
    outs = await outcomes([(label, old, new) for label, _, old, new in rows])
    figures = targets([label for label, _, _, _ in rows], outs)
    for name, (floor, at_least) in DEV2_A_FLOORS.items():
        value = figures[name]
        ok = value >= floor if at_least else value <= floor
        assert ok, f"{name} {value:.3f}\n{targets_markdown(figures)}"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Sessions expire after 60 minutes", "Session expiry: 1 hour"),
        ("The rent is $1,800", "The rent is 1800 dollars"),
        ("The call is at 2pm", "The call is at 14:00"),
        ("The budget is 2k euros", "The budget is €2,000"),
        ("The cache lives for 5 minutes", "The cache lives for 300 seconds"),
        ("The team has eight people", "The team has 8 people"),
        ("Dinner is at 7:30pm", "Dinner is at 19:30"),
    ],
)
def test_values_are_compared_with_their_units_normalised(a: str, b: str) -> None:
    assert analyse(a).values == analyse(b).values != frozenset()


def test_different_values_stay_different() -> None:
    assert (
        analyse("Sessions expire after 60 minutes").values
        != analyse("Sessions expire after 60 seconds").values
    )
    assert analyse("We run Python 3.12").values != analyse("We run Python 3.10").values


def test_a_memory_models_what_it_is_about_and_says() -> None:
    said = analyse("I've just moved to Manchester; Leeds was a mistake.")
    assert "user" in said.words  # the user's own words are about the user
    assert {"manchester", "leed"} <= said.names  # lemmatised like the words
    assert said.change and said.correction and not said.past
    assert analyse("The user's brother lives in Leeds").possessed == {"brother"}
    assert analyse("In 2019 the user lived in Leeds").past
    assert analyse("The team is thinking about moving to Linear").plan


def test_the_model_outputs_probabilities_for_every_feature_vector() -> None:
    x = features(
        "User now cycles to work", "User takes the bus to work", None, None, subject_changed=False
    )
    assert len(x) == len(FEATURES)
    for cosine in (None, 0.8):
        p = predict(
            "User now cycles to work",
            "User takes the bus to work",
            cosine,
            None,
            subject_changed=False,
        )
        assert len(p) == 3 and abs(sum(p) - 1) < 1e-9


@pytest.mark.parametrize(
    ("old", "new", "kind"),
    [
        # changes told as events, in words the rules alone miss
        (
            "The user banks with HSBC",
            "The user changed banks and is with Monzo now",
            "contradiction",
        ),
        (
            "Our metrics go to Datadog",
            "Datadog has been replaced by Prometheus for metrics",
            "contradiction",
        ),
        (
            "The office has 40 desks",
            "The office is down to 25 desks after the move",
            "contradiction",
        ),
        (
            "Nightly builds take 50 minutes",
            "Nightly builds take around 20 minutes now",
            "contradiction",
        ),
        (
            "Rent is due on the 1st of each month",
            "The landlord changed the rent due date to the 3rd",
            "contradiction",
        ),
        # the same fact with its value written another way
        (
            "The API rate limit is 1000 requests per minute",
            "Rate limit: 1k requests/min",
            "near_duplicate",
        ),
        # a detail added, a fact about someone else, a past fact: both memories stand
        (
            "The user's sister lives in Paris",
            "The user's sister lives in Paris with her two children",
            "possible_duplicate",
        ),
        ("The user is learning Korean", "The user's brother is learning Korean", None),
        ("In 2021 the team had 12 people", "The team has 9 people now", "possible_contradiction"),
    ],
)
def test_judge_with_the_pair_model(old: str, new: str, kind: str | None) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == kind, verdict


def test_the_model_alone_never_calls_a_distant_text_the_same_fact() -> None:
    # Two facts about one banner, at a low cosine (the test suite's hashed embedder scores them
    # 0.52): at most a possible duplicate, so neither hides the other.
    old, new = "The demo banner shows this week", "The banner said the demo is on monday"
    verdict = judge(new, old, 0.52)
    assert verdict is None or verdict[0].startswith("possible_"), verdict
    # The same pair close in meaning is left to the model.
    assert judge(new, old, 0.9) is not None


@pytest.mark.parametrize(
    ("new", "old", "cosine", "kind"),
    [
        # A change told as an event names a value the old text lacks: the embedder places
        # the two below the usual subject gate (0.5), the change gate (0.35) lets them in.
        ("CI has been migrated to GitHub Actions.", "CI runs on Jenkins.", 0.48, "contradiction"),
        (
            "User has switched to Neovim as their main editor.",
            "User's editor is VS Code.",
            0.49,
            "contradiction",
        ),
        # There the model alone stays silent unless sure: another thing of the same name.
        ("the kiwi orchard moved north", "the kiwi crates ship on fridays", 0.37, None),
        # What is said to be added replaces nothing.
        (
            "The scheduler service was also moved onto k8s.",
            "The services deployed on k8s are api and worker.",
            0.71,
            "possible_contradiction",
        ),
        # A possessive naming an attribute of the owner keeps the subject ("User's OS").
        (
            "User runs Ubuntu 22.04 now, wiped Windows.",
            "User's OS: Windows 11.",
            None,
            "contradiction",
        ),
        (
            "The project supports Python 3.12 as well.",
            "The project supports Python 3.11.",
            None,
            None,
        ),
    ],
)
def test_changes_told_as_events_and_what_adds(
    new: str, old: str, cosine: float | None, kind: str | None
) -> None:
    verdict = judge(new, old, cosine)
    assert (verdict[0] if verdict else None) == kind


def _confident(verdict: tuple[str, float, str] | None) -> bool:
    return verdict is not None and not verdict[0].startswith("possible_")


@pytest.mark.parametrize(
    ("new", "old"),
    [
        # Two attributes of the user, sharing only "the user": a change of one says nothing
        # of the other (the pair model alone called these changed facts at p 0.84-0.92).
        ("User moved to Munich last month.", "User prefers brief, concise responses."),
        ("User changed banks and is with Ally now.", "User prefers light mode."),
        ("User gave up on Spanish and is learning Italian instead.", "User prefers tea."),
        # Only the change verb links them, and the old text's verb is not said of the same
        # subject, or the change names an earlier value the old text lacks.
        ("The user moved to Manchester", "User's dotfiles live in a private repo on GitHub."),
        ("User moved from VS Code over to Neovim.", "User lives in Vancouver."),
        ("The user switched to a light theme", "The user's daily calorie target is 2200"),
        # A time word shared is not an attribute shared.
        ("User moved to Munich last month.", "The user read 'Dune' last month"),
        # Someone else's fact does not replace the user's.
        ("The user moved to Manchester", "The user's parents live in Madrid."),
        ("The user moved to Manchester in 2021", "The user's mother-in-law lives in Porto"),
        # A date beside a place is a second attribute of the same event.
        ("My sister's wedding is in Tuscany.", "My sister's wedding is on the 12th of July."),
    ],
)
def test_a_second_attribute_of_the_same_subject_is_never_hidden(new: str, old: str) -> None:
    assert not _confident(judge(new, old)), judge(new, old)


@pytest.mark.parametrize(
    ("new", "old", "kind"),
    [
        # What the old text says of the user is what the change replaces.
        ("User moved to Munich last month.", "User lives in Berlin.", "contradiction"),
        ("The user moved to Manchester", "The user lives in Leeds", "contradiction"),
        # The old value named again.
        ("The user moved from Lisbon to Berlin", "The user lives in Lisbon", "contradiction"),
    ],
)
def test_a_change_of_the_same_attribute_still_replaces_it(new: str, old: str, kind: str) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == kind, verdict


@pytest.mark.parametrize(
    ("new", "old"),
    [
        # The old fact is scoped to the past (a year, "used to"): it stays true as history,
        # so the present value told anew keeps both (the number rule alone replaced these).
        ("User weighs 78 kg.", "User weighed 90 kg in 2020."),
        ("The user's rent is 1,200 euros.", "The user's rent was 900 euros in 2021."),
        ("User runs 35 km a week.", "User ran 20 km a week in 2018."),
    ],
)
def test_a_fact_scoped_to_the_past_is_not_replaced_by_the_present(new: str, old: str) -> None:
    verdict = judge(new, old)
    assert verdict is not None and verdict[0] == "possible_contradiction", verdict


@pytest.mark.parametrize(
    ("new", "old"),
    [
        # A dated change on the new side is still a change of the present fact.
        ("User moved to Munich in 2024.", "User lives in Berlin."),
        ("User weighs 78 kg.", "User weighs 90 kg."),
    ],
)
def test_a_dated_change_of_a_present_fact_still_replaces_it(new: str, old: str) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == "contradiction", verdict


def test_the_third_corpus_is_labelled_time_frame_and_different_entity_pairs() -> None:
    rows = load_dev2(path=DEV2_PATH.with_name("dev3_pairs.json"))
    assert len(rows) >= 60
    assert len({(old, new) for _, _, old, new in rows}) == len(rows)
    assert {label for label, _, _, _ in rows} == {"contradiction", "duplicate", "compatible"}
    assert {kind for _, kind, _, _ in rows} == {"time_frame", "different_entity"}


@pytest.mark.parametrize(
    ("new", "old"),
    [
        # "now" says the new value holds today, not that the dated or past one was wrong.
        ("User weighs 78 kg now.", "User weighed 90 kg in 2020."),
        ("The team has 8 people now.", "In 2022 the team had 12 people."),
        # Past markers counted back from today or told as a time of life.
        ("User weighs 78 kg.", "User weighed 90 kg five years ago."),
        ("User runs 40 km a week.", "Back then the user ran 10 km a week."),
    ],
)
def test_now_alone_does_not_replace_a_fact_scoped_to_the_past(new: str, old: str) -> None:
    verdict = judge(new, old)
    assert verdict is None or verdict[0] != "contradiction", verdict


def test_past_markers_read_times_counted_back_and_times_of_life() -> None:
    for text in (
        "User lived in Boston 5 years ago.",
        "A few years ago the user played rugby.",
        "As a kid the user played the cello.",
        "In college the user rowed.",
        "When the user was a student she lived in Lyon.",
    ):
        assert analyse(text).past, text
    # "back in" alone is also "is back in the office": not a past scope.
    assert not analyse("Jen is back in the office.").past


@pytest.mark.parametrize(
    ("new", "old"),
    [
        (
            "As of 2025 the API rate limit is 250 requests per minute.",
            "The API rate limit is 100 requests per minute.",
        ),
        ("Starting in March, the standup is at 10:30.", "The standup is at 9:30."),
        ("The monthly fee is 30 euros since January.", "The monthly fee is 25 euros."),
    ],
)
def test_a_change_told_with_its_start_replaces_the_value(new: str, old: str) -> None:
    verdict = judge(new, old)
    assert (verdict[0] if verdict else None) == "contradiction", verdict


def test_a_start_on_both_sides_is_still_the_same_fact() -> None:
    verdict = judge("Vegetarian since 2018.", "The user has been vegetarian since 2018.")
    assert verdict is None or verdict[0] != "contradiction", verdict


@pytest.mark.parametrize(
    ("new", "old", "cosine"),
    [("Switched to pnpm.", "Prefers npm.", 0.45), ("Moved to York.", "Lives in Leeds.", 0.45)],
)
def test_terse_notes_opening_on_their_verbs_share_their_subject(
    new: str, old: str, cosine: float
) -> None:
    verdict = judge(new, old, cosine)
    assert (verdict[0] if verdict else None) == "contradiction", verdict


def test_a_terse_change_of_another_verb_replaces_nothing() -> None:
    verdict = judge("Moved to York.", "Prefers tea.", 0.4)
    assert verdict is None or verdict[0] != "contradiction", verdict


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("User lives in New York City.", "Lives in NYC."),
        ("User works from home on Fridays.", "WFH Fridays."),
        ("The backend is written in golang.", "The backend is written in Go."),
        ("Releases follow semantic versioning.", "Releases follow semver."),
    ],
)
def test_the_pair_model_reads_abbreviations_and_names_of_several_words(a: str, b: str) -> None:
    assert analyse(a).words - {"user", "city"} == analyse(b).words - {"user", "city"}


def test_the_fourth_corpus_is_balanced_and_split() -> None:
    rows = json.loads(DEV2_PATH.with_name("dev4_pairs.json").read_text(encoding="utf-8"))
    assert len(rows) >= 120
    assert len({(r["old"], r["new"]) for r in rows}) == len(rows)
    counts = {label: sum(r["label"] == label for r in rows) for label in ("contradiction",
              "duplicate", "compatible")}  # fmt: skip
    assert min(counts.values()) >= 40
    assert {r["split"] for r in rows} == {"A", "B"}
