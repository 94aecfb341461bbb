"""``loadprofile compare``: two runs' figures side by side, with significance.

The layout and who may import whom: docs/architecture.md.
"""
