"""Liveness as in OTP: the daemon's top-level processes are watched; when one is gone, the daemon goes.

In OTP a permanent application whose top supervisor dies takes the node
down, and whatever runs the node (``heart``, systemd) starts it again. A
sagaline daemon is such a node. Its supervision tree heals what lies under
the root supervisor; what lies *above* nothing can heal from inside:

* the Thespian **admin** (every message between processes goes through
  actor addresses it hands out; without it nothing starts and the system
  cannot be stopped in order),
* Thespian's **logger** (a replacement gets a new address that running
  actors never learn: their logs would vanish),
* the **registry** (every name lookup),
* the **root supervisor** (it exits when its children restart more than
  ``supervision.root_max_restarts`` times within
  ``supervision.root_max_seconds``: OTP's restart intensity; it is then
  said to *give up*),
* the **admin door** (the one actor a client can find).

The daemon's main loop checks these processes every
:data:`WATCH_EVERY_S` (:func:`first_gone`, pure, given a liveness test) and
touches its heartbeat file; when one is gone it logs which and why, kills
what is left of the actor system and exits with
:data:`~sagaline.daemon.app.EXIT_UNHEALTHY` (or, with ``on_give_up =
"restart"``, starts itself again in place while
:func:`~sagaline.supervisors.strategy.restart_allowed` says the budget holds),
so a process manager can restart it. The durable
journal makes that safe: every acknowledged run is recovered on the next
start.

``sagaline health`` reports liveness (these processes and a fresh
heartbeat) and readiness (live, and every child of the root running)
separately.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "WATCH_EVERY_S",
    "WATCHED",
    "Gone",
    "first_gone",
    "why",
    "RESTARTS_VARIABLE",
    "parse_restarts",
    "format_restarts",
]

#: Seconds between two checks of the watched processes (and two heartbeats).
WATCH_EVERY_S = 0.25
#: What the daemon watches, in the order it reports them.
WATCHED = ("admin", "logger", "registry", "root", "door")
#: Environment variable carrying the monotonic times of earlier in-place restarts (``on_give_up = "restart"``).
RESTARTS_VARIABLE = "SAGALINE_DAEMON_RESTARTS"

_WHAT = {
    "admin": "the Thespian admin",
    "logger": "Thespian's logger",
    "registry": "the registry",
    "root": "the root supervisor",
    "door": "the admin door",
}


@dataclass(frozen=True)
class Gone:
    """A watched process that is no longer alive."""

    name: str
    pid: int


def first_gone(watch: Mapping[str, int | None], alive: Callable[[int], bool]) -> Gone | None:
    """The first watched process (in :data:`WATCHED` order) that ``alive`` says is gone."""
    for name in WATCHED:
        pid = watch.get(name)
        if pid and not alive(pid):
            return Gone(name, pid)
    return None


def why(gone: Gone, max_restarts: int, max_seconds: float) -> str:
    """One log line saying what died and what that means."""
    line = f"{_WHAT[gone.name]} (pid {gone.pid}) is gone"
    if gone.name == "root":
        line += (
            f": it gives up when its children restart more than {max_restarts} times within "
            f"{max_seconds:g} s (logs/actors.log says which), or it was killed"
        )
    return line + "; nothing inside the daemon can heal that"


def parse_restarts(text: str | None) -> tuple[float, ...]:
    """The restart times carried in :data:`RESTARTS_VARIABLE` (bad entries are ignored)."""
    stamps = []
    for part in (text or "").split(","):
        try:
            stamps.append(float(part))
        except ValueError:
            continue
    return tuple(stamps)


def format_restarts(stamps: tuple[float, ...]) -> str:
    """The value of :data:`RESTARTS_VARIABLE` for ``stamps``."""
    return ",".join(f"{stamp:.3f}" for stamp in stamps)
