"""Every flag of ``loadprofile run``, declared once: the run's parser, plain Locust's (through
the plugin) and the gate command's register them from here, and docs/flags.md's table is
generated from here (``make flags-doc``; a test fails when it is stale).

A flag offered to plain ``locust -f`` means the same there; where Locust has a flag of its
own with the same meaning (``--host``, ``-u``, ``-r``, ``-t``, the distributed flags), the
plugin adds nothing and the run takes Locust's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Iterable
from typing import Any

from loadprofile.config.cli_values import CliValues
from loadprofile.config.flag_spec import FLEET, RUN, Command, Flag, InLocust
from loadprofile.config.flags_load import LOAD_FLAGS
from loadprofile.config.flags_reach import REACH_FLAGS
from loadprofile.config.flags_requests import REQUEST_FLAGS
from loadprofile.config.flags_trend import TREND_FLAGS

__all__ = ["FLAGS", "FLEET", "Command", "Flag", "InLocust", "add_flags", "cli_values", "flags_for"]

#: In the order `loadprofile run --help` and docs/flags.md show them.
FLAGS: tuple[Flag, ...] = (*LOAD_FLAGS, *REQUEST_FLAGS, *REACH_FLAGS, *TREND_FLAGS)


def flags_for(command: Command) -> tuple[Flag, ...]:
    return tuple(flag for flag in FLAGS if flag.offered_to(command))


def add_flags(
    parser: argparse.ArgumentParser, command: Command, groups: Iterable[str] | None = None
) -> None:
    """Register the flags ``command`` offers (``groups``: only these) into ``parser``, in
    their groups (Locust's parser is a configargparse one, alike)."""
    wanted = set(groups) if groups is not None else None
    added: dict[str, argparse._ArgumentGroup] = {}
    for flag in flags_for(command):
        if wanted is not None and flag.group not in wanted:
            continue
        if flag.group not in added:
            title = "loadprofile" if command == "locust" and flag.group == RUN else flag.group
            added[flag.group] = parser.add_argument_group(title)
        names = flag.locust_names if command == "locust" and flag.locust_names else flag.names
        added[flag.group].add_argument(*names, **_argparse_options(flag, command))


def _argparse_options(flag: Flag, command: Command) -> dict[str, Any]:
    options: dict[str, Any] = {"help": flag.help, "dest": flag.dest_in(command)}
    if flag.action is not None:
        options["action"] = flag.action
    if flag.action == "store_true":
        options["default"] = None  # not given: the TOML file's [load] value, if any, counts
    if flag.type is not None:
        options["type"] = flag.type
    if flag.metavar is not None:
        options["metavar"] = flag.metavar
    if flag.choices is not None:
        options["choices"] = flag.choices
    if flag.env is not None:
        options["help"] += f" [env {flag.env}]"
        if os.environ.get(flag.env):
            options["default"] = os.environ[flag.env]  # argparse converts it like a value
    return options


#: CliValues fields named apart from their flag's dest.
_FIELD_OF_DEST = {"model": "models"}
_CLI_FIELDS = {field.name for field in dataclasses.fields(CliValues)}


def cli_values(args: argparse.Namespace, command: Command, **given: object) -> CliValues:
    """What the command line said, for ``config.resolve``: every flag ``command`` offers
    (None when not given); ``given`` adds or overrides fields (plain Locust: its own -u, -r,
    -t and --host)."""
    values: dict[str, Any] = {}
    for flag in flags_for(command):
        field = _FIELD_OF_DEST.get(flag.dest, flag.dest)
        if field in _CLI_FIELDS:
            values[field] = getattr(args, flag.dest_in(command), None)
    values.update(given)
    values["models"] = tuple(values.get("models") or ())
    return CliValues(**values)
