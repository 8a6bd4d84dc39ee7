"""Context: what MemoryMesh does around an assistant's session, built from the core operations.

Session start (``_session``), instruction-file sync (``_instructions``), compaction
(``_compact``), quality review (``_quality``), the review queue and archive (``_review``) and
the Claude Code hook's capture into the review queue (``_hooks``).

The functions here take the stores, or the mesh's services through the ``MeshServices``
protocol (``_ports``), which ``AsyncMemoryMesh`` satisfies: this layer never imports the
facade, so there is no import circle.

May import: ``writes``, ``search``, ``stores``, ``embeddings`` and the shared vocabulary.
"""
