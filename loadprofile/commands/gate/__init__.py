"""``loadprofile gate`` and ``run --slo``: SLO verdicts, their output, the rollback webhook.

The layout and who may import whom: docs/architecture.md.
"""
