"""Context: what MemoryMesh does around an assistant's session, built from the core operations.

Session start (``_session``), instruction-file sync (``_instructions``), compaction
(``_compact``), quality review (``_quality``) and the Claude Code hook's capture into the review
queue (``_hooks``).

May import: ``writes``, ``search``, ``stores`` and the shared vocabulary.
"""
