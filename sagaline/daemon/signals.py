"""SIGTERM and SIGINT as a stop request the daemon's main loop waits on.

The first signal asks for a graceful stop (the tree stops in reverse start
order, then the actor system); a second one, while stopping, asks to skip
the wait and kill what is left. Handlers only set flags: everything else
happens in the main thread.

Why a self-pipe and not ``threading.Event``: a Python signal handler runs
in the main thread between two bytecodes, possibly while that same thread
is inside ``Event.wait`` holding the event's internal lock. ``Event.set``
from the handler then waits for that lock forever (measured: 3 daemons in
15 hung on SIGTERM under CPU load). Setting plain attributes and writing
one byte to a non-blocking pipe takes no lock; the waiter selects on the
pipe, and the byte wakes it even if the signal arrived just before the
select (PEP 475 would otherwise resume the select for its full timeout).
"""

from __future__ import annotations

import os
import select
import signal
from typing import Any

__all__ = ["StopRequest"]


class StopRequest:
    """Set by a signal (or by :meth:`request`); the daemon's main loop waits on it.

    Safe to request from a signal handler, from another thread, or from the
    waiting thread itself. Call :meth:`close` when done (it restores the
    signal handlers and closes the pipe).

    Attributes:
        signal_name: The first signal received (``SIGTERM``...), or None.
        force: True once a second stop request arrived.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._requested = False
        self.signal_name: str | None = None
        self.force = False
        self._previous: dict[int, Any] = {}
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)

    def install(self) -> None:
        """Handle SIGTERM and SIGINT in this (main) thread until :meth:`restore`."""
        for sig in self.SIGNALS:
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def restore(self) -> None:
        """Put the previous handlers back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def close(self) -> None:
        """Restore the handlers and release the pipe; idempotent."""
        self.restore()
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                os.close(fd)
        self._wake_read = self._wake_write = -1

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.request(signal.Signals(signum).name)

    def request(self, reason: str = "request") -> None:
        """Ask the daemon to stop (a second call asks it to hurry). Takes no lock."""
        if self._requested:
            self.force = True
        else:
            self.signal_name = reason
            self._requested = True
        try:
            os.write(self._wake_write, b"!")
        except OSError:  # pipe full (already woken) or closed: the flag is what counts
            pass

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True once a stop was requested."""
        if self._requested or self._wake_read < 0:
            return self._requested
        readable, _, _ = select.select([self._wake_read], [], [], max(0.0, timeout))
        if readable:
            try:
                os.read(self._wake_read, 4096)
            except OSError:
                pass
        return self._requested

    @property
    def requested(self) -> bool:
        """True once a stop was requested."""
        return self._requested
