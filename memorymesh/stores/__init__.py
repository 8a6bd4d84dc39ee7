"""Storage: the only layer that talks to a database.

``base.py`` describes what the rest of MemoryMesh needs from storage (the :class:`Store`
protocol, its row types and the query descriptions that cross it, such as filters); each engine
lives in a sub-package of its own (``sqlite/`` today) and is picked by the location's scheme
(``_registry.py``). Only this layer writes SQL.

May import: the shared vocabulary (``memorymesh._models``, ``_errors``, ``_paths``, ``_text``).
Never imports search, writes, context, io, the facade or the front ends.
"""

from ._registry import (
    StoreFactory,
    StoreOptions,
    holds_both_scopes,
    open_store,
    register_store,
    registered_schemes,
    resolve_location,
)
from .base import Store, StoreTransaction

__all__ = [
    "Store",
    "StoreFactory",
    "StoreOptions",
    "StoreTransaction",
    "holds_both_scopes",
    "open_store",
    "register_store",
    "registered_schemes",
    "resolve_location",
]
