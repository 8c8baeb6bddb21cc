"""W3C trace context derived from a run's correlation id (pure).

One saga run is one trace. Its trace id *is* its correlation id (a UUID v7
is 128 bits, exactly a trace id), and each invocation's span id is derived
from its idempotency key and attempt, so any process can name the span of
any step without asking anyone: the saga actor puts the ``traceparent`` of
the invocation's span into the command's headers, the domain actor parents
its own span on it, and the OpenTelemetry bridge builds spans with exactly
these ids. A replayed run (recovery) derives the same ids.
"""

from __future__ import annotations

import hashlib
import re

__all__ = ["trace_id_for", "span_id_for", "root_span_id", "traceparent", "parse_traceparent"]

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def trace_id_for(correlation_id: str) -> str:
    """The 32-hex trace id of a run: its correlation id without dashes."""
    return correlation_id.replace("-", "").lower()


def span_id_for(*parts: object) -> str:
    """A 16-hex span id derived from ``parts`` (never all zeros)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).hexdigest()
    return digest if digest != "0" * 16 else "0" * 15 + "1"


def root_span_id(correlation_id: str) -> str:
    """The span id of the run's root span."""
    return span_id_for("run", correlation_id)


def traceparent(correlation_id: str, span_id: str, sampled: bool = True) -> str:
    """The ``traceparent`` header value for ``span_id`` in the run's trace."""
    return f"00-{trace_id_for(correlation_id)}-{span_id}-{'01' if sampled else '00'}"


def parse_traceparent(value: str | None) -> tuple[str, str, bool] | None:
    """``(trace_id, span_id, sampled)`` of a ``traceparent``, or None when malformed."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == "0" * 32 or match.group(2) == "0" * 16:
        return None
    return match.group(1), match.group(2), int(match.group(3), 16) & 1 == 1
