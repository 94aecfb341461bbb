"""Fixtures over the seeded synthetic recordings in core_synthetic."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from core_synthetic import Recorded, record_run


@pytest.fixture(scope="session")
def recorded() -> Recorded:
    """One shared recording (tests must not mutate it)."""
    return record_run()


@pytest.fixture
def make_recording() -> Callable[..., Recorded]:
    return record_run
