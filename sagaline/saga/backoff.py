"""The default retry backoff: exponential, capped, with deterministic jitter.

Pure: the jitter comes from a hash of the idempotency key and attempt, not
from a random generator, so a replayed run computes the same delays.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

__all__ = ["Backoff", "DEFAULT_BACKOFF"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """``base * factor**(attempt-1)``, capped at ``cap``, scaled by a jitter in
    ``[1 - jitter, 1]``.

    Attributes:
        base: seconds before the first retry.
        factor: growth per attempt.
        cap: the longest delay.
        jitter: fraction of the delay that may be shaved off, spreading
            retries of many runs that failed together.
    """

    base: float = 0.05
    factor: float = 2.0
    cap: float = 10.0
    jitter: float = 0.25

    def delay(self, attempt: int, key: str) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) of ``key``."""
        raw = min(self.cap, self.base * self.factor ** max(0, attempt - 1))
        spread = (zlib.crc32(f"{key}#{attempt}".encode()) % 1000) / 1000.0
        return raw * (1.0 - self.jitter * spread)


DEFAULT_BACKOFF = Backoff()
