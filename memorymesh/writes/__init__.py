"""Writes: the path a memory takes from ``remember`` to a committed row.

Validation and classification (``_classify``), the privacy guard (``_privacy``), the
injected-context guard (``_injected``), event time found in the text (``_event_time``),
duplicate and contradiction detection (``_conflicts``), the batched write of one store
(``_pipeline``) and keeping in-memory indexes in step with other processes' writes
(``_catchup``).

May import: ``search`` (the indexes it consults), ``stores`` and the shared vocabulary. Never
imports context, io, the facade or the front ends.
"""
