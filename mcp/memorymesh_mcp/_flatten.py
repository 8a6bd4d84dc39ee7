"""Flat JSON schemas: ``$ref``/``$defs`` inlined.

Several MCP clients (and the models behind them) handle ``$ref`` poorly or not at all, so every
tool schema this server publishes is self-contained. Pydantic emits ``$defs`` for nested
models; the models here are not recursive, so inlining always terminates.
"""

from __future__ import annotations

from typing import Any

__all__ = ["flatten_schema", "has_refs"]


def flatten_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every local ``$ref`` replaced by its definition and ``$defs`` dropped.

    Raises:
        ValueError: a reference is not local, is unknown, or is recursive.
    """
    defs: dict[str, Any] = schema.get("$defs", {})

    def inline(node: Any, trail: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, trail) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            ref = node["$ref"]
            prefix = "#/$defs/"
            if (
                not isinstance(ref, str)
                or not ref.startswith(prefix)
                or ref[len(prefix) :] not in defs
            ):
                raise ValueError(f"cannot inline schema reference {ref!r}")
            name = ref[len(prefix) :]
            if name in trail:
                raise ValueError(f"schema reference {ref!r} is recursive")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            resolved = inline(defs[name], (*trail, name))
            return {**resolved, **inline(siblings, trail)}
        return {key: inline(value, trail) for key, value in node.items() if key != "$defs"}

    flat = inline(schema, ())
    assert isinstance(flat, dict)
    return flat


def has_refs(node: Any) -> bool:
    """True if ``$ref`` or ``$defs`` appears anywhere in ``node``."""
    if isinstance(node, dict):
        return "$ref" in node or "$defs" in node or any(has_refs(v) for v in node.values())
    if isinstance(node, list):
        return any(has_refs(v) for v in node)
    return False
