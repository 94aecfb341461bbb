"""Child processes: the embedded mock server and local worker processes, in their own
process groups so that no stop leaves one behind.

The layout and who may import whom: docs/architecture.md.
"""
