"""Who a store on a shared server belongs to: the project key and the user.

A server engine keeps many projects and users in one database. Project memories are shared by
everyone who uses the same project key; global memories belong to one user. The defaults make
two clones of one repository share their project memories with no configuration: the key is
the ``origin`` remote (``git@github.com:acme/api.git`` and ``https://github.com/acme/api``
are both ``github.com/acme/api``), else the project folder's name; the user is the OS user.
"""

from __future__ import annotations

import configparser
import getpass
import os
import re
from pathlib import Path

from .._errors import InvalidInputError
from .._paths import find_project_root

__all__ = ["check_key", "default_project", "default_user", "project_key_from_remote"]

_MAX_KEY = 200
_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>[^/].*)$")


def check_key(value: object, what: str) -> str:
    """A project key or user name, checked: a non-empty string of printable characters.

    Raises:
        InvalidInputError: not a string, empty, too long, or with control characters.
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a string, not {type(value).__name__}")
    key = value.strip()
    if not key:
        raise InvalidInputError(f"{what} must not be empty")
    if len(key) > _MAX_KEY:
        raise InvalidInputError(f"{what} is longer than {_MAX_KEY} characters")
    if any(not ch.isprintable() for ch in key):
        raise InvalidInputError(f"{what} must not contain control characters")
    return key


def project_key_from_remote(url: str) -> str | None:
    """``host/owner/name`` of a git remote URL (scheme, credentials, ``.git`` dropped)."""
    text = url.strip()
    if not text:
        return None
    if "://" in text:
        rest = text.split("://", 1)[1]
        host, _, path = rest.partition("/")
        host = host.rsplit("@", 1)[-1].split(":", 1)[0]  # no credentials, no port
    else:
        match = _SCP_LIKE.match(text)
        if match is None:  # a local path: its folder name is the best key there is
            return Path(text.rstrip("/")).name.removesuffix(".git") or None
        host, path = match["host"], match["path"]
    path = path.strip("/").removesuffix(".git").strip("/")
    if not path:
        return None
    return f"{host.lower()}/{path}" if host else path


def _origin_url(root: Path) -> str | None:
    config_path = root / ".git" / "config"
    if not config_path.is_file():
        return None
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(config_path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    for section in ('remote "origin"', *parser.sections()):
        if section.startswith("remote ") and parser.has_option(section, "url"):
            return parser.get(section, "url")
    return None


def default_project(start: Path | None = None) -> str:
    """The project key of the working directory: its git remote, else its folder's name
    (``MEMORYMESH_PROJECT`` overrides it)."""
    configured = os.environ.get("MEMORYMESH_PROJECT")
    if configured:
        return configured
    root = find_project_root(start) or (start or Path.cwd()).resolve()
    remote = _origin_url(root)
    key = project_key_from_remote(remote) if remote else None
    return key or root.name or "default"


def default_user() -> str:
    """The OS user (``MEMORYMESH_USER`` overrides it)."""
    configured = os.environ.get("MEMORYMESH_USER")
    if configured:
        return configured
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user database entry (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "default"
