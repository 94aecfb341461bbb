"""Recorded conversations: loading and checking them, the prompts each turn sends, their
statistics and which of them fit a server's context (pure).

The layout and who may import whom: docs/architecture.md.
"""
