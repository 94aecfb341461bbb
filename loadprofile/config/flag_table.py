"""docs/flags.md's tables, generated from the flag registry (``make flags-doc``), so the
documented flags, defaults and meanings cannot drift from the parsers (pure but for
``write``)."""

from __future__ import annotations

import sys
from pathlib import Path

from loadprofile.config.flags import FLAGS, Flag, InLocust

BEGIN = "<!-- flags:begin (generated from loadprofile/config/flags.py: do not edit by hand) -->"
END = "<!-- flags:end -->"

_IN_LOCUST = {
    InLocust.SAME: "same",
    InLocust.OWN: "Locust's own",
    InLocust.NO: "—",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _usage(flag: Flag) -> str:
    names = "/".join(flag.names)
    if flag.action == "store_true":
        return f"`{names}`"
    if flag.choices is not None:
        return f"`{names} {'|'.join(flag.choices)}`"
    return f"`{names} {flag.metavar or flag.dest.upper()}`"


def _in_locust(flag: Flag) -> str:
    if flag.locust is InLocust.RENAMED:
        return " ".join(f"`{name}`" for name in flag.locust_names)
    return _IN_LOCUST[flag.locust]


def _row(flag: Flag) -> str:
    meaning = flag.doc or flag.help
    if flag.env is not None:
        meaning += f" (env `{flag.env}`)"
    if flag.commands != frozenset({"run"}):
        meaning += "; also `loadprofile " + " ".join(sorted(flag.commands - {"run"})) + "`"
    cells = (_usage(flag), flag.default, _in_locust(flag), meaning)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def render() -> str:
    """The tables, one per group of flags, in the order ``loadprofile run --help`` shows."""
    lines: list[str] = []
    group = None
    for flag in FLAGS:
        if not flag.offered_to("run"):
            continue
        if flag.group != group:
            group = flag.group
            lines += ["", f"### {group[0].upper()}{group[1:]}", ""]
            lines += ["| flag | default | plain Locust | meaning |", "| --- | --- | --- | --- |"]
        lines.append(_row(flag))
    return "\n".join(lines[1:])


def spliced(document: str) -> str:
    """``document`` with the text between the markers replaced by ``render()``."""
    head, found, rest = document.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not found or not found_end:
        raise ValueError(f"no {BEGIN!r} ... {END!r} markers")
    return f"{head}{BEGIN}\n{render()}\n{END}{tail}"


def write(path: Path) -> bool:
    """Regenerate the tables in ``path``; whether anything changed."""
    old = path.read_text(encoding="utf-8")
    new = spliced(old)
    if new != old:
        path.write_text(new, encoding="utf-8")
    return new != old


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(f"{name}: {'rewritten' if write(Path(name)) else 'up to date'}")
