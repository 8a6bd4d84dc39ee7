"""Search: finding and ranking memories for a recall.

The in-memory indexes (``_vectors``: exact cosine top-k; ``_lexical``: the token index behind
duplicate and contradiction candidates), rank fusion (``_hybrid``), the final score blend
(``_scoring``) and the dates a query names (``_querytime``).

May import: ``stores`` (filters and row types) and the shared vocabulary. Never imports writes,
context, io, the facade or the front ends.
"""
