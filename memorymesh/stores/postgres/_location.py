"""A ``postgresql://`` store location: the connection URL, MemoryMesh's own parameters, label.

MemoryMesh reads three query parameters of its own and strips them before connecting (libpq
would refuse them): ``schema`` (where its tables live, default ``memorymesh``), ``project``
and ``owner`` (the tenant keys, for front ends that only take a URL, such as ``--db``).
Everything else is passed to libpq untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..._errors import InvalidInputError

__all__ = ["DEFAULT_SCHEMA", "PostgresLocation", "parse_location"]

DEFAULT_SCHEMA = "memorymesh"
# An unquoted PostgreSQL identifier: the schema name is spliced into SQL, so it must match.
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_OWN_PARAMETERS = ("schema", "project", "owner")


@dataclass(frozen=True, slots=True)
class PostgresLocation:
    #: What psycopg connects with (MemoryMesh's own parameters removed).
    conninfo: str
    #: The URL for people: no password, no MemoryMesh parameters.
    label: str
    schema: str
    project: str | None
    owner: str | None


def parse_location(url: str) -> PostgresLocation:
    """Split a store URL into what libpq takes and what MemoryMesh reads.

    Raises:
        InvalidInputError: a ``schema`` that is not a plain lower-case identifier, or a
            parameter given twice.
    """
    parts = urlsplit(url)
    kept: list[tuple[str, str]] = []
    own: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _OWN_PARAMETERS:
            if name in own:
                raise InvalidInputError(f"{name}= is given twice in the store URL")
            own[name] = value
        else:
            kept.append((name, value))
    schema = own.get("schema", DEFAULT_SCHEMA)
    if not _SCHEMA.match(schema):
        raise InvalidInputError(
            f"schema={schema!r}: use a lower-case identifier (letters, digits, underscores)"
        )
    query = urlencode(kept, safe="/")
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
    netloc = parts.netloc
    if "@" in netloc:  # drop the password, keep the user
        credentials, host = netloc.rsplit("@", 1)
        netloc = f"{credentials.split(':', 1)[0]}@{host}"
    label = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    if schema != DEFAULT_SCHEMA:
        label += ("&" if query else "?") + f"schema={schema}"
    return PostgresLocation(
        conninfo=conninfo,
        label=label,
        schema=schema,
        project=own.get("project") or None,
        owner=own.get("owner") or None,
    )
