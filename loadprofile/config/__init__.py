"""Configuration: flags, the TOML file, targets, prices, load and retry options, SLO
files, resolved into one frozen ``RunConfig`` (pure: no I/O but reading the files named).

The layout and who may import whom: docs/architecture.md.
"""
