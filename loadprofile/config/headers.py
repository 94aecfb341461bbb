"""Extra request headers for gateways: ``--header 'Name: value'``, ``--header-env Name=VAR``
and ``headers`` / ``header_env`` tables in ``[[targets]]`` (pure).

Gateways in front of a model often want headers of their own (a team tag, a gateway key).
A value from the environment is named by its variable and read only when requests are made,
so a secret never sits in the config or the run folder; run.json records header names,
never a value (``header_record``). Names loadprofile sets itself are refused: a second
``Host`` or ``Content-Length`` would make the request ambiguous to the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from loadprofile.errors import ConfigError

#: (header name, value) for literal headers, (header name, variable) for headers from the
#: environment; tuples, so a Target stays hashable.
HeaderPairs = tuple[tuple[str, str], ...]

#: Headers the HTTP client writes on every request (compared in lower case).
RESERVED = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "user-agent",
        "accept-encoding",
        "x-request-id",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110's field-name
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"[\x20-\x7e\t]*")  # visible ASCII, spaces and tabs: no line breaks


@dataclass(frozen=True)
class ExtraHeaders:
    """The headers one level (the command line, or one target) adds to every request."""

    literal: HeaderPairs = ()
    from_env: HeaderPairs = ()

    def names(self) -> list[str]:
        return [name for name, _ in (*self.literal, *self.from_env)]

    def under(self, own: ExtraHeaders) -> ExtraHeaders:
        """These (run-wide) headers with a target's ``own`` added, its own winning by name."""
        taken = {name.lower() for name in own.names()}

        def kept(pairs: HeaderPairs) -> HeaderPairs:
            return tuple(p for p in pairs if p[0].lower() not in taken)

        return ExtraHeaders(kept(self.literal) + own.literal, kept(self.from_env) + own.from_env)


def valid_header_value(value: str) -> bool:
    """A value the client can send as it is: printable ASCII, no line breaks."""
    return _VALUE.fullmatch(value) is not None


def check_header_name(name: str, what: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ConfigError(
            f"{what}: bad header name {name!r} (letters, digits and -, no spaces or colons)"
        )
    if name.lower() in RESERVED:
        raise ConfigError(f"{what}: loadprofile sets {name} itself; it cannot be given")
    return name


def parse_header(spec: str) -> tuple[str, str]:
    """``'Name: value'`` (``--header``) -> (name, value)."""
    name, colon, value = spec.partition(":")
    what = f"--header {spec!r}"
    if not colon:
        raise ConfigError(f"{what}: use 'Name: value'")
    value = value.strip()
    if not valid_header_value(value):
        raise ConfigError(f"{what}: the value must be printable ASCII on one line")
    return check_header_name(name.strip(), what), value


def parse_header_env(spec: str) -> tuple[str, str]:
    """``Name=VAR`` (``--header-env``) -> (name, variable)."""
    name, equals, variable = spec.partition("=")
    what = f"--header-env {spec!r}"
    if not equals:
        raise ConfigError(f"{what}: use NAME=VAR (the variable holding the value)")
    variable = variable.strip()
    if not _VARIABLE.fullmatch(variable):
        raise ConfigError(f"{what}: {variable!r} is not an environment variable name")
    return check_header_name(name.strip(), what), variable


def _one_level(literal: HeaderPairs, from_env: HeaderPairs, what: str) -> ExtraHeaders:
    seen: set[str] = set()
    for name, _ in (*literal, *from_env):
        if name.lower() in seen:
            raise ConfigError(f"{what}: header {name} is given twice")
        seen.add(name.lower())
    return ExtraHeaders(literal, from_env)


def cli_headers(headers: Sequence[str] | None, header_env: Sequence[str] | None) -> ExtraHeaders:
    """The run-wide headers of ``--header`` and ``--header-env``."""
    literal = tuple(parse_header(spec) for spec in headers or ())
    from_env = tuple(parse_header_env(spec) for spec in header_env or ())
    return _one_level(literal, from_env, "--header/--header-env")


def _table(value: Any, what: str) -> Iterable[tuple[str, str]]:
    if value is None:
        return ()
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f'{what} must be a table of strings, e.g. {{ "X-Team" = "perf" }}')
    return value.items()


def toml_headers(item: dict[str, Any], what: str) -> ExtraHeaders:
    """A ``[[targets]]`` table's ``headers = { Name = "value" }`` and ``header_env = { Name =
    "VAR" }``."""
    literal = []
    for name, value in _table(item.get("headers"), f"{what}: headers"):
        check_header_name(name, f"{what}: headers")
        if not valid_header_value(value):
            raise ConfigError(f"{what}: headers: {name} must be printable ASCII on one line")
        literal.append((name, value.strip()))
    from_env = []
    for name, variable in _table(item.get("header_env"), f"{what}: header_env"):
        check_header_name(name, f"{what}: header_env")
        if not _VARIABLE.fullmatch(variable):
            raise ConfigError(
                f"{what}: header_env: {variable!r} is not an environment variable name"
            )
        from_env.append((name, variable))
    return _one_level(tuple(literal), tuple(from_env), what)


def header_record(literal: HeaderPairs, from_env: HeaderPairs) -> dict[str, Any]:
    """What run.json keeps of a target's extra headers: the names of literal ones and the
    variables of the others, never a value (a literal one may be a secret too)."""
    out: dict[str, Any] = {}
    if literal:
        out["headers"] = [name for name, _ in literal]
    if from_env:
        out["header_env"] = dict(from_env)
    return out
