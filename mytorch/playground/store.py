"""The sessions of a playground server: one per browser tab, capped, expiring when idle."""

from __future__ import annotations

import secrets
import threading
import time

from mytorch.playground.checks import RequestError, Setup
from mytorch.playground.session import Session

__all__ = ["SessionStore"]


class SessionStore:
    """Open sessions by id.

    Parameters
    ----------
    max_sessions : int
        At most this many at once; one more is refused with a clear message.
    idle_seconds : float
        A session whose page has sent nothing for this long is closed.
    """

    def __init__(self, max_sessions: int = 8, idle_seconds: float = 900.0) -> None:
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, setup: Setup) -> Session:
        """A new session for ``setup``.

        Raises
        ------
        RequestError
            If ``max_sessions`` are open (after closing the idle ones).
        """
        self.expire()
        with self._lock:
            if len(self._sessions) >= self.max_sessions:
                raise RequestError(
                    f"the playground already has {self.max_sessions} sessions open, its "
                    "limit; close another tab or wait for an idle one to expire"
                )
            session_id = secrets.token_urlsafe(16)
            # Reserved before the (slower) build, so that two tabs cannot both pass the cap.
            self._sessions[session_id] = None
        try:
            session = Session(setup, session_id)
        except BaseException:
            self.remove(session_id)
            raise
        with self._lock:
            self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The open session of that id, or None."""
        return self._sessions.get(session_id)

    def remove(self, session_id: str) -> None:
        """Close a session (its tab closed, or it expired)."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def is_idle(self, session: Session, now: float | None = None) -> bool:
        """Whether the session's page has been silent for ``idle_seconds``."""
        now = time.monotonic() if now is None else now
        return now - session.last_seen > self.idle_seconds

    def expire(self, now: float | None = None) -> list[str]:
        """Close every idle session; return their ids."""
        with self._lock:
            idle = [
                sid for sid, s in self._sessions.items() if s is not None and self.is_idle(s, now)
            ]
            for session_id in idle:
                del self._sessions[session_id]
        return idle
