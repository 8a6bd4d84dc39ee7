"""Storage: the only layer that talks to a database.

``stores/base.py`` describes what the rest of MemoryMesh needs from storage (the ``Store``
protocol, its row types and the query descriptions that cross it, such as filters); each engine
lives in a sub-package of its own (``sqlite/`` today). Only this layer writes SQL.

May import: the shared vocabulary (``memorymesh._models``, ``_errors``, ``_paths``, ``_text``).
Never imports search, writes, context, io, the facade or the front ends.
"""
