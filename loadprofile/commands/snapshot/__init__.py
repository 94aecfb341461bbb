"""``loadprofile snapshot``: replies at low load, and the drift report between two.

The layout and who may import whom: docs/architecture.md.
"""
