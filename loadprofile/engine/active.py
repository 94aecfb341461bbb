"""The process's session: a RunSession, or the master's MasterSession (which has no users).
Locust's users and shapes find it here; ``loadprofile run``, the plugin and a worker set it."""

from __future__ import annotations

from loadprofile.engine.session import RunSession
from loadprofile.engine.session_api import Session

_ACTIVE: Session | None = None


def set_active(session: Session | None) -> None:
    global _ACTIVE
    _ACTIVE = session


def active() -> Session | None:
    return _ACTIVE


def active_run_session() -> RunSession | None:
    """The session users send through: never a master's (a master runs no users)."""
    session = _ACTIVE
    return session if isinstance(session, RunSession) else None
