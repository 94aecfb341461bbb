"""What came back, not how fast: the response contract, JSON content checks, output drift
against a snapshot, grounding, sampled replies (pure).

The layout and who may import whom: docs/architecture.md.
"""
