"""One configuration for every entry point: ``$MEMORYMESH_HOME/config.toml`` and the environment.

The CLI and the MCP server open their meshes with :func:`configured_embedding`, so semantic
recall is switched on once for both (the Claude Code hook stays keyword-only so it never loads
a model; what it writes is embedded the next time either opens the store):

- ``MEMORYMESH_EMBEDDING`` (an environment variable, e.g. set by ``memorymesh setup``), else
- ``embedding = "..."`` in ``config.toml`` (``memorymesh config embedding local``), else
- ``"auto"``: the embedder the store recorded when it was last embedded (keyword recall for a
  store that never was).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from ._errors import InvalidInputError
from ._paths import memorymesh_home

__all__ = [
    "EMBEDDING_ENV",
    "SETTINGS",
    "config_path",
    "configured_embedding",
    "read_config",
    "write_setting",
]

EMBEDDING_ENV = "MEMORYMESH_EMBEDDING"

#: The settings ``config.toml`` may hold, with what each means.
SETTINGS: dict[str, str] = {
    "embedding": "none, auto (what the store recorded), local, ollama[:MODEL], openai[:MODEL]",
}


def config_path() -> Path:
    """``$MEMORYMESH_HOME/config.toml`` (``~/.memorymesh/config.toml`` by default)."""
    return memorymesh_home() / "config.toml"


def read_config(path: Path | None = None) -> dict[str, Any]:
    """The settings in the config file, ``{}`` when there is none.

    Raises:
        InvalidInputError: the file is not valid TOML.
    """
    path = config_path() if path is None else path
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"{path} is not valid TOML: {exc}") from None


def configured_embedding() -> tuple[str, str]:
    """The embedding every entry point opens with, and where that came from."""
    from_env = os.environ.get(EMBEDDING_ENV, "").strip()
    if from_env:
        return from_env, EMBEDDING_ENV
    path = config_path()
    value = read_config(path).get("embedding")
    if isinstance(value, str) and value.strip():
        return value.strip(), str(path)
    return "auto", "default (the embedder each store recorded)"


def write_setting(key: str, value: str) -> Path:
    """Set one setting in the config file (created owner-only), keeping the others.

    Raises:
        InvalidInputError: an unknown setting.
    """
    if key not in SETTINGS:
        raise InvalidInputError(f"unknown setting {key!r}; known: {', '.join(sorted(SETTINGS))}")
    path = config_path()
    settings = {**read_config(path), key: value}
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lines = [f"{name} = {_toml_value(v)}" for name, v in sorted(settings.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
