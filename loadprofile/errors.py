"""Errors that end a command, each with its exit code (2 usage, 3 unreachable: the contracts
of docs/architecture.md).

The CLI prints ``str(error)`` as one line on stderr and exits with ``exit_code``; no
traceback ever reaches the user for these.
"""

from __future__ import annotations


class LoadprofileError(Exception):
    exit_code = 2


class UsageError(LoadprofileError):
    """Bad input: flags, files, datasets, a refused API key."""

    exit_code = 2


class UnreachableError(LoadprofileError):
    """The target could not be reached at all."""

    exit_code = 3


class ConfigError(ValueError):
    """Bad configuration; the message is one line meant for the user (exit code 2)."""
