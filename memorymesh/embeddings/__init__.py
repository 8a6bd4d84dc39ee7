"""Embeddings: the ``Embedder`` protocol, the registry of named providers, and the built-ins.

An embedder turns texts into unit vectors. ``resolve_embedder("local")`` and friends pick one by
name; ``register_embedder`` lets third parties add their own.

May import: the shared vocabulary (``memorymesh._errors``). Knows nothing of stores or search.
"""
