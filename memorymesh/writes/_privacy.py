"""The privacy guard: find secrets in text before it is stored, and redact them.

Detection is a set of patterns for credentials whose *shape* is known (provider API keys with
their fixed prefixes, JWTs, PEM private-key blocks, passwords inside URLs and connection
strings), plus ``password=`` / ``token=`` / ``secret=`` style assignments whose *context* says
the value is a credential. There is deliberately no generic "high-entropy string" rule: hashes,
UUIDs, base64 images and ids are everywhere in an engineer's notes, and redacting them would
destroy useful memories. ``tests/test_privacy.py`` measures precision and recall on a corpus of
realistic secrets and such look-alikes.

A found secret is replaced by ``[REDACTED:<kind>]``. For assignments, URLs and connection
strings only the secret part is replaced, so ``postgres://app:[REDACTED:password_in_url]@db/x``
still says which database was meant.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._errors import InvalidInputError, SecretDetectedError
from ..stores.base import UNIQUE_METADATA_KEYS

if TYPE_CHECKING:
    from .._models import Memory

__all__ = [
    "PRIVACY_MODES",
    "PrivacyGuard",
    "PrivacyMode",
    "SecretMatch",
    "find_secrets",
    "redact",
]

PrivacyMode = Literal["redact", "reject", "allow"]
PRIVACY_MODES: frozenset[str] = frozenset({"redact", "reject", "allow"})

_MARK = "[REDACTED:{kind}]"
# Text that is already a redaction marker must not be matched again (recall re-checks stored
# text, and `token=[REDACTED:token]` would otherwise nest).
_ALREADY = re.compile(r"\[REDACTED:[a-z0-9_]+\]")


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """One secret found in a text: its kind and the span that gets replaced."""

    kind: str
    start: int
    end: int


Validator = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    #: Which group is the secret (0 = the whole match); only that span is redacted.
    group: int | str = 0
    #: Higher wins when two detectors claim overlapping text.
    priority: int = 50
    validate: Validator | None = None
    #: Lower-case substrings one of which every match contains: a text with none of them
    #: skips the regex (most memories contain no secret, and this keeps writes fast).
    triggers: tuple[str, ...] = ()


def _mixed(value: str) -> bool:
    """Random-looking: has letters and digits (real keys do; words and paths rarely)."""
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _mixed_case_and_digit(value: str) -> bool:
    return (
        any(c.isdigit() for c in value)
        and any(c.islower() for c in value)
        and any(c.isupper() for c in value)
    )


# Placeholders and code that sit where a secret would, but are not one.
_PLACEHOLDER = re.compile(
    r"""(?ix)
    ^(?: none | null | nil | true | false | undefined | empty | required | optional
       | str | string | bytes | int | secretstr | any | object | redacted
       | x+ | \*+ | \.+ | -+ | _+ | \?+ | <[^>]*> | \$\{[^}]*\}? | \$[A-Z_][A-Z0-9_]* | %\(\w+\)s
       | \{\{.*\}\} | \{[^}]*\}? | your[_-][\w-]+ | example\w* | changeme | placeholder
       | dummy | fake | test | sample | xxx\w* | [\w-]*(?:\.\.\.|…) | env | getenv | secret
       | password | token | os | self | cls | args | kwargs | config | settings | pass | pw | pwd
       | user | username | \#[0-9a-f]{3,8} | 0x[0-9a-f]{1,16} | \d+(?:\.\d+)? )$
    """
)
_CODE_VALUE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+$|[()\[\]]|^[A-Za-z_]\w*\($")
_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")
# A dotted import path, optionally with `:attr` (entry points, plugin registries).
_IMPORT_PATH = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_]\w*)?$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
_TYPE_NAME = re.compile(r"^[A-Z][a-z]+[A-Za-z]*$")
_KEYWORDS_IN_VALUES = ("pass", "token", "secret", "key", "auth", "cred")


def _assigned_value(value: str, key: str, quoted: bool, separator: str) -> bool:
    """Whether the value of ``key = value`` looks like a literal credential, not code."""
    stripped = value.strip()
    if len(stripped) < 4 or _PLACEHOLDER.match(stripped) or _ALREADY.fullmatch(stripped):
        return False
    if stripped.isdigit() and len(stripped) < 6:
        return False  # `token_ttl=3600`-like numbers and small counts
    if not any(c.isalnum() for c in stripped):
        return False  # a mask: `password = ":****"`
    lowered = stripped.lower()
    if _IDENTIFIER.match(stripped) and any(word in lowered for word in _KEYWORDS_IN_VALUES):
        return False  # `password=password_hash`, `"challengePassword"`: names, not values
    # In an env file (`DISCORD_TOKEN=MTk4.Gx7.abc123...`) a long random-looking value is a
    # value even when dots make it look like an attribute or an import path.
    env_literal = (
        _ENV_NAME.match(key.strip("-")) is not None
        and len(stripped) >= 16
        and _mixed_case_and_digit(stripped)
    )
    if _IMPORT_PATH.match(stripped) and not env_literal:
        return False  # `"pwd": "IPython.core.magics.osm:OSMagics"`
    if not quoted:
        if _CODE_VALUE.search(stripped) and not env_literal:
            return False  # attribute access or a call: `token=self.token`, `os.getenv(...)`
        if _ENV_NAME.match(stripped) and "_" in stripped:
            return False  # a constant: `Token: FG_DEFAULT`
        if stripped.replace("_", "").isalpha() and not _ENV_NAME.match(key.strip("-")):
            # In code, a bare word after `token =` is a variable (`token = nextchar`); only in
            # env files (`DB_PASSWORD=hunter`) is an unquoted word the literal value.
            return False
        if separator == ":" and _TYPE_NAME.match(stripped):
            return False  # an annotation: `PLAIN_PASSWORD: SocketOption = ...`
        if separator == ":" and not (any(not c.isalpha() for c in stripped) or len(stripped) >= 12):
            return False  # prose: "the token: expired", "secret: sauce"
    return True


def _assignment_kind(key: str) -> str:
    lowered = key.lower()
    if "pass" in lowered or lowered.endswith("pwd"):
        return "password"
    if "token" in lowered:
        return "token"
    return "secret"


_KEY_WORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|"
    r"secret[_-]?key|private[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|"
    r"auth[_-]?key|client[_-]?secret|credentials?"
)
# `<key> = value`, `<key>: value`, `"<key>": "value"`, `<key> => value`. The key must *end*
# with a credential word, so `max_tokens=100` or `tokenizer=...` never match. The regex is
# anchored on the word itself (fast); the rest of the key is read backwards in Python.
_ASSIGNMENT = re.compile(
    rf"""(?ix)
    (?:{_KEY_WORDS})["']?
    \s*(?P<sep>:=|=>|==|=|:)\s*
    (?:
        (?P<q>["'])(?P<qval>[^"'\n]{{1,500}})(?P=q)
      | (?P<val>[^\s"',;&)}}\]<>]{{1,500}})
    )
    """
)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_ASSIGNMENT_TRIGGERS = ("pass", "pwd", "secret", "token", "key", "credential")


# The same anchor, case-sensitive, for scanning lower-cased text: many times faster than an
# IGNORECASE alternation, which the regex engine cannot search for by prefix.
_ASSIGNMENT_ANCHOR = re.compile(rf"(?:{_KEY_WORDS})[\"']?\s*(?::=|=>|==|=|:)")


def _assignment_candidates(text: str) -> Iterable[re.Match[str]]:
    lowered = text.lower()
    if len(lowered) != len(text):  # rare characters whose lower case is longer
        yield from _ASSIGNMENT.finditer(text)
        return
    for anchor in _ASSIGNMENT_ANCHOR.finditer(lowered):
        m = _ASSIGNMENT.match(text, anchor.start())
        if m is not None:
            yield m


def _assignment_matches(text: str) -> Iterable[SecretMatch]:
    for m in _assignment_candidates(text):
        if m.group("sep") == "==":
            continue  # a comparison in code, not a value
        if m.group("sep") == ":" and text[m.start("sep") - 1].isspace():
            continue  # prose ("Pass :meth:`peek`"); `key: value` has no space before the colon
        start = m.start()
        while start > 0 and text[start - 1] in _KEY_CHARS:
            start -= 1
        key = text[start : m.start("sep")].strip().strip("\"'")
        quoted = m.group("qval") is not None
        group = "qval" if quoted else "val"
        value = m.group(group)
        if _assigned_value(value, key, quoted, m.group("sep")):
            yield SecretMatch(_assignment_kind(key), m.start(group), m.end(group))


_DETECTORS: tuple[_Detector, ...] = (
    _Detector(
        "private_key",
        re.compile(
            # A header alone (`b"-----BEGIN ... PRIVATE KEY-----"` in a parser) is not a key:
            # after optional `Proc-Type:`-style lines, the base64 body must follow.
            # Line breaks may be written `\n` (a key inside JSON: a GCP service account).
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:\s|\\n)*"
            r"(?:[\w-]+:[^\n]*\n\s*)*[A-Za-z0-9+/=]{40}"
            r"[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)"
        ),
        priority=100,
        triggers=("private key",),
    ),
    _Detector(
        "anthropic_api_key",
        re.compile(r"(?<![\w-])sk-ant-(?:api|admin|oat|ort)\d{2}-[A-Za-z0-9_-]{20,}"),
        priority=90,
        triggers=("sk-ant-",),
    ),
    _Detector(
        "openai_api_key",
        re.compile(
            r"(?<![\w-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}"
            r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}|[A-Za-z0-9]{32,})(?![\w-])"
        ),
        priority=85,
        validate=_mixed,
        triggers=("sk-",),
    ),
    _Detector(
        "google_api_key",
        re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}(?![\w-])"),
        priority=90,
        triggers=("aiza",),
    ),
    _Detector(
        "google_oauth_token",
        re.compile(r"(?<![\w-])ya29\.[0-9A-Za-z_-]{20,}"),
        priority=90,
        validate=_mixed,
        triggers=("ya29.",),
    ),
    _Detector(
        "google_client_secret",
        re.compile(r"(?<![\w-])GOCSPX-[A-Za-z0-9_-]{28}(?![\w-])"),
        priority=90,
        triggers=("gocspx-",),
    ),
    _Detector(
        "aws_access_key_id",
        re.compile(
            r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Za-z0-9])"
        ),
        priority=90,
        triggers=("akia", "asia", "abia", "acca", "a3t"),
    ),
    # A 40-character AWS secret has no prefix: only its context identifies it.
    _Detector(
        "aws_secret_access_key",
        re.compile(
            r"(?i:aws|secret[_ -]?access[_ -]?key|secretaccesskey)[^\n]{0,40}?"
            r"(?<![A-Za-z0-9/+])(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        group="secret",
        priority=95,
        validate=_mixed_case_and_digit,
        triggers=("aws", "secret"),
    ),
    _Detector(
        "github_token",
        re.compile(r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})"),
        priority=90,
        validate=_mixed,
        triggers=("gh", "github_pat_"),
    ),
    _Detector(
        "gitlab_token",
        # Personal, deploy, runner, trigger, feed, CI-build, incoming-mail and SCIM tokens.
        re.compile(r"(?<![\w-])gl(?:pat|dt|rt|ptt|ft|cbt|imt|soat)-[A-Za-z0-9_-]{20,}"),
        priority=90,
        validate=_mixed,
        triggers=("glpat-", "gldt-", "glrt-", "glptt-", "glft-", "glcbt-", "glimt-", "glsoat-"),
    ),
    _Detector(
        "slack_token",
        re.compile(r"(?<![\w-])xox[abposr]-(?:\d+-)+[A-Za-z0-9-]{10,}"),
        priority=90,
        triggers=("xox",),
    ),
    _Detector(
        "slack_app_token",
        re.compile(r"(?<![\w-])xapp-\d-[A-Z0-9]{6,}-\d{6,}-[A-Za-z0-9]{32,}"),
        priority=90,
        triggers=("xapp-",),
    ),
    _Detector(
        "twilio_api_key",
        re.compile(r"(?<![\w-])SK[0-9a-f]{32}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("sk",),
    ),
    _Detector(
        "mailchimp_api_key",
        re.compile(r"(?<![\w-])[0-9a-f]{32}-us\d{1,2}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("-us",),
    ),
    _Detector(
        "square_token",
        re.compile(r"(?<![\w-])(?:sq0atp|sq0csp|EAAA)[A-Za-z0-9_-]{22,60}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("sq0atp", "sq0csp", "eaaa"),
    ),
    _Detector(
        "mailgun_api_key",
        re.compile(r"(?<![\w-])key-[0-9a-f]{32}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("key-",),
    ),
    _Detector(
        "telegram_bot_token",
        re.compile(r"(?<![\w:])\d{8,10}:AA[A-Za-z0-9_-]{33}(?![\w-])"),
        priority=90,
        triggers=(":aa",),
    ),
    _Detector(
        "digitalocean_token",
        re.compile(r"(?<![\w-])do[opr]_v1_[0-9a-f]{64}(?![\w-])"),
        priority=90,
        triggers=("_v1_",),
    ),
    # Azure's API keys (OpenAI, Cognitive Services, API Management) are 32 hex digits with
    # no prefix: like the AWS secret, only a nearby name identifies one.
    _Detector(
        "azure_api_key",
        re.compile(
            r"(?i:azure|api-key|ocp-apim-subscription-key|cognitive)[^\n]{0,40}?"
            r"(?<![0-9A-Fa-f])(?P<secret>[0-9a-f]{32})(?![0-9A-Za-z])"
        ),
        group="secret",
        priority=88,
        validate=_mixed,
        triggers=("azure", "api-key", "subscription-key", "cognitive"),
    ),
    # A shared access signature in a URL: `...?sv=...&sig=<signature>`.
    _Detector(
        "azure_sas_signature",
        re.compile(r"[?&]sig=(?P<secret>[A-Za-z0-9%+/=]{20,})"),
        group="secret",
        priority=90,
        triggers=("sig=",),
    ),
    # Passwords given to a command line: `mysql -pSECRET`, `docker login -p SECRET`, and the
    # `.netrc` form `login NAME password SECRET`, none of which has an `=` or a `:`.
    _Detector(
        "password",
        re.compile(
            r"\bmysql(?:dump|admin|sh)?\b[^\n|;&]{0,80}?\s-p(?P<secret>[^\s'\"-][^\s'\"]{3,})"
        ),
        group="secret",
        priority=60,
        validate=lambda value: not _PLACEHOLDER.match(value),
        triggers=("mysql",),
    ),
    _Detector(
        "password",
        re.compile(
            r"\b(?:docker|podman|buildah|helm|oras|skopeo)\s+(?:registry\s+)?login\b"
            r"[^\n|;&]{0,80}?\s(?:-p|--password)(?:\s+|=)(?P<secret>[^\s'\"-][^\s'\"]{3,})"
        ),
        group="secret",
        priority=60,
        validate=lambda value: not _PLACEHOLDER.match(value),
        triggers=("login",),
    ),
    _Detector(
        "password",
        re.compile(r"\blogin\s+\S{1,100}\s+password\s+(?P<secret>\S{4,200})"),
        group="secret",
        priority=60,
        validate=lambda value: not _PLACEHOLDER.match(value),
        triggers=("password",),
    ),
    _Detector(
        "slack_webhook",
        re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9_/]{20,}"),
        priority=90,
        triggers=("hooks.slack.com",),
    ),
    _Detector(
        "stripe_secret_key",
        re.compile(r"(?<![\w-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        priority=90,
        validate=_mixed,
        triggers=("_live_", "_test_"),
    ),
    _Detector(
        "stripe_webhook_secret",
        re.compile(r"(?<![\w-])whsec_[A-Za-z0-9]{24,}"),
        priority=90,
        validate=_mixed,
        triggers=("whsec_",),
    ),
    _Detector(
        "sendgrid_api_key",
        re.compile(r"(?<![\w-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![\w-])"),
        priority=90,
        triggers=("sg.",),
    ),
    _Detector(
        "huggingface_token",
        re.compile(r"(?<![\w-])hf_[A-Za-z0-9]{34,}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("hf_",),
    ),
    _Detector(
        "npm_token",
        re.compile(r"(?<![\w-])npm_[A-Za-z0-9]{36}(?![\w-])"),
        priority=90,
        validate=_mixed,
        triggers=("npm_",),
    ),
    _Detector(
        "pypi_token",
        re.compile(r"(?<![\w-])pypi-AgE[A-Za-z0-9_-]{50,}"),
        priority=90,
        triggers=("pypi-",),
    ),
    _Detector(
        "jwt",
        re.compile(
            r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{10,}(?![\w-])"
        ),
        priority=80,
        triggers=("eyj",),
    ),
    _Detector(
        "bearer_token",
        re.compile(r"(?i:\bbearer)\s+(?P<token>[A-Za-z0-9._~+/=-]{16,})"),
        group="token",
        priority=70,
        validate=_mixed,
        triggers=("bearer",),
    ),
    _Detector(
        "basic_auth",
        re.compile(r"(?i:\bauthorization:\s*basic)\s+(?P<token>[A-Za-z0-9+/]{8,}={0,2})"),
        group="token",
        priority=70,
        triggers=("basic",),
    ),
    # scheme://user:password@host — only the password is replaced.
    _Detector(
        "password_in_url",
        re.compile(
            r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/?#@\[\]]*:"
            r"(?P<password>[^\s/?#@]{1,200})@[^\s/?#]"
        ),
        group="password",
        priority=75,
        validate=lambda value: not _PLACEHOLDER.match(value),
        triggers=("://",),
    ),
    # ADO.NET / ODBC / Azure style `Key=Value;` connection strings.
    _Detector(
        "connection_string",
        re.compile(
            r"(?i:(?:server|data source|host|endpoint|accountname|hostname|uid|user id)"
            r"\s*=[^;\n]{1,200};[^\n]{0,300}?"  # bounded: no quadratic scans on long lines
            r"(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=\s*)"
            r"(?P<secret>[^;\s\"']+)"
        ),
        group="secret",
        priority=76,
        validate=lambda value: not _PLACEHOLDER.match(value),
        triggers=("password", "pwd", "accountkey", "sharedaccess"),
    ),
)


_ALL_TRIGGERS = sorted(
    {t for d in _DETECTORS for t in d.triggers} | set(_ASSIGNMENT_TRIGGERS), key=len, reverse=True
)


def _trie_pattern(words: Iterable[str]) -> str:
    """One regex for ``words`` with their common prefixes shared ("pass(?:word)?").

    It matches what the alternation of ``words`` longest first matches, at the same
    places: each branch starts with its own character, so at most one is tried further,
    and an optional tail is tried before stopping where a shorter word ends. Python's
    ``re`` tries an alternation's branches one by one, so the plain alternation of 60
    words cost ~12 µs a 100-character text, and recall scans each memory it returns.
    """
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branch(node: dict[str, Any]) -> str:
        tails = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not tails:
            return ""
        body = tails[0] if len(tails) == 1 else "(?:" + "|".join(tails) + ")"
        return f"(?:{body})?" if "" in node else body

    return branch(root)


_TRIGGER = re.compile(_trie_pattern(_ALL_TRIGGERS))


def _candidates(text: str) -> Iterable[tuple[int, SecretMatch]]:
    # One scan for every trigger word; a detector runs only if one of its own was seen.
    seen = set(_TRIGGER.findall(text.lower()))
    if not seen:
        return
    for detector in _DETECTORS:
        if not any(t in word for word in seen for t in detector.triggers):
            continue
        for m in detector.pattern.finditer(text):
            value = m.group(detector.group)
            if value is None or _ALREADY.search(value):
                continue
            if detector.validate is not None and not detector.validate(value):
                continue
            span = m.span(detector.group)
            yield detector.priority, SecretMatch(detector.kind, *span)
    if any(t in word for word in seen for t in _ASSIGNMENT_TRIGGERS):
        for match in _assignment_matches(text):
            yield 40, match


def find_secrets(text: str) -> list[SecretMatch]:
    """Every secret in ``text``, in order, without overlaps.

    When detectors disagree about the same characters, the more specific one wins: a GitHub
    token assigned to ``token=`` is reported as ``github_token``, not as a generic token.
    """
    if len(text) < 8:
        return []
    ranked = sorted(_candidates(text), key=lambda c: (-c[0], -(c[1].end - c[1].start)))
    chosen: list[SecretMatch] = []
    # One byte per character marks what a chosen match covers: checking a candidate costs its
    # own length, not the number chosen so far (comparing with each chosen match made text
    # like `"pass: " * N` quadratic). Each detector's matches do not overlap one another, so
    # the total work stays linear in the text's length.
    taken = bytearray(len(text))
    for _, match in ranked:
        if taken.find(1, match.start, match.end) == -1:
            taken[match.start : match.end] = b"\x01" * (match.end - match.start)
            chosen.append(match)
    return sorted(chosen, key=lambda m: m.start)


def redact(text: str) -> tuple[str, tuple[str, ...]]:
    """``text`` with every secret replaced by ``[REDACTED:<kind>]``, and the kinds found."""
    matches = find_secrets(text)
    if not matches:
        return text, ()
    parts: list[str] = []
    last = 0
    for match in matches:
        parts.append(text[last : match.start])
        parts.append(_MARK.format(kind=match.kind))
        last = match.end
    parts.append(text[last:])
    return "".join(parts), tuple(dict.fromkeys(m.kind for m in matches))


def _walk(value: Any, found: list[str]) -> Any:
    if isinstance(value, str):
        cleaned, kinds = redact(value)
        found.extend(kinds)
        return cleaned
    if isinstance(value, Mapping):
        return _walk_mapping(value, found)
    if isinstance(value, list | tuple):
        return [_walk(item, found) for item in value]
    return value


def _walk_mapping(mapping: Mapping[Any, Any], found: list[str]) -> dict[Any, Any]:
    # Keys are stored as they are given, so a key can carry a secret as well as a value
    # (`{"ghp_...": "ci"}`): they are redacted too. Two keys redacted to the same marker get
    # a numbered suffix rather than one silently overwriting the other.
    out: dict[Any, Any] = {}
    for key, item in mapping.items():
        if isinstance(key, str):
            cleaned, kinds = redact(key)
            found.extend(kinds)
            if kinds:
                base, n = cleaned, 2
                while cleaned in out or cleaned in mapping:
                    cleaned, n = f"{base}#{n}", n + 1
            key = cleaned
        out[key] = _walk(item, found)
    return out


def _walk_metadata(metadata: Mapping[str, Any], found: list[str]) -> dict[str, Any]:
    # A keyed item's namespace and key are identifiers: rewriting one would make the item
    # unreachable under the name it was stored with, so they are checked, never rewritten
    # (`_identifier_kinds`), and everything else is walked.
    kept = {key: value for key, value in metadata.items() if key in UNIQUE_METADATA_KEYS}
    rest = {key: value for key, value in metadata.items() if key not in UNIQUE_METADATA_KEYS}
    return {**kept, **_walk_mapping(rest, found)}


def _identifier_kinds(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """Kinds of secret inside a keyed item's namespace or key (which cannot be redacted)."""
    found: list[str] = []
    for key in UNIQUE_METADATA_KEYS:
        if key in metadata:
            _walk(metadata[key], found)
    return tuple(dict.fromkeys(found))


class PrivacyGuard:
    """Applies the mesh's privacy mode to everything written and recalled.

    Args:
        mode: ``"redact"`` replaces secrets with ``[REDACTED:<kind>]``; ``"reject"`` raises
            :class:`~memorymesh.SecretDetectedError`; ``"allow"`` stores text as given.
    """

    def __init__(self, mode: PrivacyMode = "redact") -> None:
        if mode not in PRIVACY_MODES:
            raise InvalidInputError(
                f"unknown privacy mode {mode!r}; use one of {sorted(PRIVACY_MODES)}"
            )
        self.mode: PrivacyMode = mode

    def _decide(self, kinds: Iterable[str], where: str) -> tuple[str, ...]:
        unique = tuple(dict.fromkeys(kinds))
        if unique and self.mode == "reject":
            # Never echo the secret itself: the message names only its kind and place.
            raise SecretDetectedError(
                f"{where} contains a secret ({', '.join(unique)}); it was not stored. "
                "Remove it, or open the mesh with privacy='redact' to store it redacted",
                kinds=unique,
            )
        return unique

    def check_text(self, text: str, *, where: str = "text") -> tuple[str, tuple[str, ...]]:
        """The text to store and the kinds of secret redacted from it.

        Raises:
            SecretDetectedError: a secret was found and the mode is ``"reject"``.
        """
        if self.mode == "allow":
            return text, ()
        cleaned, kinds = redact(text)
        return cleaned, self._decide(kinds, where)

    def check_metadata(self, metadata: Any) -> tuple[Any, tuple[str, ...]]:
        """``metadata`` with every string value (at any depth) checked like text.

        Keys are checked too, at every depth. The values of ``UNIQUE_METADATA_KEYS`` (a
        LangGraph item's namespace and key) are identifiers: a secret in one is refused, never
        rewritten. Anything that is not a mapping is returned unchanged for the mesh to reject.

        Raises:
            SecretDetectedError: a secret was found and the mode is ``"reject"``, or a secret
                is inside a keyed item's namespace or key (whatever the mode but ``"allow"``).
        """
        if self.mode == "allow" or not isinstance(metadata, Mapping):
            return metadata, ()
        identifier = _identifier_kinds(metadata)
        if identifier:
            # Redacting an identifier would store the item under another name; storing it
            # would put the secret on disk. Neither is acceptable, so the write is refused.
            raise SecretDetectedError(
                f"a keyed item's namespace or key contains a secret ({', '.join(identifier)}); "
                "it was not stored. Choose a name that is not a credential",
                kinds=identifier,
            )
        found: list[str] = []
        cleaned = _walk_metadata(metadata, found)
        return cleaned, self._decide(found, "metadata")

    def check_label(self, value: str | None, *, where: str) -> tuple[str | None, tuple[str, ...]]:
        """A ``session_id``, ``source`` or ``agent`` checked like text (None passes).

        Labels are stored in clear even in an encrypted store (filters read them), so a
        secret pasted into one would otherwise reach the file as it is.

        Raises:
            SecretDetectedError: a secret was found and the mode is ``"reject"``.
        """
        if value is None or self.mode == "allow":
            return value, ()
        cleaned, kinds = redact(value)
        return cleaned, self._decide(kinds, where)

    def scrub_memory(self, memory: Memory) -> dict[str, Any]:
        """The ``text``/``metadata`` updates that redact a memory on its way *out* (recall).

        Memories stored before the guard existed, or with ``privacy="allow"`` by another
        process, may hold secrets: they are not handed to a model. Never raises, whatever the
        mode: reading must not fail because an old memory holds a secret.
        """
        if self.mode == "allow":
            return {}
        return _scrubbed(
            memory.text, memory.metadata, (memory.session_id, memory.source, memory.agent)
        )

    def scrub_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`scrub_memory` of the memory with these fields (recall builds its results
        from the fields, once)."""
        if self.mode == "allow":
            return {}
        return _scrubbed(
            fields["text"],
            fields["metadata"],
            (fields["session_id"], fields["source"], fields["agent"]),
        )


def _scrubbed(
    text: str, metadata: Mapping[str, Any], labels: tuple[str | None, str | None, str | None]
) -> dict[str, Any]:
    update: dict[str, Any] = {}
    cleaned = redact(text)[0]
    if cleaned != text:
        update["text"] = cleaned
    found: list[str] = []
    walked = _walk_metadata(metadata, found)
    if found:
        update["metadata"] = walked
    for name, label in zip(("session_id", "source", "agent"), labels, strict=True):
        if isinstance(label, str) and redact(label)[1]:
            update[name] = redact(label)[0]
    return update
