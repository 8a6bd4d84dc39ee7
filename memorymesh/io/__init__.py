"""Import and export: the versioned JSON-lines format and the MemoryMesh 4.x importer.

May import: the mesh services protocol (``context._ports``), ``writes``, ``stores`` and the
shared vocabulary. Never the facade or the front ends.
"""
