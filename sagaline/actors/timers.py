"""Named timers over Thespian's ``wakeupAfter``, with stale wakeups ignored.

Thespian timers cannot be cancelled: every ``wakeupAfter`` fires. Each
:meth:`Timers.start` therefore puts a fresh token in the payload; a wakeup
whose token is no longer the live one for its name (cancelled, or replaced
by a later start) is dropped by :meth:`Timers.fire`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

__all__ = ["Timers", "Tick"]


@dataclass(frozen=True)
class Tick:
    """The payload of one wakeup: timer name, its token, the caller's data."""

    name: str
    token: int
    data: Any = None


class Timers:
    """The live timers of one actor.

    Args:
        wakeup_after: The actor's ``wakeupAfter`` (``(timedelta, payload) -> None``).
    """

    def __init__(self, wakeup_after: Callable[[timedelta, Any], None]) -> None:
        self._wakeup_after = wakeup_after
        self._live: dict[str, int] = {}
        self._next_token = 0

    def start(self, name: str, seconds: float, data: Any = None) -> None:
        """(Re)start timer ``name``: it fires once after ``seconds``, replacing any earlier one."""
        self._next_token += 1
        self._live[name] = self._next_token
        self._wakeup_after(timedelta(seconds=max(0.0, seconds)), Tick(name, self._next_token, data))

    def cancel(self, name: str) -> None:
        """Cancel timer ``name`` (its wakeup will be ignored); no error if absent."""
        self._live.pop(name, None)

    def active(self, name: str) -> bool:
        """True while timer ``name`` is started and has not fired."""
        return name in self._live

    def fire(self, payload: Any) -> Tick | None:
        """Return the live :class:`Tick` in a wakeup payload, or None if stale or foreign."""
        if not isinstance(payload, Tick) or self._live.get(payload.name) != payload.token:
            return None
        del self._live[payload.name]
        return payload
