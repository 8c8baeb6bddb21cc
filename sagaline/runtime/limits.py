"""How much the transport accepts and how often it complains: connection
limits (:class:`TransportLimits`) and rate-limited log lines (:func:`report`).
Used by :mod:`sagaline.runtime.transport`; pure but for :func:`report`'s
sinks.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["TransportLimits", "Throttle", "report", "LOG_INTERVAL_S", "DEADLINE_ENV", "CONNECTIONS_ENV"]

#: Seconds between two log lines of one kind (refused frames, shed connections...).
LOG_INTERVAL_S = 10.0
#: Environment variables that tune the limits (read by :func:`install_transport`, so by the
#: launcher too: every process of a system gets the same).
DEADLINE_ENV, CONNECTIONS_ENV = "SAGALINE_FRAME_DEADLINE_S", "SAGALINE_MAX_CONNECTIONS"


@dataclass(frozen=True)
class TransportLimits:
    """How long a connection may stay idle, and how many may be open.

    Attributes:
        frame_deadline_s: A connection gets this long to deliver a whole frame
            once it is readable (Thespian: 7 minutes; loopback needs
            milliseconds, a slow remote link seconds).
        idle_s: An authenticated connection idle this long is closed
            (Thespian: 20 minutes); the next send reconnects.
        max_connections: Most incoming connections one transport keeps
            open: by default a quarter of the descriptor limit, at most 512
            (finding 6: 1,073 idle connections under a limit of 1024 killed
            the admin).
    """

    frame_deadline_s: float = 30.0
    idle_s: float = 300.0
    max_connections: int = min(512, max(16, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 4))

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> TransportLimits:
        """Defaults, overridden by ``SAGALINE_FRAME_DEADLINE_S`` / ``SAGALINE_MAX_CONNECTIONS``.

        Raises:
            ValueError: a variable is not a positive number.
        """
        limits = cls()
        deadline = _positive(environ, DEADLINE_ENV, float, limits.frame_deadline_s)
        connections = _positive(environ, CONNECTIONS_ENV, int, limits.max_connections)
        return cls(frame_deadline_s=deadline, idle_s=limits.idle_s, max_connections=connections)


def _positive(environ: Mapping[str, str], name: str, kind: type, default: Any) -> Any:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = 0
    if not value > 0:
        raise ValueError(f"{name}={text!r} is not a positive {kind.__name__}")
    return value


class Throttle:
    """At most one log line per ``interval`` seconds; counts the ones held back.

    Args:
        interval: Seconds between two lines.
        clock: Monotonic seconds (injected by tests).
    """

    def __init__(self, interval: float = LOG_INTERVAL_S, clock: Any = time.monotonic) -> None:
        self.interval, self._clock = interval, clock
        self._last: float | None = None
        self._held = 0

    def admit(self) -> int | None:
        """None: stay quiet now; else log now, mentioning this many held back since the last line."""
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._held += 1
            return None
        self._last, held, self._held = now, self._held, 0
        return held


_throttles: dict[str, Throttle] = {}


def report(kind: str, text: str, level: int = logging.WARNING) -> None:
    """Log ``text`` unless a line of this ``kind`` was logged less than :data:`LOG_INTERVAL_S` ago.

    Where it goes: the admin and the actors (``THESPLOG_FILE`` set by the
    launcher) write to ``<log dir>/thespian.log`` through Thespian's own
    size-capped log (``logging`` in those processes goes through the very
    transport that is reporting); Thespian's logger process (which turns that
    log off) and other processes (daemon, CLI) use ``logging``
    (``sagaline.transport``): ``actors.log`` for the logger, the daemon's log,
    a CLI's stderr.
    """
    held = _throttles.setdefault(kind, Throttle()).admit()
    if held is None:
        return
    line = f"sagaline transport: {text}" + (f" ({held} more since the last such line)" if held else "")
    from thespian.system import utilis

    try:
        if os.environ.get("THESPLOG_FILE") and utilis._thesplog_control_settings[2] >= 10 * 1024:
            utilis.thesplog("%s", line, level=level)
        else:  # the daemon, a CLI, or Thespian's logger process (which turns its own thesplog off)
            # Looked up now: Thespian's logger process replaces logging's manager after the fork.
            logging.getLogger("sagaline.transport").log(level, "%s", line)
    except Exception:  # a log line must never take the transport down (e.g. out of descriptors)
        pass
