"""Where the embedded mock and the load generator run: the mock on the last CPU this process
may use, the generator on the others; nothing to keep apart on one CPU."""

from __future__ import annotations

from msgspec import UNSET

from loadprofile.contract.run_meta import CpuPinning, decode_run_meta
from loadprofile.launch.processes import Pinning, plan_pinning


def test_two_cpus_or_more_are_split_the_mock_taking_the_last() -> None:
    assert plan_pinning({0, 1}) == Pinning(mock=(1,), generator=(0,))
    assert plan_pinning([3, 0, 2, 1]) == Pinning(mock=(3,), generator=(0, 1, 2))
    # a cpuset that is not 0..n-1 (a container's share of a bigger machine)
    assert plan_pinning({4, 9, 5}) == Pinning(mock=(9,), generator=(4, 5))
    assert Pinning(mock=(1,), generator=(0,)).to_json() == {"mock": [1], "generator": [0]}


def test_one_cpu_or_none_known_is_left_alone() -> None:
    assert plan_pinning({0}) is None
    assert plan_pinning({7}) is None
    assert plan_pinning(()) is None


def test_run_json_keeps_the_pinning_and_reads_without_it() -> None:
    meta = decode_run_meta(b'{"run_id": "r", "pinning": {"mock": [1], "generator": [0]}}')
    assert meta.pinning == CpuPinning(mock=[1], generator=[0])
    assert decode_run_meta(b'{"run_id": "r"}').pinning is UNSET  # an older run, or --no-pin
