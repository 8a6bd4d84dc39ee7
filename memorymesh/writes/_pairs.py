"""What two memories say to each other, as features a small linear model weighs.

The word rules of :mod:`._conflicts` recognise a replacement or a restatement when it is told
in the words they know. This module models each memory as what it is about and what it says
and compares the two as a whole:

- *about*: its content words (lemmatised, number words as digits, abbreviations and common
  synonyms folded: "flat"/"apartment", "mum"/"mother"), the names in it (capitalised words
  inside the sentence: "Berlin", "Jira", "Neovim"), and its lead (the first content word);
- *says*: its values (numbers with their units normalised: "1,800" = "1800", "2k" = "2000",
  "2pm" = "14:00", "60 minutes" = "1 hour"), its polarity (a negation), and how it sits in
  time (a change told as an event: "moved to", "no longer", "now", "switched"; a correction:
  "was a mistake", "actually"; an addition: "also", "too"; a past scope: "used to", "in
  2019"; a plan: "thinking about", "might").

The features of a pair (word overlap, names and values kept or replaced, a negation flipped,
opposite words, markers of change, addition, past or plan, the word rules' own verdict, and
the embedder's cosine when there is one) go through a multinomial logistic model with three
outcomes: *none* (both stand), *duplicate*, *contradiction*. Its weights were fitted on the
development corpora (``tests/conflict_corpus.py`` and split A of
``tests/conflicts/dev2_pairs.json``) by ``benchmarks/train_pair_model.py``; split B and the
frozen held-out corpus measure it. Probabilities far from certain give low-confidence
(``possible_``) verdicts, which keep both memories.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ._lemma import _SYNONYMS, lemma, normalise_phrases

__all__ = [
    "FEATURES",
    "Analysis",
    "analyse",
    "features",
    "predict",
    "probabilities",
    "probabilities_many",
]

# Common synonyms, abbreviations and variant words of the things agents remember, folded to one
# form (general English, not any corpus's pairs). Applied to words before lemmatising.
_FOLD_TABLE = """
apartment:flat apartments:flat mum:mother mom:mother mommy:mother dad:father daddy:father
parents:parent spouse:partner husband:partner wife:partner boyfriend:partner girlfriend:partner
purchased:buy purchase:buy bought:buy begins:start begin:start began:start commence:start
quickly:fast quick:fast rapid:fast big:large huge:large enjoys:like enjoy:like enjoyed:like
loves:like love:like loved:like fond:like dislikes:hate dislike:hate detests:hate
brief:short concise:short reply:answer replies:answer response:answer responses:answer
dish:food dishes:food meals:food meal:food railway:train rail:train shuts:close shut:close
often:frequently regularly:frequently physician:doctor gp:doctor dr:doctor automobile:car
job:work employer:company firm:company kids:child kid:child children:child youngster:child
daughter:daughter son:son sf:san-francisco nyc:new-york la:los-angeles eng:engineering
hr:human-resources phd:doctorate ml:machine-learning ai:artificial-intelligence
req:request reqs:request approx:about around:about roughly:about nearly:about
fix:fix fixed:fix uses:use using:use utilise:use utilize:use employ:use
weekly:week daily:day nightly:night monthly:month yearly:year annually:year
starts:start started:start unable:cannot dwelling:home house:home residence:home
residing:live resides:live reside:live based:live located:live lives:live living:live
wants:want wishes:want prefer:like prefers:like preferred:like favorite:like favourite:like
hates:hate loathes:hate unwell:sick ill:sick broken:fail fails:fail failing:fail
needs:need requires:need required:need require:need must:need
talks:speak talk:speak says:say told:say tell:say
car:car vehicle:car laptop:computer pc:computer notebook:computer
colleague:coworker coworkers:coworker teammate:coworker teammates:coworker
manager:boss supervisor:boss lead:boss head:boss
golang:go nodejs:node node.js:node mongo:mongodb gh:github tf:terraform
"""
# Names of several words the pair model reads as one (the word rules' own are in
# ``_lemma``; these change no stored token).
_MODEL_PHRASES = {
    "new york city": "new-york",
    "san francisco": "san-francisco",
    "los angeles": "los-angeles",
    "united kingdom": "uk",
    "united states": "usa",
    "working from home": "wfh",
    "work from home": "wfh",
    "works from home": "wfh",
    "semantic versioning": "semver",
}
_MODEL_PHRASE = re.compile(r"\b(?:" + "|".join(map(re.escape, _MODEL_PHRASES)) + r")\b")
_FOLD: dict[str, str] = dict(pair.split(":") for pair in _FOLD_TABLE.split())

# Opposites beyond the word rules' own list (folded and lemmatised like the words they meet).
_ANTONYM_TABLE = (
    "like/hate early/late morning/evening on/off open/closed enabled/disabled allow/forbid "
    "public/private single/married light/dark include/exclude increase/decrease up/down "
    "raise/lower add/remove start/stop accept/reject win/lose pass/fail healthy/sick "
    "junior/senior beta/general cheap/expensive fast/slow full/part remote/office "
    "before/after above/below internal/external"
)

_STOP_WORDS = (
    "a an the is are was were be been being am has have had do does did will would can could "
    "should shall may might must of to in on at by for with from as that this these those it "
    "its and or but so if then than there their they them he she his her we our us you your i "
    "my me mine about into over under up down out off all any some each every per via just "
    "very really actually currently still also too where when which who whom whose what how "
    "why here"
)
_STOP = frozenset(_STOP_WORDS.split())
_NEGATIONS = frozenset(
    {"not", "no", "never", "nor", "cannot", "without", "none", "neither", "nothing", "n't"}
)
_FIRST_PERSON = frozenset({"i", "my", "me", "mine", "myself", "i'm", "i've", "i'd"})
_WORD = re.compile(r"[\w$€£%]+(?:[-./:,'\u2019][\w%]+)*", re.UNICODE)
_CAPITALISED = re.compile(r"[A-Za-z][\w.+#-]*")

#: A change told as an event, or a state said to hold *now*.
_CHANGE = re.compile(
    r"\b(?:now|anymore|any more|no longer|these days|nowadays|from now on|going forward|"
    r"instead|in favou?r of|rather than|switch\w*|mov(?:ed|ing)|migrat\w*|relocat\w*|"
    r"chang\w*|replac\w*|rewr\w*|port(?:ed|ing)|swapp?\w*|start(?:ed|ing)|stopp?\w*|"
    r"quit\w*|left|leav\w*|resign\w*|retir\w*|gave up|giving up|given up|dropp?\w*|"
    r"ditch\w*|cancel+\w*|unsubscrib\w*|raised|lowered|increased|decreased|went (?:up|down)|"
    r"gone (?:up|down)|cut|extended|shortened|upgrad\w*|downgrad\w*|bump\w*|postpon\w*|"
    r"pushed|rebook\w*|reschedul\w*|renamed|promot\w*|finish\w*|shipped|fixed|sold|healed|"
    r"turn(?:ed)? (?:off|on)|became|become|is back|are back|back to|took over|taken over|"
    r"succeeded|transferr\w*|handed|stepped down|split up|broke up|divorc\w*|engaged|"
    r"adopted|discharged|closed|reached|accepted|just turned|got (?:a|an|the|their|his|her|"
    r"promoted|married|engaged)|had the|wiped|ripped out|down to|scaled|dropped)\b"
)
#: Words that say a state holds now without telling that anything changed.
_PRESENT_ONLY = re.compile(r"\b(?:now|these days|nowadays|currently|at the moment|today)\b")
#: A correction of what was noted before.
_CORRECTION = re.compile(
    r"\b(?:correction|actually|mistake|mistaken|mix-?up|mixed up|wrong|typo|incorrect|"
    r"not right|misremembered|oops)\b|,\s*not\s+\w+[.!]?$|;\s*not\s+\w+"
)
#: Something added to what is known, not replacing it.
_ADDITIVE = re.compile(
    r"\b(?:also|too|as well|another|additionally|in addition|added|joined|new \w+ (?:was|were) "
    r"added|plus|besides|second)\b"
)
#: A statement scoped to the past: it stays true when the present changes.
_PAST = re.compile(
    r"\b(?:used to|previous\w*|former\w*|old|first|last year|grew up|before (?:joining|moving)|"
    r"in (?:19|20)\d\d|from (?:19|20)\d\d|(?:19|20)\d\d (?:to|until)|ran the|had \w+ surgery|"
    r"was born|took \w+ classes|studied|"
    # a time before now counted back, a season or a time of life gone by
    r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several|many|some)"
    r" (?:years?|decades?) ago|years ago|back (?:in the day|then|when)|"
    r"as an? (?:kid|child|teen|teenager|student|undergrad)|in (?:college|high school|grad school)|"
    r"when (?:i|he|she|they|we|the user|user) (?:was|were) (?:a |an |in |at |young|little))\b"
)
#: A plan, wish or consideration: it changes nothing yet.
_PLAN = re.compile(
    r"\b(?:consider\w*|thinking (?:about|of)|think about|might|may|maybe|plan\w*|evaluat\w*|"
    r"wants? to|would like to|hop(?:e|es|ing) to|roadmap|hiring|asking for|looking (?:for|at|"
    r"into)|intend\w*|going to|will be|next year|next month|someday)\b"
)
#: Words that limit a fact to a context ("for urgent issues", "when reading", "on weekends").
_CONTEXT = re.compile(
    r"\b(?:for (?:urgent|performance|work|personal)|when \w+ing|in the (?:evening|morning|"
    r"afternoon)|on (?:weekends|weekdays)|this (?:thursday|week|weekend)|during|except)\b"
)

_UNIT_SECONDS = {
    "s": 1, "sec": 1, "second": 1, "seconds": 1, "secs": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "week": 604800, "weeks": 604800, "fortnight": 1209600,
}  # fmt: skip
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "ninety": 90, "hundred": 100,
    "thousand": 1000, "dozen": 12, "twice": 2, "once": 1, "single": 1, "half": 0.5,
}  # fmt: skip
_NUMBER = re.compile(r"^[$€£]?(\d+(?:,\d{3})*(?:\.\d+)?)(k|m|bn|am|pm|st|nd|rd|th|%|x|[a-z]+)?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(am|pm)?$")
_VERSION = re.compile(r"^v?\d+(?:\.\d+){1,3}(?:\.x)?$")


def _fold(word: str) -> str:
    # The word rules' abbreviations too ("k8s" / "kubernetes", "js" / "javascript"), so the
    # model and the rules read a pair's words alike.
    return lemma(_FOLD.get(word) or _FOLD.get(_SYNONYMS.get(word, word), _SYNONYMS.get(word, word)))


@dataclass(frozen=True, slots=True)
class Analysis:
    """What one memory is about and what it says, as the model compares it."""

    words: frozenset[str]
    names: frozenset[str]
    values: frozenset[str]
    possessed: frozenset[str]
    """Words after a possessive ("the user's *partner*"): who or what a fact is about."""
    negated: bool
    change: bool
    event: bool
    """A change told as an event ("moved", "switched", "quit"), not only a state said to hold
    *now* ("now", "these days"): only an event replaces a fact the old text scopes to the
    past."""
    correction: bool
    additive: bool
    past: bool
    plan: bool
    context: bool
    lead: str
    size: int


def _number(word: str, after: str) -> str | None:
    """The canonical form of a number and its unit ("60 minutes" and "1 hour" both ``d3600``),
    or None when the word holds none."""
    if _VERSION.fullmatch(word) and "." in word:
        return "v" + word.lstrip("v").removesuffix(".x")
    clock = _CLOCK.fullmatch(word)
    if clock is not None:
        hour, minute, half = int(clock.group(1)), clock.group(2), clock.group(3) or after
        if half in ("pm", "p.m") and hour < 12:
            hour += 12
        return f"t{hour}:{minute}"
    if word in _NUMBER_WORDS:
        value, suffix = float(_NUMBER_WORDS[word]), ""
    else:
        match = _NUMBER.fullmatch(word.lstrip("v"))
        if match is None:
            return None
        value = float(match.group(1).replace(",", ""))
        suffix = match.group(2) or ""
    if suffix == "k":
        value, suffix = value * 1000, ""
    elif suffix == "bn":
        value, suffix = value * 1e9, ""
    if suffix in ("am", "pm") or (not suffix and after in ("am", "pm", "p.m", "a.m")):
        hour = int(value) % 12 + (12 if "p" in (suffix or after) else 0)
        return f"t{hour}:00"
    unit = suffix if suffix and suffix not in ("st", "nd", "rd", "th", "x") else after
    seconds = _UNIT_SECONDS.get(unit)
    if seconds is not None:
        total = value * seconds
        return f"d{total:g}"
    return f"{value:g}"


@functools.lru_cache(maxsize=16_384)
def analyse(text: str) -> Analysis:
    """Analyse one memory (cached: a write judges the same text against several others)."""
    normal = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    folded = normal.casefold()
    folded = re.sub(r"(\w)n't\b", r"\1 not", folded).replace("can not", "cannot")
    folded = normalise_phrases(re.sub(r"'(re|ve|ll|d|m)\b", " ", folded))
    folded = _MODEL_PHRASE.sub(lambda m: _MODEL_PHRASES[m.group(0)], folded)
    raw = [w.removesuffix("'s") if w.endswith("'s") else w for w in _WORD.findall(folded)]
    marked = [w.endswith("'s") for w in _WORD.findall(folded)]
    words: set[str] = set()
    values: set[str] = set()
    possessed: set[str] = set()
    counted = False  # the word before was a number: a unit after it is part of the value
    for i, word in enumerate(raw):
        after = raw[i + 1] if i + 1 < len(raw) else ""
        value = _number(word, after)
        if value is not None and word not in ("single", "half"):
            values.add(value)
            counted = True
            continue
        if word in _STOP or word in _NEGATIONS or (counted and word in _UNIT_SECONDS):
            counted = False
            continue
        counted = False
        words.add(_fold(word))
        if i and marked[i - 1]:
            possessed.add(_fold(word))
    names = set()
    tokens = _CAPITALISED.findall(normal)
    for i, token in enumerate(tokens):
        first = i == 0 or normal.find(token) == 0
        inner_caps = any(c.isupper() for c in token[1:])
        if token[:1].isupper() and token not in ("I", "User", "Note") and (not first or inner_caps):
            names.add(_fold(token.casefold().rstrip(".")))
    lead = next(
        (_fold(w) for w in raw if w not in _STOP and w not in _NEGATIONS and not w[:1].isdigit()),
        "",
    )
    if not _FIRST_PERSON.isdisjoint(raw):
        words.add("user")  # a memory in the user's own words is about the user
    if lead in ("user", "i", "my", "me"):
        lead = "user"
    elif raw and raw[0] in ("we", "our", "us"):
        lead = "we"
    return Analysis(
        words=frozenset(words),
        names=frozenset(names),
        values=frozenset(values),
        possessed=frozenset(possessed),
        negated=not _NEGATIONS.isdisjoint(raw),
        change=_CHANGE.search(folded) is not None,
        event=_CHANGE.search(_PRESENT_ONLY.sub(" ", folded)) is not None,
        correction=_CORRECTION.search(folded.rstrip()) is not None,
        additive=_ADDITIVE.search(folded) is not None,
        past=_PAST.search(folded) is not None,
        plan=_PLAN.search(folded) is not None,
        context=_CONTEXT.search(folded) is not None,
        lead=lead,
        size=len(raw),
    )


_ANTONYMS: frozenset[frozenset[str]] = frozenset(
    frozenset(_fold(w) for w in pair.split("/")) for pair in _ANTONYM_TABLE.split()
)

#: The features, in the order the weights are given.
FEATURES = (
    "bias", "cosine", "cosine_sq", "jaccard", "overlap", "only_new", "only_old", "contained",
    "same_words", "values_changed", "values_same", "value_one_side", "negation_flipped",
    "opposites", "change_new", "change_both", "correction", "additive", "past", "plan",
    "context", "names_new", "names_old", "names_shared", "same_lead", "length_ratio",
    "rule_contradiction", "rule_duplicate", "rule_possible_contradiction",
    "rule_possible_duplicate", "names_swapped", "change_same_lead", "change_new_name",
    "values_changed_same_lead", "clean", "clean_cosine", "old_value_restated", "we_lead",
    "extra_only_new", "subject_changed", "one_word_swapped", "words_swapped_clean",
    "cosine_80", "cosine_90", "clean_cosine_80",
)  # fmt: skip


def features(
    new: str, old: str, cosine: float | None, rule: str | None, *, subject_changed: bool
) -> list[float]:
    """The feature vector of a pair (``rule`` is the word rules' verdict kind, if any;
    ``subject_changed``, whether the texts differ where they name their subject, is the word
    rules' own reading, passed in so this module needs nothing from them)."""
    a, b = analyse(new), analyse(old)
    shared = len(a.words & b.words)
    union = len(a.words | b.words) or 1
    smaller = min(len(a.words), len(b.words)) or 1
    only_new, only_old = a.words - b.words, b.words - a.words
    opposite = any(frozenset((x, y)) in _ANTONYMS for x in only_new for y in only_old) or (
        a.words != b.words
        and any(frozenset((x, y)) in _ANTONYMS for x in a.words for y in b.words if x != y)
        and not a.additive
    )
    cos = cosine if cosine is not None else 0.0
    names_new, names_old = a.names - b.names, b.names - a.names
    values_changed = bool(a.values and b.values and a.values != b.values)
    same_lead = a.lead == b.lead or "we" in (a.lead, b.lead)
    clean = not (
        names_new or names_old or values_changed or a.negated != b.negated or opposite
    ) and not (a.change and not b.change)
    # The old value named again beside the new one ("from Jira to Linear", "Montreal, not
    # Toronto", "Splunk has been replaced by Loki"): a replacement told in full.
    restated = bool(b.names and b.names <= a.names and names_new) or bool(
        b.values and b.values < a.values
    )
    return [
        1.0,
        cos,
        cos * cos,
        shared / union,
        shared / smaller,
        min(len(only_new), 6) / 6,
        min(len(only_old), 6) / 6,
        float(not only_new or not only_old),
        float(a.words == b.words),
        float(bool(a.values and b.values and a.values != b.values)),
        float(bool(a.values and a.values == b.values)),
        float(bool(a.values) != bool(b.values)),
        float(a.negated != b.negated),
        float(opposite),
        float(a.change and not b.change),
        float(a.change and b.change),
        float(a.correction and not b.correction),
        float(a.additive and not b.additive),
        float(a.past or b.past),
        float(a.plan or b.plan),
        float(a.context != b.context),
        float(bool(a.names - b.names)),
        float(bool(b.names - a.names)),
        float(bool(a.names & b.names)),
        float(a.lead == b.lead),
        min(a.size, b.size) / (max(a.size, b.size) or 1),
        float(rule == "contradiction"),
        float(rule in ("duplicate", "near_duplicate")),
        float(rule == "possible_contradiction"),
        float(rule == "possible_duplicate"),
        float(bool(names_new and names_old)),
        float(a.change and not b.change and same_lead),
        float(a.change and not b.change and bool(names_new or a.values - b.values)),
        float(values_changed and same_lead),
        float(clean),
        float(clean) * cos,
        float(restated and (a.change or a.correction or a.negated)),
        float("we" in (a.lead, b.lead)),
        float(bool(only_new) and not only_old and not a.change),
        float(subject_changed),
        float(len(only_new) == len(only_old) == 1),
        float(bool(only_new and only_old) and clean and shared / union >= 0.5),
        float(cos >= 0.8),
        float(cos >= 0.9),
        float(clean and cos >= 0.8),
    ]


#: Outcomes, in the order of the weights' rows.
OUTCOMES = ("none", "duplicate", "contradiction")

# Fitted by benchmarks/train_pair_model.py: one row of weights per outcome, one column per
# feature; a model without the embedder (its cosine features are 0) and one with it.
_WEIGHTS_KEYWORD: tuple[tuple[float, ...], ...] = (
    (
        -0.140, 0.000, 0.000, -0.852, -0.524, 0.769, -0.402, -0.194, 0.227, 0.653,
        -0.421, 0.897, -0.754, -0.154, -0.681, 0.051, -0.617, 1.310, 0.974, 0.881,
        0.357, 0.172, 0.384, 0.188, 0.331, 1.708, -1.946, -1.084, -0.073, -0.712,
        -0.074, -0.008, -0.278, -0.051, 0.298, 0.000, -0.942, -0.051, 0.652, -0.559,
        0.543, -0.623, 0.000, 0.000, 0.000,
    ),
    (
        0.609, 0.000, 0.000, 0.690, 0.221, -1.676, 0.557, 0.619, -0.814, -0.917,
        0.959, -0.813, 0.054, -0.238, -0.815, 0.022, -0.677, -0.761, -0.334, -0.355,
        0.015, -0.344, -0.282, 0.361, -0.142, -1.229, -1.081, 1.857, -0.422, 0.668,
        -0.446, -0.468, -0.405, -0.225, 0.503, 0.000, 0.250, 0.067, -0.286, 0.708,
        -0.958, 0.594, 0.000, 0.000, 0.000,
    ),
    (
        -0.469, 0.000, 0.000, 0.161, 0.303, 0.907, -0.155, -0.425, 0.587, 0.265,
        -0.538, -0.085, 0.700, 0.392, 1.496, -0.073, 1.294, -0.549, -0.641, -0.526,
        -0.372, 0.172, -0.102, -0.548, -0.189, -0.478, 3.026, -0.773, 0.496, 0.043,
        0.520, 0.477, 0.683, 0.276, -0.802, 0.000, 0.692, -0.015, -0.366, -0.149,
        0.415, 0.029, 0.000, 0.000, 0.000,
    ),
)  # fmt: skip
_WEIGHTS_EMBEDDING: tuple[tuple[float, ...], ...] = (
    (
        -0.276, -0.560, -0.634, -0.332, -0.180, 0.143, -0.100, -0.101, 0.149, 0.598,
        -0.367, 0.832, -0.825, -0.127, -0.708, 0.062, -0.545, 1.420, 1.085, 0.850,
        0.089, 0.401, 0.388, 0.368, 0.466, 1.840, -1.766, -1.113, -0.274, -0.431,
        -0.335, 0.077, 0.096, 0.156, 0.196, 0.029, -0.823, -0.318, 0.895, -0.289,
        0.683, -0.531, -0.423, -0.079, 0.620,
    ),
    (
        0.995, 0.487, 0.631, -0.034, -0.296, -1.370, 0.475, 0.323, -0.643, -0.632,
        0.919, -0.503, 0.320, -0.257, -1.052, 0.036, -0.518, -0.847, -0.156, -0.566,
        0.384, -0.287, -0.373, 0.045, -0.250, -1.488, -1.097, 1.922, -0.366, 0.891,
        -0.193, -0.515, -0.495, -0.194, 0.339, 0.455, 0.063, 0.548, -0.520, 0.431,
        -1.172, 0.305, 0.550, -0.251, -0.073,
    ),
    (
        -0.719, 0.073, 0.003, 0.365, 0.476, 1.227, -0.376, -0.222, 0.495, 0.034,
        -0.552, -0.329, 0.505, 0.384, 1.760, -0.098, 1.062, -0.573, -0.929, -0.284,
        -0.473, -0.114, -0.015, -0.413, -0.217, -0.352, 2.863, -0.809, 0.640, -0.460,
        0.528, 0.438, 0.399, 0.039, -0.535, -0.484, 0.760, -0.230, -0.375, -0.142,
        0.489, 0.226, -0.127, 0.330, -0.546,
    ),
)  # fmt: skip


def predict(
    new: str, old: str, cosine: float | None, rule: str | None, *, subject_changed: bool
) -> tuple[float, ...]:
    """Probabilities of (none, duplicate, contradiction) for a pair."""
    x = features(new, old, cosine, rule, subject_changed=subject_changed)
    return probabilities(x, embedded=cosine is not None)


def probabilities(x: Sequence[float], *, embedded: bool) -> tuple[float, ...]:
    """Probabilities of (none, duplicate, contradiction) for one feature row (``embedded``:
    it has the embedder's cosine)."""
    weights = _WEIGHTS_EMBEDDING if embedded else _WEIGHTS_KEYWORD
    return _softmax([sum(w * v for w, v in zip(row, x, strict=True)) for row in weights])


def _softmax(scores: Sequence[float]) -> tuple[float, ...]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return tuple(e / total for e in exps)


#: From this many rows :func:`probabilities_many` scores them in one numpy pass (fewer are
#: scored in Python, which a one-shot process does without importing numpy).
_NUMPY_ROWS = 16


def probabilities_many(
    rows: Sequence[Sequence[float]], *, embedded: bool
) -> list[tuple[float, ...]]:
    """:func:`probabilities` of many feature rows, bit for bit: the weighted sums in one
    numpy pass over the batch's feature matrix.

    Each sum is accumulated feature by feature in the order Python's ``sum`` adds them
    (``cumsum``, not numpy's pairwise ``sum``), and the exponentials are ``math.exp``'s, so
    a probability at a threshold falls on the same side of it either way.
    """
    if len(rows) < _NUMPY_ROWS:
        return [probabilities(x, embedded=embedded) for x in rows]
    import numpy as np

    weights = np.array(_WEIGHTS_EMBEDDING if embedded else _WEIGHTS_KEYWORD, dtype=np.float64)
    matrix = np.array(rows, dtype=np.float64)
    # (rows, outcomes, features): each product as Python forms it, then summed in order.
    terms = matrix[:, None, :] * weights[None, :, :]
    scores = np.cumsum(terms, axis=2)[:, :, -1]
    return [_softmax(row) for row in scores.tolist()]
