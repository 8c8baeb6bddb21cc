"""SIGTERM and SIGINT as a stop request the daemon's main loop waits on.

The first signal asks for a graceful stop (the tree stops in reverse start
order, then the actor system); a second one, while stopping, asks to skip
the wait and kill what is left. Handlers only set flags: everything else
happens in the main thread.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

__all__ = ["StopRequest"]


class StopRequest:
    """Set by a signal (or by :meth:`request`); the daemon's main loop waits on it.

    Attributes:
        signal_name: The first signal received (``SIGTERM``...), or None.
        force: True once a second stop request arrived.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_name: str | None = None
        self.force = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Handle SIGTERM and SIGINT in this (main) thread until :meth:`restore`."""
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.request(signal.Signals(signum).name)

    def request(self, reason: str = "request") -> None:
        """Ask the daemon to stop (a second call asks it to hurry)."""
        if self._event.is_set():
            self.force = True
        else:
            self.signal_name = reason
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True once a stop was requested."""
        return self._event.wait(timeout)

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self._event.is_set()
