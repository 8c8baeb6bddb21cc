"""PURE. A monotonic clock that tests advance by hand (no sleeps)."""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """A monotonic clock for pure policies that take ``now``.

    Call the instance (or read :attr:`now`) for the current time in seconds;
    :meth:`advance` moves it forward. It never moves by itself.

    Args:
        start: The initial reading.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0) and return the new reading.

        Raises:
            ValueError: ``seconds`` is negative (a monotonic clock never goes back).
        """
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go back")
        self.now += seconds
        return self.now
