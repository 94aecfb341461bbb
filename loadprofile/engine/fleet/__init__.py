"""Distributed runs: the master, its workers, the wire between them and the exact merge
of their intervals.

The layout and who may import whom: docs/architecture.md.
"""
