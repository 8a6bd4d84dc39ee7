"""The PostgreSQL engine: one database for a team's projects and users (``docs/teams.md``).

``_store`` (the store and its transaction, over psycopg 3 and ``psycopg_pool``; keyword and
vector search run in the database), ``_schema`` (named migrations, applied once under an
advisory lock; the per-dimension HNSW indexes), ``_sql`` (filters and keyword queries compiled
to SQL, always scoped to the tenant), ``_driver`` (error translation and pgvector adapters),
``_notify`` (the change feed's LISTEN/NOTIFY side), ``_location`` (the URL and MemoryMesh's
own parameters in it).

Registered for ``postgresql://`` and ``postgres://`` by ``stores/_registry.py``, which imports
this package only when such a location is opened: ``import memorymesh`` never needs psycopg.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._errors import StoreError
from ..._models import Scope
from ..._version import install_command
from .._tenant import check_key, default_project, default_user
from ._location import parse_location

if TYPE_CHECKING:
    from ..base import StoreOptions
    from ._store import PostgresStore

__all__ = ["open_postgres", "tenant_key"]


def tenant_key(scope: Scope, *, project: str | None, user: str | None) -> str:
    """The key a store's rows carry: ``project:<key>`` for project memories (shared by everyone
    using that key), ``user:<name>`` for one user's global memories."""
    if scope is Scope.PROJECT:
        key = project if project is not None else default_project()
        return "project:" + check_key(key, "project")
    return "user:" + check_key(user if user is not None else default_user(), "user")


def open_postgres(location: str, options: StoreOptions) -> PostgresStore:
    """An unopened :class:`PostgresStore` for a ``postgresql://`` (or ``postgres://``) URL.

    The tenant comes from ``options`` (the mesh's ``project=`` / ``user=``), else the URL's
    ``project=`` / ``owner=`` parameters, else the defaults (git remote or folder; OS user).

    Raises:
        StoreError: psycopg is not installed (the message names the install command).
        InvalidInputError: a malformed URL parameter, project key or user name.
    """
    try:
        from ._store import PostgresStore
    except ImportError as exc:
        raise StoreError(
            "PostgreSQL stores need the driver: " + install_command("postgres")
        ) from exc
    parsed = parse_location(location)
    tenant = tenant_key(
        options.scope,
        project=options.project if options.project is not None else parsed.project,
        user=options.user if options.user is not None else parsed.owner,
    )
    return PostgresStore(
        parsed,
        scope=options.scope,
        tenant=tenant,
        busy_timeout=options.busy_timeout,
        encryption_key=options.encryption_key,
    )
