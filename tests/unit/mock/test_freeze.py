"""The freeze's bookkeeping and the validation of `POST /mock/freeze` bodies.

No event loop here (see test_mock_state.py): the timing of a real freeze, new requests
held and streams paused, is covered by the real-process tests in test_mock_server.py.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from loadprofile.mock.chat_request import RequestError
from loadprofile.mock.server import freeze_seconds
from loadprofile.mock.state import Freeze

S = 1_000_000_000  # ns in a second


def test_service_clock_stands_still_while_frozen() -> None:
    freeze = Freeze()
    assert not freeze.is_frozen(0) and freeze.service_ns(5 * S) == 5 * S
    freeze.freeze(10 * S, 2.0)
    assert (freeze.from_ns, freeze.until_ns) == (10 * S, 12 * S)
    assert freeze.is_frozen(10 * S) and freeze.is_frozen(12 * S - 1)
    assert not freeze.is_frozen(12 * S)
    clock = [freeze.service_ns(t * S) / S for t in (9, 10, 11, 12, 13)]
    assert clock == [9, 10, 10, 10, 11]
    assert freeze.stats(11 * S) == {"freezes": 1, "frozen_s": 1.0}
    assert freeze.stats(20 * S) == {"freezes": 1, "frozen_s": 2.0}


def test_freeze_while_frozen_only_extends() -> None:
    freeze = Freeze()
    freeze.freeze(10 * S, 2.0)
    freeze.freeze(11 * S, 0.5)  # would end before the current freeze: changes nothing
    assert (freeze.from_ns, freeze.until_ns) == (10 * S, 12 * S)
    freeze.freeze(11 * S, 3.0)  # one interval, from the first start to the later end
    assert (freeze.from_ns, freeze.until_ns) == (10 * S, 14 * S)
    assert freeze.service_ns(15 * S) == 11 * S
    assert freeze.stats(15 * S) == {"freezes": 3, "frozen_s": 4.0}


def test_later_freezes_add_up() -> None:
    freeze = Freeze()
    freeze.freeze(10 * S, 1.0)
    freeze.freeze(20 * S, 0.25)
    assert (freeze.from_ns, freeze.until_ns) == (20 * S, 20 * S + S // 4)
    assert freeze.frozen_ns(15 * S) == S  # the past freeze; the next has not begun
    assert freeze.service_ns(20 * S + S // 8) == 19 * S
    assert freeze.stats(30 * S) == {"freezes": 2, "frozen_s": 1.25}


@pytest.mark.parametrize("seconds", [1, 0.001, 60, 12.5])
def test_valid_freeze_bodies(seconds: float) -> None:
    assert freeze_seconds({"seconds": seconds}) == seconds


@pytest.mark.parametrize(
    "body",
    [
        {"seconds": 0},
        {"seconds": -1},
        {"seconds": 60.001},
        {"seconds": 10**400},
        {"seconds": math.nan},
        {"seconds": math.inf},
        {"seconds": "1"},
        {"seconds": True},
        {"seconds": None},
        {"seconds": [1]},
        {"seconds": 1, "model": "mock-fixed"},  # a freeze is for the whole server
        {},
        [1],
        1,
        None,
    ],
)
def test_invalid_freeze_bodies(body: Any) -> None:
    with pytest.raises(RequestError) as info:
        freeze_seconds(body)
    assert info.value.status == 400 and info.value.code == "invalid_freeze"
