"""The one exception that leaves the HTTP client: a failure below the API layer, classified."""

from __future__ import annotations

from loadprofile.core.results import ErrorClass


class TransportError(Exception):
    """A request failed below the API layer; ``error_class`` says how."""

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
