"""Which ``ChildActorExited`` notices are repeats: one child exit is handled once.

Thespian may tell a parent twice that one child exited: an actor that ends
itself sends ``ChildActorExited`` to its parent and the parent's SIGCHLD
handler synthesises another; a child whose process failed to start gets one
from the pending-start path and one from SIGCHLD. The base actor must act
on the first only, or a supervisor would restart a child twice.

An address alone does not name one child, though: on multiprocTCPBase an
address is a TCP port, and a child started right after another died can
get the very port the dead one freed. Measured here: in each of 8 runs of
300-500 kill-restart rounds of one worker, a restarted worker got its
predecessor's port at least once (first reuse after 15 to 358 rounds; one
port came back 33 ms after it was freed). Had the exit of that new
incarnation been dropped as a repeat of the old one, its supervisor would
never restart it (the supervision benchmark hung on exactly that). So a
repeat is an exit of an address seen exiting within
:data:`REPEAT_WINDOW_S` **and not heard from since**: a child that speaks
from an address (its ``Started``/``InitFailed``) is a new incarnation, and
its exit is new.

Pure: the caller passes the time, so the rule is tested without actors or
a clock.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RecentExits", "REPEAT_WINDOW_S"]

#: Seconds an exit is remembered to recognise Thespian's second notice of it.
REPEAT_WINDOW_S = 2.0


class RecentExits:
    """The child exits of the last :data:`REPEAT_WINDOW_S` seconds of one actor.

    Args:
        window_s: How long an exit is remembered.
    """

    def __init__(self, window_s: float = REPEAT_WINDOW_S) -> None:
        self._window_s = window_s
        self._exits: list[tuple[Any, float]] = []

    def first_notice(self, address: Any, now: float) -> bool:
        """Record an exit notice of ``address`` at ``now``; tell whether it is new.

        Returns:
            True: the first notice of this exit (act on it); it is remembered.
            False: a repeat of an exit of the same address noticed within
            the window and not followed by :meth:`heard_from` (drop it).
        """
        self._exits = [(a, t) for a, t in self._exits if now - t < self._window_s]
        if any(a == address for a, _ in self._exits):
            return False
        self._exits.append((address, now))
        return True

    def heard_from(self, address: Any) -> None:
        """A child spoke from ``address``: it is a new incarnation, so its exit will be new."""
        self._exits = [(a, t) for a, t in self._exits if a != address]

    def __len__(self) -> int:
        return len(self._exits)
