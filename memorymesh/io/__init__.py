"""Import and export: the versioned JSON-lines format and the MemoryMesh 4.x importer.

May import: ``stores`` and the shared vocabulary.
"""
