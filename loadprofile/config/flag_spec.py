"""What a flag of ``loadprofile run`` is: its names, help, group, docs default and meaning, and
how plain Locust takes it; the declarations are in flags_load.py and flags_requests.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

Command = Literal["run", "gate", "locust", "snapshot"]


class InLocust(Enum):
    """How plain ``locust -f locustfiles/chat.py`` offers a flag."""

    SAME = "same"  # registered by the plugin, under the same name
    OWN = "own"  # Locust's own flag of the same meaning
    RENAMED = "renamed"  # registered under ``locust_names`` (Locust has the name already)
    NO = "no"  # not offered


@dataclass(frozen=True)
class Flag:
    names: tuple[str, ...]
    help: str  # --help's line
    group: str
    default: str = "none"  # as the docs show it (the value itself is resolved in run_config)
    doc: str = ""  # the docs table's meaning; --help's line when empty
    type: Callable[[str], object] | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    action: Literal["append", "store_true"] | None = None
    commands: frozenset[str] = frozenset({"run"})
    locust: InLocust = InLocust.SAME
    locust_names: tuple[str, ...] = ()
    env: str | None = None  # read when the flag is not given

    @property
    def dest(self) -> str:
        return self.names[-1].lstrip("-").replace("-", "_")

    def dest_in(self, command: Command) -> str:
        """Where argparse puts the value: a renamed flag keeps clear of Locust's own."""
        if command == "locust" and self.locust_names:
            return self.locust_names[-1].lstrip("-").replace("-", "_")
        return self.dest

    def offered_to(self, command: Command) -> bool:
        if command == "locust":
            return self.locust in (InLocust.SAME, InLocust.RENAMED)
        return command in self.commands


RUN = "target, dataset and run"
SHAPE = "load shape (closed loop: users)"
OPEN = "open loop (arrivals on a schedule, whatever the server does)"
ENDPOINT = "endpoint"
SLOS = "SLOs"
RETRIES = "retries (off by default; as the OpenAI/Anthropic SDKs retry)"
CONTRACT = "response contract"
GATE = "gate (SLOs -> exit code 1 on failure)"
FLEET = "distributed (Locust's master and workers)"
RUN_AND_GATE = frozenset({"run", "gate"})


def flag(*names: str, help: str, group: str = RUN, **kw: Any) -> Flag:
    return Flag(names=names, help=help, group=group, **kw)


def gate_flag(*names: str, help: str, **kw: Any) -> Flag:
    """A gate flag: `loadprofile gate` has it too; plain Locust runs are gated afterwards."""
    kw.setdefault("commands", RUN_AND_GATE)
    return Flag(names=names, help=help, group=GATE, locust=InLocust.NO, **kw)


def fleet_flag(*names: str, help: str, **kw: Any) -> Flag:
    """A distributed-run flag: Locust's own of the same name under plain Locust."""
    return Flag(names=names, help=help, group=FLEET, locust=InLocust.OWN, **kw)
