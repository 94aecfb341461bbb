"""Work cut into slices (pure): a generator that yields between slices and returns its
result, so that whoever runs it decides what happens in between (the load generator lets
its event loop serve the streams; anyone else runs it straight through)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

#: A generator that yields between slices and returns its result.
Steps = Generator[None, None, Any]


def ready(value: Any) -> Steps:
    """Steps with nothing left to do: they return ``value`` at once."""
    return value
    yield  # a generator, not a function


def run_steps(steps: Steps, pause: Callable[[], object] | None = None) -> Any:
    """Run ``steps`` to the end, calling ``pause`` between slices; returns their result."""
    while True:
        try:
            next(steps)
        except StopIteration as stop:
            return stop.value
        if pause is not None:
            pause()
