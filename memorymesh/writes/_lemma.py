"""A small rule-based lemmatiser and word normaliser for conflict detection.

Conflict detection compares what two memories say word by word, so the same word must look
the same whatever its form: "use", "uses", "using" and "used" meet, "left" meets "leave",
"two" meets "2", "k8s" meets "Kubernetes" and "pull request" meets "PR". The rules are
deliberately few (irregular forms, a handful of suffixes, number words, common abbreviations
of the things agents remember); they fold forms together, they do not need to produce
dictionary words ("move" becomes ``mov``), only the same key for every form of one word.
"""

from __future__ import annotations

import functools
import re

__all__ = ["NUMBER_WORDS", "lemma", "normalise_phrases", "normalise_word"]

# Irregular forms, mapped to the base form the suffix rules then fold like any other word.
_IRREGULAR_TABLE = """
left:leave went:go gone:go bought:buy sold:sell quit:quit ran:run wrote:write written:write
took:take taken:take made:make gave:give given:give got:get gotten:get began:begin
begun:begin led:lead met:meet spoke:speak spoken:speak taught:teach thought:think
brought:bring built:build chose:choose chosen:choose drove:drive driven:drive flew:fly
flown:fly grew:grow grown:grow knew:know known:know saw:see seen:see found:find held:hold
kept:keep lost:lose paid:pay said:say sent:send spent:spend stood:stand told:tell felt:feel
fell:fall broke:break broken:break ate:eat eaten:eat wore:wear worn:wear sat:sit slept:sleep
swam:swim understood:understand became:become forgot:forget forgotten:forget read:read
used:use children:child kids:child kid:child people:person men:man women:woman
"""
_IRREGULAR: dict[str, str] = dict(pair.split(":") for pair in _IRREGULAR_TABLE.split())

# Abbreviations and variant spellings of one thing, folded to one form.
_SYNONYM_TABLE = """
postgres:postgresql pg:postgresql psql:postgresql k8s:kubernetes js:javascript
ts:typescript py:python db:database dbs:database repo:repository repos:repository
prod:production env:environment envs:environment config:configuration configs:configuration
docs:documentation doc:documentation auth:authentication app:application apps:application
infra:infrastructure pr:pr prs:pr mr:mr colour:color favourite:favorite favour:favor
behaviour:behavior organisation:organization centre:center licence:license grey:gray
km:kilometre kms:kilometre gb:gb mb:mb tb:tb dept:department mgr:manager
"""
_SYNONYMS: dict[str, str] = dict(pair.split(":") for pair in _SYNONYM_TABLE.split())
# Units that are also words of their own ("HR" is human resources, "min" a minimum, "ms" a
# title): a unit only right after a number ("2 hrs", "30 min").
_UNIT_TABLE = """
mins:minute min:minute secs:second sec:second hrs:hour hr:hour yrs:year ms:millisecond
"""
_UNITS: dict[str, str] = dict(pair.split(":") for pair in _UNIT_TABLE.split())

#: Phrases that name one thing, folded to one word before tokenising.
_PHRASES = {
    "pull request": "pr",
    "pull requests": "pr",
    "merge request": "mr",
    "merge requests": "mr",
    "amazon web services": "aws",
    "google cloud platform": "gcp",
    "continuous integration": "ci",
    "machine learning": "ml",
    "human resources": "hr",
    "github actions": "github-actions",
    "new york": "new-york",
    "a couple of": "2",
    "a dozen": "12",
    "half an hour": "30 minutes",
    "an hour": "1 hour",
}
_PHRASE = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in _PHRASES) + r")\b")

_NUMBER_TABLE = """
zero:0 two:2 three:3 four:4 five:5 six:6 seven:7 eight:8 nine:9 ten:10 eleven:11
twelve:12 thirteen:13 fourteen:14 fifteen:15 sixteen:16 seventeen:17 eighteen:18
nineteen:19 twenty:20 thirty:30 forty:40 fifty:50 sixty:60 seventy:70 eighty:80 ninety:90
hundred:100 thousand:1000 once:1 twice:2 first:1st second:2nd third:3rd
"""
#: Number words and their digits ("one" is handled apart: it is often a pronoun).
NUMBER_WORDS: dict[str, str] = dict(pair.split(":") for pair in _NUMBER_TABLE.split())
# "second" is also a unit of time: only its ordinal use before a noun is a number, and the
# words around it decide; keep it as a word.
del NUMBER_WORDS["second"]


def normalise_phrases(folded: str) -> str:
    """``folded`` (case-folded text) with multi-word names replaced by one word."""
    if " " not in folded:
        return folded
    return _PHRASE.sub(lambda m: _PHRASES[m.group(0)], folded)


def normalise_word(word: str, following: str, previous: str = "") -> str:
    """A case-folded word as conflict detection compares it: digits for number words, one
    spelling for abbreviations and variants. ``following`` is the next word ("one" is a
    number only before a word that is not a function word: "one cat", not "one of");
    ``previous`` the word before (an abbreviated unit is one only after a number: "2 hrs",
    not "works in HR")."""
    if word == "one":
        return "1" if following and following not in _NOT_AFTER_ONE else word
    number = NUMBER_WORDS.get(word)
    if number is not None:
        return number
    if word[:1].isdigit():
        return _plain_number(word)
    unit = _UNITS.get(word)
    if unit is not None:
        return unit if previous[-1:].isdigit() or previous in NUMBER_WORDS else word
    return _SYNONYMS.get(word, word)


_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_KILO = re.compile(r"(\d+(?:\.\d+)?)k")
_CLOCK = re.compile(r"(\d{1,2})(?::(\d{2}))?(am|pm)")


def _plain_number(word: str) -> str:
    """One spelling of a number: "1,800" is "1800", "2k" is "2000", "2pm" is "14:00"."""
    if _THOUSANDS.fullmatch(word):
        return word.replace(",", "")
    kilo = _KILO.fullmatch(word)
    if kilo is not None:
        return f"{float(kilo.group(1)) * 1000:g}"
    clock = _CLOCK.fullmatch(word)
    if clock is not None:
        hour = int(clock.group(1)) % 12 + (12 if clock.group(3) == "pm" else 0)
        return f"{hour}:{clock.group(2) or '00'}"
    return word


_NOT_AFTER_ONE = frozenset(
    {"of", "is", "was", "and", "or", "that", "which", "who", "more", "day", "another", "by",
     "to", "in", "on", "at", "for", "with", "the", "a", "thing", "way", "time"}
)  # fmt: skip

_DOUBLED = frozenset("bgmnprt")


@functools.lru_cache(maxsize=65_536)
def lemma(word: str) -> str:
    """The key every form of ``word`` shares ("moves", "moved", "moving" → ``mov``).

    Words with digits are kept as they are; a final "e" goes ("use" → ``us``, like "used").
    """
    base = _IRREGULAR.get(word)
    if base is not None:
        word = base
    if not word.isalpha():
        return word
    if len(word) <= 3:
        short = len(word) == 3 and word.endswith("e") and word[:-1] not in _FUNCTION_WORDS
        return word[:-1] if short else word
    stem = word
    if len(word) > 4 and word.endswith(("ies", "ied")):
        return word[:-3] + "y"
    if len(word) >= 5 and word.endswith("ing"):
        stem = _undouble(word[:-3])
    elif len(word) >= 5 and word.endswith("ed") and not word.endswith("eed"):
        stem = _undouble(word[:-2])
    elif len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        stem = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        stem = word[:-1]
    if len(stem) >= 3 and stem.endswith("e"):
        stem = stem[:-1]
    return stem + "e" if stem in _FUNCTION_WORDS else stem


#: Words a stem must not become: "note" is not "not", "done" not "don", "ones" not "on" (a
#: negation or a function word would then be taken for what it is).
_FUNCTION_WORDS = frozenset(
    {"not", "no", "don", "on", "in", "at", "to", "of", "her", "his", "our", "an", "or"}
)


def _undouble(stem: str) -> str:
    # "stopped" → "stop", "running" → "run"; "called", "passed", "added" keep theirs.
    if len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] in _DOUBLED:
        return stem[:-1]
    return stem
