"""The storage contract: what every backend must guarantee (see README.md here).

A package so that its modules (``test_conflicts.py``, ``test_review.py``, ...) do not clash
with the same-named modules one level up under pytest's default import mode.
"""
