"""Public names that load their module on first use, for a package's ``__init__``.

Most MemoryMesh processes live for one call, so ``import memorymesh`` (or one module of a
package such as ``stores.sqlite``) must not import every dependency: a package lists where
each public name lives, imports them under ``TYPE_CHECKING`` for type checkers, and takes its
module ``__getattr__`` and ``__dir__`` from :func:`lazy_names`. Standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, where: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``, whose globals are
    ``namespace``: each name in ``where`` is imported from its module (relative to
    ``package``) when first asked for, then kept in ``namespace``, so later lookups never
    come back here. ``__dir__`` lists the globals and the package's ``__all__``."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace.get("__all__", ())})

    return __getattr__, __dir__
